"""`python -m engine forecast` and `python -m engine eval forecast` through engine.cli.main."""

import json

import numpy as np
import pandas as pd
import pytest

from engine.cli import main


@pytest.fixture
def monthly_csv(tmp_path):
    idx = pd.date_range("2012-01-01", periods=96, freq="MS")
    t = np.arange(96)
    vals = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, 96)
    p = tmp_path / "sales.csv"
    pd.DataFrame({"month": idx.strftime("%Y-%m-%d"), "sales": vals.round(2), "region": "north"}).to_csv(
        p, index=False
    )
    return p


def test_forecast_json(monthly_csv, capsys):
    assert main(["forecast", "--csv", str(monthly_csv), "--horizon", "6", "--method", "theta", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "theta" and out["season"] == 12 and out["name"] == "sales"
    for key in ("mean", "lo80", "hi80", "lo95", "hi95", "index"):
        assert len(out[key]) == 6
    assert out["index"][0].startswith("2020-01-01")
    assert all(lo <= m <= hi for lo, m, hi in zip(out["lo80"], out["mean"], out["hi80"]))
    assert isinstance(out["warnings"], list)


def test_forecast_text_table(monthly_csv, capsys):
    assert main(["forecast", "--csv", str(monthly_csv), "--horizon", "3", "--method", "snaive"]) == 0
    out = capsys.readouterr().out
    assert "season 12" in out and "lo95" in out and "2020-03-01" in out


def test_forecast_bad_inputs_exit_2_with_message(tmp_path, monthly_csv, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["forecast", "--csv", str(empty), "--horizon", "3"]) == 2
    assert "error: empty.csv is empty" in capsys.readouterr().err
    assert main(["forecast", "--csv", str(monthly_csv), "--column", "region", "--horizon", "3"]) == 2
    assert "column 'region' is not numeric" in capsys.readouterr().err
    assert main(["forecast", "--csv", str(monthly_csv), "--horizon", "500", "--method", "naive"]) == 2
    assert "fewer than the horizon 500" in capsys.readouterr().err
    assert main(["forecast", "--csv", str(tmp_path / "nope.csv"), "--horizon", "3"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_eval_forecast_json(monthly_csv, capsys):
    args = [
        "eval",
        "forecast",
        "--csv",
        str(monthly_csv),
        "--horizon",
        "6",
        "--folds",
        "2",
        "--methods",
        "naive,snaive,theta",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["origins"] == [84, 90]
    assert set(out["summary"]) == {"naive", "snaive", "theta"}
    for row in out["summary"].values():
        assert {"mae", "rmse", "smape", "mase", "cov80", "cov95"} <= set(row) and row["folds"] == 2
    assert out["best"] in out["summary"]


def test_eval_forecast_text(monthly_csv, capsys):
    args = [
        "eval",
        "forecast",
        "--csv",
        str(monthly_csv),
        "--horizon",
        "6",
        "--folds",
        "2",
        "--methods",
        "naive,drift",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "mase" in out and "naive" in out and "*" in out


def test_cli_method_choices_match_the_registry():
    from engine.forecast.cli import METHOD_NAMES
    from engine.forecast.methods import ALL_METHODS

    assert set(METHOD_NAMES) == set(ALL_METHODS)


def test_eval_cli_default_methods_match_the_backtest_default():
    from engine.forecast.backtest import DEFAULT_METHODS
    from engine.forecast.eval_cli import DEFAULT

    assert DEFAULT.split(",") == list(DEFAULT_METHODS)


def test_bad_max_points_and_empty_methods_are_refused(tmp_path, capsys):
    from engine.cli import main

    path = tmp_path / "s.csv"
    path.write_text("v\n" + "\n".join(str(10 + (i % 7)) for i in range(40)) + "\n")
    for bad in ("-5", "0"):
        args = ["forecast", "--csv", str(path), "--horizon", "3", "--method", "naive", "--max-points", bad]
        assert main(args) != 0
        assert "positive integer" in capsys.readouterr().err
    assert main(["eval", "forecast", "--csv", str(path), "--horizon", "3", "--methods", ","]) != 0
    assert "names no method" in capsys.readouterr().err
