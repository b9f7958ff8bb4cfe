"""The ridge baseline ``linear``: learns what a linear rule can, falls back to naive, clear errors."""

import numpy as np
import pandas as pd
import pytest

from engine.forecast.linear import LinearConfig
from engine.forecast.methods import fit_forecast
from engine.forecast.metrics import mase


def test_linear_learns_a_cycle_from_the_windows_and_beats_naive():
    t = np.arange(300)
    y = 10 + np.sin(2 * np.pi * t / 17) + np.random.default_rng(0).normal(0, 0.1, 300)
    hist, actual, H = y[:-17], y[-17:], 17
    fc = fit_forecast(hist, H, "linear", season=1)  # no seasonal help: the cycle is in the windows
    naive = fit_forecast(hist, H, "naive", season=1)
    assert mase(actual, fc.mean, hist, 1) < 0.3 * mase(actual, naive.mean, hist, 1)
    assert "penalty" in fc.info["model"] and fc.info["windows"] > 100
    inside = np.mean((actual >= fc.lo95) & (actual <= fc.hi95))
    assert inside >= 0.8


def test_on_a_random_walk_intervals_are_ordered_and_widen_with_the_horizon():
    y = 100 + np.cumsum(np.random.default_rng(3).normal(size=400))
    fc = fit_forecast(y, 12, "linear", season=1)
    assert np.all(fc.lo95 <= fc.lo80) and np.all(fc.lo80 <= fc.mean) and np.all(fc.mean <= fc.hi80)
    assert np.all(fc.hi80 <= fc.hi95)
    width = fc.hi80 - fc.lo80
    assert width[-3:].mean() > 1.3 * width[:3].mean()


def test_dated_monthly_series_with_calendar_features_and_a_constant_feature():
    idx = pd.date_range("2000-01-01", periods=120, freq="MS")
    t = np.arange(120)
    y = pd.Series(50 + 0.2 * t + 5 * np.sin(2 * np.pi * t / 12), index=idx)
    fc = fit_forecast(y, 12, "linear")
    assert fc.horizon == 12 and np.all(np.isfinite(fc.mean))
    truth = 50 + 0.2 * np.arange(120, 132) + 5 * np.sin(2 * np.pi * np.arange(120, 132) / 12)
    assert np.max(np.abs(fc.mean - truth)) < 2.0


def test_when_nothing_beats_naive_on_validation_it_forecasts_naive():
    # the training windows alternate, the latest (validation) ones walk at random: the reversal learnt
    # on the former (a small penalty keeps it) loses to the naive forecast on the latter
    rng = np.random.default_rng(1)
    y = np.r_[np.tile([-1.0, 1.0], 120) + rng.normal(0, 0.01, 240), np.cumsum(rng.normal(0, 1, 100))]
    fc = fit_forecast(y, 5, "linear", season=1, options={"linear": {"alphas": (1e-3,)}})
    assert fc.info["model"].endswith("naive won")
    np.testing.assert_allclose(fc.mean, y[-1])


def test_a_steady_trend_is_carried_like_the_drift_method_does():
    t = np.arange(200.0)
    y = 100 + t + np.random.default_rng(0).normal(0, 1, 200)
    hist, actual = y[:-12], y[-12:]
    err = {
        m: mase(actual, fit_forecast(hist, 12, m, season=1).mean, hist, 1)
        for m in ("linear", "drift", "naive")
    }
    assert err["linear"] < 1.5 * err["drift"] and err["linear"] < 0.5 * err["naive"], err


def test_too_short_and_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="too short for the linear model"):
        fit_forecast(np.arange(30.0) + 1, 12, "linear", season=1)
    with pytest.raises(ValueError, match="too short for the linear model"):  # not even one window
        fit_forecast(np.arange(4.0) + 1, 3, "linear", season=1)
    with pytest.raises(ValueError, match="bad LinearConfig settings"):
        fit_forecast(np.arange(300.0), 5, "linear", season=1, options={"linear": {"alpha": 1}})
    with pytest.raises(ValueError, match="val_fraction"):
        LinearConfig(val_fraction=1.5)
    with pytest.raises(ValueError, match="alphas"):
        LinearConfig(alphas=(0.0,))


@pytest.mark.parametrize("method", ["linear", "lstm"])
def test_the_too_short_message_names_the_points_actually_needed(method):
    import re

    from engine.forecast.lstm_model import LSTMConfig

    opts = {"lstm": LSTMConfig(seeds=1, epochs=1, hidden=4)}
    y = 50 + np.sin(np.arange(400) / 3.0) + np.arange(400) * 0.01
    with pytest.raises(ValueError, match="at least") as err:
        fit_forecast(y[:40], 12, method, season=1, options=opts)
    need = int(re.search(r"at least (\d+) needed", str(err.value)).group(1))
    assert need > 40
    assert fit_forecast(y[:need], 12, method, season=1, options=opts).horizon == 12
    with pytest.raises(ValueError, match="too short"):
        fit_forecast(y[: need - 1], 12, method, season=1, options=opts)
