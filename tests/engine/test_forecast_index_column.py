"""Files written by pandas' ``to_csv()`` with its default ``index=True``: the unnamed first column is
the row index (0 … n-1) or the dates / years, never the series; and a row counter or id column is
not chosen as the values while another numeric column exists."""

import json

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.forecast.io import read_series

VALUES = np.array([269, 321, 585, 871, 1475, 2821, 3928, 5943, 4950, 2577, 523, 98, 184, 279], float)


def test_row_index_is_dropped_and_the_values_are_forecast(tmp_path):
    p = tmp_path / "s.csv"
    pd.Series(VALUES).to_csv(p)  # header ",0", first column 0 … 13
    s = read_series(p)
    assert s.name == "0" and s.dates is None
    assert list(s.values) == list(VALUES)
    assert any("unnamed first column" in w and "left out" in w and "file order" in w for w in s.warnings)


def test_a_counter_that_does_not_start_at_zero_is_still_a_row_index(tmp_path):
    p = tmp_path / "s.csv"
    pd.Series(VALUES, index=range(1000, 1000 + VALUES.size), name="value").to_csv(p)  # a slice's index
    s = read_series(p)
    assert s.name == "value" and s.dates is None and list(s.values) == list(VALUES)


def test_year_index_is_the_time_axis(tmp_path):
    p = tmp_path / "lynx.csv"
    pd.Series(VALUES, index=range(1821, 1821 + VALUES.size)).to_csv(p)
    s = read_series(p)
    assert s.name == "0" and s.freq.startswith("YS")
    assert s.dates[0] == pd.Timestamp("1821-01-01") and s.dates[-1] == pd.Timestamp("1834-01-01")
    assert list(s.values) == list(VALUES)
    assert any("read as years (1821 … 1834)" in w for w in s.warnings)


def test_date_index_is_the_time_axis(tmp_path):
    p = tmp_path / "m.csv"
    idx = pd.date_range("1980-01-01", periods=VALUES.size, freq="MS")
    pd.Series(VALUES, index=idx, name="sales").to_csv(p)
    s = read_series(p)
    assert s.name == "sales" and s.freq == "MS" and list(s.values) == list(VALUES)


def test_dataframe_with_row_index_and_a_date_column(tmp_path):
    p = tmp_path / "prices.csv"
    days = pd.bdate_range("2020-01-01", periods=VALUES.size).strftime("%Y-%m-%d")
    pd.DataFrame({"Date": days, "Close": VALUES, "Volume": VALUES * 1000}).to_csv(p)
    s = read_series(p)
    assert s.name == "Close" and s.freq == "B" and list(s.values) == list(VALUES)
    assert any("left out; the dates are from 'Date'" in w for w in s.warnings)


def test_the_index_column_can_still_be_chosen(tmp_path):
    p = tmp_path / "s.csv"
    pd.Series(VALUES, index=range(1821, 1821 + VALUES.size)).to_csv(p)
    s = read_series(p, column="Unnamed: 0")
    assert s.name == "Unnamed: 0" and s.values[0] == 1821
    s = read_series(p, date_column="Unnamed: 0")
    assert s.name == "0" and s.freq.startswith("YS")


def test_a_counter_or_id_column_is_passed_over(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text("id,value\n" + "\n".join(f"{101 + i},{v:g}" for i, v in enumerate(VALUES)))
    s = read_series(p)
    assert s.name == "value" and list(s.values) == list(VALUES)
    assert any("'id' rises by the same step" in w for w in s.warnings)
    assert read_series(p, column="id").values[0] == 101  # chosen by name, it is the series


def test_a_steady_trend_is_not_mistaken_for_a_counter(tmp_path):
    p = tmp_path / "trend.csv"
    p.write_text("sales,returns\n" + "\n".join(f"{200 + i},{i % 7}" for i in range(20)))
    s = read_series(p)  # 200, 201, 202 … is a trend named as values, not a row number
    assert s.name == "sales" and not any("rises by the same step" in w for w in s.warnings)
    p.write_text("a,b\n5,10\n6,11\n7,12\n8,13\n")
    assert read_series(p).name == "a"  # every column a progression: the first, as before


def test_a_row_count_without_a_name_like_id_is_passed_over(tmp_path):
    p = tmp_path / "rows.csv"
    p.write_text("t1,temp\n" + "\n".join(f"{i + 1},{20 + i % 5}" for i in range(20)))
    s = read_series(p)
    assert s.name == "temp" and any("'t1' rises by the same step" in w for w in s.warnings)


def test_cli_forecasts_the_series_not_the_years(tmp_path, capsys):
    p = tmp_path / "lynx.csv"
    pd.Series(VALUES, index=range(1821, 1821 + VALUES.size)).to_csv(p)
    assert main(["forecast", "--csv", str(p), "--horizon", "2", "--method", "naive", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "0"
    assert out["index"][0].startswith("1835-01-01")
    assert out["mean"][0] == pytest.approx(VALUES[-1])
