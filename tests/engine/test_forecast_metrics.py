"""Forecast metrics against values computed by hand."""

import math

import numpy as np
import pytest

from engine.forecast import metrics


def test_mae_rmse_by_hand():
    a, f = [1.0, 2.0, 4.0], [2.0, 2.0, 1.0]
    assert metrics.mae(a, f) == pytest.approx((1 + 0 + 3) / 3)
    assert metrics.rmse(a, f) == pytest.approx(math.sqrt((1 + 0 + 9) / 3))


def test_smape_by_hand():
    a, f = [100.0, 50.0, 0.0], [110.0, 40.0, 0.0]
    # 200/3 * (10/210 + 10/90 + 0)  (the 0/0 step counts as 0)
    want = 200 / 3 * (10 / 210 + 10 / 90)
    assert metrics.smape(a, f) == pytest.approx(want)
    assert metrics.smape([1.0], [-1.0]) == pytest.approx(200.0)


def test_mase_by_hand_nonseasonal_and_seasonal():
    hist = np.array([1.0, 3.0, 2.0, 5.0])  # naive in-sample errors 2, 1, 3 -> scale 2
    assert metrics.mase_scale(hist, 1) == pytest.approx(2.0)
    assert metrics.mase([6.0, 8.0], [5.0, 5.0], hist, 1) == pytest.approx(((1 + 3) / 2) / 2.0)
    hist_s = np.array([1.0, 10.0, 2.0, 12.0, 4.0, 11.0])  # lag-2 errors 1, 2, 2, 1 -> scale 1.5
    assert metrics.mase_scale(hist_s, 2) == pytest.approx(1.5)
    assert metrics.mase([5.0], [2.0], hist_s, 2) == pytest.approx(3.0 / 1.5)
    # a history no longer than the season falls back to lag 1
    assert metrics.mase_scale([1.0, 2.0, 4.0], 12) == pytest.approx(1.5)


def test_mase_of_constant_history_is_nan_not_error():
    assert math.isnan(metrics.mase([1.0], [2.0], [3.0, 3.0, 3.0], 1))


def test_coverage_and_score():
    a = [1.0, 2.0, 3.0, 4.0]
    assert metrics.coverage(a, [0, 2.5, 2, 4], [1, 3, 2.5, 5]) == pytest.approx(0.5)
    s = metrics.score(a, a, [0.0, 1.0], 1, [0] * 4, [9] * 4)
    assert s["mae"] == 0 and s["mase"] == 0 and s["cov80"] == 1.0 and "cov95" not in s


def test_length_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="2 points"):
        metrics.mae([1, 2], [1, 2, 3])


def test_smape_counts_a_negligible_error_as_exact_and_the_backtest_names_unscaled_folds():
    """Bug hunt: a forecast of 4e-36 for an actual 0 scored sMAPE 200; a fold whose history is
    constant has no MASE, and the mean MASE silently came from the other folds."""
    from engine.forecast.backtest import backtest
    from engine.forecast.metrics import score

    got = score(np.zeros(3), np.array([4e-36, 6e-44, 0.0]), np.arange(1.0, 21.0), 1)
    assert got["smape"] == 0.0
    assert score(np.zeros(3), np.array([0.5, 0.0, 0.0]), np.arange(1.0, 21.0), 1)["smape"] > 60
    y = np.r_[np.full(40, 5.0), np.arange(6.0, 12.0)]
    bt = backtest(y, 3, methods=["naive", "drift"], folds=2)
    assert any("MASE is undefined at origin(s) 40" in w for w in bt.warnings)
