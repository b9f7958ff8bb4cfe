"""Rolling-origin backtest: origins, no peeking, and auto scored exactly as auto_forecast runs."""

import numpy as np
import pytest

from engine.forecast.backtest import backtest
from engine.forecast.methods import fit_forecast

CANDS = {"auto": {"candidates": ("naive", "snaive", "drift", "theta"), "folds": 2}}


def series(n=100, seed=0):
    t = np.arange(n)
    return 10 + 0.05 * t + 3 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(seed).normal(0, 0.3, n)


def test_origins_tile_the_end_and_scores_are_per_fold():
    bt = backtest(series(), 6, methods=["naive", "snaive"], folds=3, season=12)
    assert bt.origins == [82, 88, 94]
    assert all(len(v) == 3 for v in bt.folds.values())
    s = bt.summary()
    assert s["snaive"]["mase"] < s["naive"]["mase"] and bt.best() == "snaive"
    # a naive fold is exactly the last value before the origin
    r = bt.folds["naive"][1]
    np.testing.assert_allclose(r.prediction.mean, series()[87])


def test_backtest_auto_equals_auto_forecast_at_that_origin():
    y = series(110)
    bt = backtest(y, 6, methods=["auto", "theta"], folds=2, season=12, options=CANDS)
    for r, reason in zip(bt.folds["auto"], bt.auto_reasons):
        fc = fit_forecast(y[: r.origin], 6, "auto", season=12, options=CANDS)
        np.testing.assert_allclose(r.prediction.mean, fc.mean, rtol=1e-9)
        assert reason.endswith(fc.info["reason"])


def test_future_values_do_not_change_a_fold():
    y = series()
    spiked = y.copy()
    spiked[95:] += 1000.0  # after the first origin's test window (82..87) ends
    a = backtest(y, 6, methods=["theta", "drift"], folds=3, season=12)
    b = backtest(spiked, 6, methods=["theta", "drift"], folds=3, season=12)
    for m in ("theta", "drift"):
        np.testing.assert_allclose(a.folds[m][0].prediction.mean, b.folds[m][0].prediction.mean)


def test_too_short_and_bad_arguments():
    with pytest.raises(ValueError, match="too short to backtest"):
        backtest(series(20), 8, methods=["naive"], folds=2)
    with pytest.raises(ValueError, match="unknown method 'x'"):
        backtest(series(), 6, methods=["x"])
    bt = backtest(series(36), 8, methods=["naive"], folds=5)
    assert len(bt.origins) == 2 and any("only 2 fold(s)" in w for w in bt.warnings)


def test_a_method_that_failed_some_folds_cannot_be_best():
    """linear needs more points than the earliest origin has: it forecasts at the last fold only,
    where a trend is easy, and its mean over that one fold must not beat methods scored on all."""
    t = np.arange(36)
    y = -10 + 0.9 * t + np.random.default_rng(3).normal(0, 0.3, 36)
    bt = backtest(y, 3, methods=["naive", "drift", "linear"], folds=3, season=1)
    s = bt.summary()
    assert s["linear"]["failed"] >= 1 and s["linear"]["folds"] >= 1
    assert s["linear"]["mase"] < min(s["naive"]["mase"], s["drift"]["mase"])  # would win on its mean
    assert bt.best() == min(("naive", "drift"), key=lambda m: s[m]["mase"])


def test_progress_goes_through_the_origins_in_order():
    """Auto's inner origins, earlier than every fold, were fitted and reported last: the panel's
    progress went 82, 88, 94, then back to 70 and 76."""
    events = []
    backtest(
        series(110), 6, methods=["auto", "naive"], folds=3, season=12, options=CANDS, progress=events.append
    )
    origins = [e["origin"] for e in events if e.get("stage") == "backtest"]
    assert origins == sorted(origins) and len(set(origins)) == 5
    assert [e["done"] for e in events if e.get("stage") == "backtest"] == list(range(len(origins)))
