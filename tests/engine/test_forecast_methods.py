"""Baselines and statistical methods through fit_forecast: shapes, intervals, edge cases, auto."""

import numpy as np
import pandas as pd
import pytest

from engine.forecast.context import Cancelled
from engine.forecast.methods import fit_forecast


def random_walk(n=150, seed=0):
    return 50 + np.cumsum(np.random.default_rng(seed).normal(size=n))


def seasonal(n=96, m=12, seed=1):
    t = np.arange(n)
    return 20 + 0.1 * t + 5 * np.sin(2 * np.pi * t / m) + np.random.default_rng(seed).normal(0, 0.5, n)


@pytest.mark.parametrize("method", ["naive", "snaive", "drift", "ets", "arima", "theta"])
def test_methods_return_ordered_intervals(method):
    fc = fit_forecast(seasonal(), 6, method, season=12)
    assert fc.method == method and fc.horizon == 6 and fc.season == 12
    assert np.all(fc.lo95 <= fc.lo80) and np.all(fc.lo80 <= fc.mean) and np.all(fc.mean <= fc.hi80)
    assert np.all(fc.hi80 <= fc.hi95)
    assert fc.index == list(range(96, 102))


@pytest.mark.parametrize("method", ["naive", "drift", "ets", "arima", "theta"])
def test_intervals_widen_with_horizon(method):
    fc = fit_forecast(random_walk(), 12, method, season=1)
    width = fc.hi80 - fc.lo80
    assert width[-1] > 1.5 * width[0]
    assert np.all(np.diff(fc.hi95 - fc.lo95) >= -1e-9)


def test_seasonal_naive_and_drift_by_hand():
    y = np.array([1.0, 5.0, 2.0, 6.0, 3.0, 7.0, 4.0, 8.0])
    np.testing.assert_allclose(fit_forecast(y, 3, "snaive", season=2).mean, [4.0, 8.0, 4.0])
    np.testing.assert_allclose(fit_forecast(y, 2, "drift", season=1).mean, [9.0, 10.0])
    np.testing.assert_allclose(fit_forecast(y, 2, "naive", season=1).mean, [8.0, 8.0])
    # too short for two seasons plus the horizon: the season is dropped, with a note
    fc = fit_forecast(y[:6], 3, "snaive", season=2)
    assert fc.season == 1 and any("season 2 ignored" in w for w in fc.warnings)


def test_constant_series_gives_flat_forecast_and_a_note():
    fc = fit_forecast(np.full(40, 3.0), 5, "ets")
    np.testing.assert_allclose(fc.mean, 3.0)
    np.testing.assert_allclose(fc.hi95 - fc.lo95, 0.0)
    assert any("constant" in w for w in fc.warnings)


def test_fewer_points_than_horizon_is_refused():
    with pytest.raises(ValueError, match="fewer than the horizon 10"):
        fit_forecast(np.arange(6.0), 10, "naive")
    with pytest.raises(ValueError, match="positive integer"):
        fit_forecast(np.arange(6.0), 0, "naive")
    with pytest.raises(ValueError, match="unknown method 'prophet'; known: naive"):
        fit_forecast(np.arange(60.0), 3, "prophet")


def test_nans_in_an_array_are_interpolated_and_reported():
    y = seasonal()
    y[[10, 11, 40]] = np.nan
    fc = fit_forecast(y, 4, "theta", season=12)
    assert np.all(np.isfinite(fc.mean))
    assert any("3 missing value(s)" in w for w in fc.warnings)


def test_dated_series_gives_dates_and_season():
    idx = pd.date_range("2015-01-01", periods=96, freq="MS")
    fc = fit_forecast(pd.Series(seasonal(), index=idx), 3, "snaive")
    assert fc.season == 12 and fc.index[0].startswith("2023-01-01")
    assert fc.to_dict()["lo80"] == pytest.approx(list(fc.lo80))


def test_auto_without_network_reports_its_choice():
    fc = fit_forecast(
        seasonal(120),
        6,
        "auto",
        season=12,
        options={"auto": {"candidates": ("naive", "snaive", "theta", "ets")}},
    )
    assert fc.method == "auto"
    reason = fc.info["reason"]
    assert "backtest MASE over 2 origin(s)" in reason and ("chose" in reason or "averaged" in reason)
    assert set(fc.info["chosen"]) <= {"naive", "snaive", "theta", "ets"}
    # on a clear seasonal series the non-seasonal naive is not among the chosen
    assert "naive" not in fc.info["chosen"]


def test_cancel_stops_work():
    class Token:
        cancelled = True

    with pytest.raises(Cancelled):
        fit_forecast(seasonal(), 3, "ets", cancel=Token())


def test_forecasts_do_not_depend_on_the_units():
    """Bug hunt: ARIMA's and Theta's intervals for values near 1e-5 were 40× too wide (a variance
    floor), and near 1e300 every baseline failed with non-finite values and the season was lost."""

    rng = np.random.default_rng(0)
    t = np.arange(60)
    y = (100 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 60)) / 100
    for method in ("arima", "theta", "naive", "ets"):
        ref = fit_forecast(y, 6, method, season=12)
        for k in (1e-14, 1e298):
            got = fit_forecast(y * k, 6, method, season=12)
            assert np.allclose(got.mean / k, ref.mean, rtol=1e-2), (method, k)  # optimisers differ a little
            assert np.allclose((got.hi95 - got.lo95) / k, ref.hi95 - ref.lo95, rtol=0.05), (method, k)
    from engine.forecast.series import detect_season

    assert detect_season(y * 1e298) == detect_season(y) == 12


def test_auto_on_a_constant_series_says_so():

    fc = fit_forecast(np.full(40, 7.0), 3, "auto")
    assert list(fc.mean) == [7.0, 7.0, 7.0] and "constant" in fc.info["reason"]


def test_a_rescaled_methods_details_are_in_the_series_units():
    from engine.forecast.context import FitContext
    from engine.forecast.methods import run_method

    ctx = FitContext(None, None, None, None, 0, {})
    pred = run_method("drift", np.arange(1, 40) * 1e-4, 5, 1, ctx)
    assert pred.info["slope"] == pytest.approx(1e-4) and pred.info["rescaled_by"] == pytest.approx(1e-2)
