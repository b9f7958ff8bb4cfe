"""Series import: detection of dates, frequency and value column, and every bad input of issue 7."""

import time

import numpy as np
import pytest

from engine.forecast.io import read_series
from engine.forecast.series import as_series, detect_season, infer_freq


def write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_dated_monthly_csv(tmp_path):
    rows = "\n".join(f"2020-{m:02d}-01,{m * 1.5}" for m in range(1, 13))
    s = read_series(write(tmp_path, "date,sales\n" + rows))
    assert s.name == "sales" and len(s) == 12 and s.freq == "MS"
    assert s.values[-1] == pytest.approx(18.0) and s.warnings == []
    assert s.future_index(2) == ["2021-01-01T00:00:00", "2021-02-01T00:00:00"]


def test_tsv_plain_numbers_and_semicolon_decimal_comma(tmp_path):
    s = read_series(write(tmp_path, "1\n2\n3.5\n4\n", "a.txt"))
    assert s.dates is None and list(s.values) == [1, 2, 3.5, 4]
    s = read_series(write(tmp_path, "t\tv\n2021-01-01\t1\n2021-01-02\t2\n2021-01-03\t4\n", "b.tsv"))
    assert s.freq == "D" and list(s.values) == [1, 2, 4]
    s = read_series(write(tmp_path, "day;v\n2021-01-01;1,5\n2021-01-02;2,5\n2021-01-03;3\n", "c.csv"))
    assert list(s.values) == [1.5, 2.5, 3.0]


def test_year_column_and_column_choice(tmp_path):
    text = "YEAR,a,b\n1700,5,10\n1701,6,11\n1702,7,12\n1703,8,13\n"
    s = read_series(write(tmp_path, text))
    assert s.freq.startswith("YS") and s.name == "a"
    assert any("other numeric columns: b" in w for w in s.warnings)
    assert read_series(write(tmp_path, text), column="b").values[0] == 10
    assert read_series(write(tmp_path, text), column="2").name == "b"
    with pytest.raises(ValueError, match="no column 'c'; columns are: YEAR, a, b"):
        read_series(write(tmp_path, text), column="c")


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_series(write(tmp_path, ""))
    with pytest.raises(ValueError, match="empty"):
        read_series(write(tmp_path, "\n\n  \n"))
    with pytest.raises(ValueError, match="header but no data rows"):
        read_series(write(tmp_path, "date,value\n"))
    with pytest.raises(FileNotFoundError):
        read_series(tmp_path / "missing.csv")


def test_text_in_value_column(tmp_path):
    text = "date,weather\n2020-01-01,sun\n2020-01-02,rain\n2020-01-03,fog\n"
    with pytest.raises(ValueError, match="no numeric column"):
        read_series(write(tmp_path, text))
    with pytest.raises(ValueError, match=r"column 'weather' is not numeric \(e.g. 'sun' on data row 1\)"):
        read_series(write(tmp_path, text), column="weather")
    # a stray entry among numbers becomes a gap, said so
    rows = [f"2020-01-{d:02d},{d}" for d in range(1, 21)]
    rows[9] = "2020-01-10,oops"
    s = read_series(write(tmp_path, "date,v\n" + "\n".join(rows)))
    assert s.values[9] == pytest.approx(10.0)
    assert any("'oops'" in w and "missing" in w for w in s.warnings)
    assert any("interpolation" in w for w in s.warnings)


def test_nans_and_gaps_are_interpolated_and_reported(tmp_path):
    # Saturday 4 Jan .. Friday 10 Jan 2020; the 5th is blank, the 7th and 8th are missing rows
    text = "date,v\n2020-01-04,4\n2020-01-05,\n2020-01-06,6\n2020-01-09,9\n2020-01-10,10\n"
    s = read_series(write(tmp_path, text))
    assert s.freq == "D" and len(s) == 7
    np.testing.assert_allclose(s.values, [4, 5, 6, 7, 8, 9, 10])
    assert any("2 missing date(s)" in w for w in s.warnings)
    assert any("3 missing value(s) filled by linear interpolation" in w for w in s.warnings)


def test_unsorted_and_duplicated_dates(tmp_path):
    text = "date,v\n2020-03-01,3\n2020-01-01,1\n2020-02-01,2\n2020-02-01,4\n2020-04-01,5\n"
    s = read_series(write(tmp_path, text))
    np.testing.assert_allclose(s.values, [1, 3, 3, 5])
    assert any("sorted" in w for w in s.warnings) and any(
        "1 duplicated date(s) merged" in w for w in s.warnings
    )


def test_business_days_and_weekly_frequencies():
    import pandas as pd

    b = pd.bdate_range("2021-01-04", periods=30).delete([5, 17])  # two holidays
    assert infer_freq(b) == "B"
    assert infer_freq(pd.date_range("2021-01-03", periods=10, freq="W-SUN")) == "W-SUN"


def test_short_and_all_nan_inputs(tmp_path):
    with pytest.raises(ValueError, match="at least 3"):
        read_series(write(tmp_path, "v\n1\n2\n"))
    with pytest.raises(ValueError, match="no numeric"):
        as_series([np.nan, np.nan])


def test_million_rows_is_capped_quickly(tmp_path):
    block = "\n".join(f"{np.sin(i / 50.0):.3f}" for i in range(1000)) + "\n"
    p = tmp_path / "big.csv"
    p.write_text("value\n" + block * 1000)  # 1,000,000 data rows
    t0 = time.perf_counter()
    s = read_series(p)
    assert time.perf_counter() - t0 < 20
    assert len(s) == 20_000 and s.dates is None
    assert any("1,000,000 rows" in w and "20,000" in w for w in s.warnings)


def test_many_dated_rows_are_capped_to_the_most_recent(tmp_path):
    import pandas as pd

    n = 100_000
    dates = pd.date_range("2000-01-01", periods=n, freq="min").strftime("%Y-%m-%d %H:%M")
    p = tmp_path / "dated.csv"
    p.write_text("time,value\n" + "\n".join(f"{d},{i % 97}" for i, d in enumerate(dates)))
    s = read_series(p, max_points=5000)
    assert len(s) == 5000 and s.freq == "min" and s.values[-1] == (n - 1) % 97
    assert any("100,000" in w and "5,000" in w for w in s.warnings)


def test_detect_season_undated():
    t = np.arange(240)
    y = np.sin(2 * np.pi * t / 12) + 0.01 * t
    assert detect_season(y) == 12
    assert detect_season(np.random.default_rng(0).normal(size=200)) == 1
    assert detect_season(np.arange(20.0)) == 1  # equal steps: 0/0 printed a RuntimeWarning


def test_day_first_dates_are_read_day_first_and_said(tmp_path):
    # monthly, day first: every entry also parses month first (as 1-12 January), unevenly spaced
    months = [(y, m) for y in (2020, 2021) for m in range(1, 13)]
    rows = "\n".join(f"01/{m:02d}/{y},{i}" for i, (y, m) in enumerate(months))
    s = read_series(write(tmp_path, "date,v\n" + rows))
    assert len(s) == 24 and s.freq == "MS" and str(s.dates[1].date()) == "2020-02-01"
    assert any("read day first" in w for w in s.warnings)
    # daily, day first: days over 12 only parse day first
    rows = "\n".join(f"{d:02d}/01/2020,{d}" for d in range(1, 32))
    s = read_series(write(tmp_path, "date,v\n" + rows, "d.csv"))
    assert len(s) == 31 and s.freq == "D" and str(s.dates[-1].date()) == "2020-01-31"
    # month first and ISO dates are untouched, with no note
    rows = "\n".join(f"{m:02d}/15/2020,{m}" for m in range(1, 13))
    s = read_series(write(tmp_path, "date,v\n" + rows, "m.csv"))
    assert len(s) == 12 and s.dates[0].month == 1 and s.dates[-1].month == 12  # (snapped to month ends)
    assert not any("day first" in w for w in s.warnings)
    rows = "\n".join(f"2020-01-{d:02d},{d}" for d in range(1, 13))
    s = read_series(write(tmp_path, "date,v\n" + rows, "iso.csv"))
    assert s.freq == "D" and str(s.dates[1].date()) == "2020-01-02" and s.warnings == []


def test_dates_with_changing_utc_offsets_are_read_in_utc(tmp_path):
    # local times across the spring daylight-saving change: +01:00, then +02:00
    rows = [f"2021-03-27T{h:02d}:00:00+01:00,{h}" for h in range(24)]
    rows += [f"2021-03-28T{h:02d}:00:00+02:00,{h}" for h in range(3, 24)]
    rows.insert(24, "2021-03-28T00:00:00+01:00,24")
    rows.insert(25, "2021-03-28T01:00:00+01:00,25")
    s = read_series(write(tmp_path, "time,v\n" + "\n".join(rows)))
    assert s.freq == "h" and len(s) == 47 and str(s.dates[-1]) == "2021-03-28 21:00:00"
    assert any("more than one UTC offset" in w for w in s.warnings)
    assert not any("missing" in w for w in s.warnings)  # in UTC the hours are regular


def test_percent_currency_and_thousands_separators_are_read_as_numbers(tmp_path):
    rows = "\n".join(f"2020-{m:02d}-01,{10 + m / 2}%" for m in range(1, 13))
    s = read_series(write(tmp_path, "date,rate\n" + rows))
    assert s.values[0] == 10.5 and s.values[-1] == 16.0
    assert any("percent or currency sign" in w and "'10.5%' as 10.5" in w for w in s.warnings)
    rows = "\n".join(f'2020-{m:02d}-01,"${m},{m:03d}.5"' for m in range(1, 13))
    s = read_series(write(tmp_path, "date,sales\n" + rows, "t.csv"))
    assert s.values[0] == 1001.5 and s.values[-1] == 12012.5
    # semicolon files: a dot groups thousands, a comma is the decimal point (no note for plain ones)
    s = read_series(write(tmp_path, "d;v\n2020-01-01;1.234,5\n2020-01-02;2,25\n2020-01-03;3\n", "s.csv"))
    assert list(s.values) == [1234.5, 2.25, 3.0] and len(s.warnings) == 1
    s = read_series(write(tmp_path, "d;v\n2020-01-01;1,5\n2020-01-02;2,25\n2020-01-03;3\n", "p.csv"))
    assert s.warnings == []


def test_dates_with_one_utc_offset_keep_the_times_as_written(tmp_path):
    rows = "\n".join(f"2021-03-01T{h:02d}:00:00+01:00,{h}" for h in range(24))
    s = read_series(write(tmp_path, "time,v\n" + rows))
    assert s.freq == "h" and str(s.dates[0]) == "2021-03-01 00:00:00" and s.warnings == []


def test_an_isolated_spike_is_named_and_level_shifts_or_rain_are_not(tmp_path):
    from engine.forecast.series import spikes

    rng = np.random.default_rng(0)
    y = 100 + np.cumsum(rng.normal(0, 1, 36))
    typo = y.copy()
    typo[20] *= 1000  # three extra zeros
    rows = "\n".join(f"{2020 + m // 12}-{m % 12 + 1:02d}-01,{v:.2f}" for m, v in enumerate(typo))
    s = read_series(write(tmp_path, "date,v\n" + rows))
    notes = [w for w in s.warnings if "far outside the rest" in w]
    assert len(notes) == 1 and "at 2021-09-01" in notes[0]
    assert s.values[20] == pytest.approx(typo[20])  # said, not changed
    shifted = np.concatenate([y[:18], y[18:] + 5000])  # a level shift moves away from one side only
    assert spikes(shifted).size == 0
    rain = np.where(rng.random(400) < 0.8, 0.0, rng.gamma(0.5, 20, 400))  # mostly dry days
    rain[100] = 300.0
    assert spikes(rain).size == 0
    assert spikes(y).size == 0 and spikes(y[:4]).size == 0


def _days(n):
    import pandas as pd

    return [f"{d:%Y-%m-%d}" for d in pd.date_range("2021-01-01", periods=n)]


def test_decimal_commas_and_thousands_dots_are_read_per_column(tmp_path):
    """Bug hunt: '1.003' beside '950' in a semicolon file was 1.003 (a ×1000 error); '0,992' in a
    TSV or a quoted CSV was 992 (read as a thousands group)."""
    vals = ["950", "980", "1.003", "1.011", "990", "1.020"] * 3
    s = read_series(
        write(tmp_path, "datum;stueck\n" + "\n".join(f"{d};{v}" for d, v in zip(_days(18), vals)))
    )
    assert s.values[2] == 1003 and s.values.max() == 1020
    dots = ["1.003", "1.250", "0.998", "1.5"] * 4  # a semicolon file with decimal points stays as it is
    s = read_series(
        write(tmp_path, "d;v\n" + "\n".join(f"{d};{v}" for d, v in zip(_days(16), dots)), "p.csv")
    )
    assert s.values[0] == pytest.approx(1.003)
    de = ["0,992", "0,994", "1,001", "1,015"] * 4
    for sep, name, quote in (("\t", "de.tsv", ""), (",", "de.csv", '"')):
        rows = "\n".join(f"{d}{sep}{quote}{v}{quote}" for d, v in zip(_days(16), de))
        s = read_series(write(tmp_path, f"Datum{sep}Wert\n" + rows, name))
        assert s.values[0] == pytest.approx(0.992) and s.values[2] == pytest.approx(1.001)
        assert any("decimal commas" in w for w in s.warnings)
    us = ['"1,200"', '"1,350"', '"1,410"', '"980"'] * 4  # thousands commas stay thousands
    s = read_series(write(tmp_path, "d,v\n" + "\n".join(f"{d},{v}" for d, v in zip(_days(16), us)), "us.csv"))
    assert s.values[0] == 1200


def test_accounting_currency_codes_and_spaced_thousands(tmp_path):
    cases = {
        "-$100.35": -100.35,
        "(1,200.50)": -1200.5,
        "USD 10": 10.0,
        "€ 12,50": 12.5,
        "1 000 100,5": 1000100.5,
    }
    for raw, want in cases.items():
        sep = ";" if "," in raw and "(" not in raw else ","
        cell = f'"{raw}"' if sep == "," else raw
        rows = "\n".join(f"{d}{sep}{cell}" for d in _days(12))
        s = read_series(write(tmp_path, f"d{sep}price\n" + rows, "money.csv"))
        assert s.values[0] == pytest.approx(want), raw


def test_year_and_month_columns_make_the_dates_and_date_parts_are_not_values(tmp_path):
    """Bug hunt: a year, month, sales table forecast the month column as 5 yearly averages."""
    rows = "\n".join(f"{2015 + i // 12},{i % 12 + 1},{100 + i}" for i in range(60))
    s = read_series(write(tmp_path, "year,month,sales\n" + rows))
    assert s.name == "sales" and len(s) == 60 and s.freq == "MS" and s.values[-1] == 159
    rows = "\n".join(f"{2010 + i // 4},{i % 4 + 1},{i}" for i in range(20))
    s = read_series(write(tmp_path, "year,quarter,gdp\n" + rows))
    assert s.name == "gdp" and len(s) == 20 and s.freq.startswith("QS")


def test_unix_time_and_other_languages_year_columns(tmp_path):
    rows = "\n".join(f"{1609459200 + 3600 * i},{i % 24}" for i in range(48))
    s = read_series(write(tmp_path, "timestamp,y\n" + rows))
    assert s.name == "y" and s.freq == "h" and str(s.dates[0]) == "2021-01-01 00:00:00"
    assert any("Unix time" in w for w in s.warnings)
    rows = "\n".join(f"{1609459200000 + 86400000 * i},{i}" for i in range(20))
    assert read_series(write(tmp_path, "time,y\n" + rows)).freq == "D"
    for name in ("Jahr", "yr", "año"):
        rows = "\n".join(f"{1950 + i},{i * 2.5}" for i in range(12))
        s = read_series(write(tmp_path, f"{name},y\n" + rows))
        assert s.name == "y" and s.dates is not None, name


def test_infinite_entries_are_named_and_moved_dates_are_said(tmp_path):
    rows = [f"{d},{v}" for d, v in zip(_days(12), [1, 2, 3, "inf", 5, 6, 7, "1e999", 9, 10, 11, 12])]
    s = read_series(write(tmp_path, "d,v\n" + "\n".join(rows)))
    assert any("2 infinite or overflowing value(s)" in w for w in s.warnings)
    assert np.isfinite(s.values).all()
    rows = "\n".join(f"20{18 + i // 12}-{i % 12 + 1:02d}-15,{i}" for i in range(24))
    s = read_series(write(tmp_path, "d,v\n" + rows))
    assert any("2018-01-15 is shown as 2018-01-31" in w for w in s.warnings)


def test_names_that_only_contain_a_date_word_are_values(tmp_path):
    """Review: "revenue_per_day" (values near 1.5e8) was read as Unix time, and "update_count"
    was passed over as a date part."""
    rows = "\n".join(f"{150_000_000 + i * 1000},{i % 5}" for i in range(30))
    assert read_series(write(tmp_path, "revenue_per_day,region_code\n" + rows)).name == "revenue_per_day"
    rows = "\n".join(f"{i * 3},{20 + i % 7}" for i in range(30))
    assert read_series(write(tmp_path, "update_count,temp\n" + rows, "u.csv")).name == "update_count"


def test_one_odd_entry_does_not_turn_thousands_into_decimals(tmp_path):
    values = ['"1,234,567"', '"1,100,250"', '"1,250,000"', '"1,300.5"', '"1,320,000"', '"1,200,000"'] * 4
    values[2] = '"0,5"'  # one entry that reads only as a decimal comma
    rows = "\n".join(f"{d},{v}" for d, v in zip(_days(24), values))
    s = read_series(write(tmp_path, "d,v\n" + rows))
    assert s.values[0] == 1234567 and s.values[3] == 1300.5  # "0,5" is the odd one, not the rest


def test_nine_numbers_in_ten_entries_are_a_numeric_column_and_fewer_are_named(tmp_path):
    """1 - 0.9 is 0.0999…: a column with exactly 90 % numbers was refused, and the refusal did not
    say which entry stopped it."""
    values = ["1", "2", "abc", "4", "5", "6", "7", "8", "9", "10"]
    s = read_series(write(tmp_path, "value\n" + "\n".join(values) + "\n"))
    assert s.values[2] == pytest.approx(3.0) and any("'abc'" in w for w in s.warnings)
    values[3] = "x"
    with pytest.raises(ValueError, match=r"'value' has 2 of 10 entries that are not numbers \(e.g. 'abc'"):
        read_series(write(tmp_path, "value\n" + "\n".join(values) + "\n"))
