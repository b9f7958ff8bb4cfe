"""ETS+LSTM hybrid and the global (many-series) forecaster."""

import numpy as np
import pytest

from engine.forecast.global_model import GlobalForecaster, fit_global
from engine.forecast.hybrid import ets_paths
from engine.forecast.lstm_model import LSTMConfig
from engine.forecast.methods import fit_forecast

TINY = dict(hidden=8, seeds=1, epochs=5, patience=3, windows_per_epoch=128)


def seasonal(n=64, seed=0, m=4):
    t = np.arange(n)
    return 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / m) + np.random.default_rng(seed).normal(0, 0.5, n)


def test_ets_paths_end_in_the_ets_forecast():
    from engine.forecast.statistical import fit_ets, quiet

    z = seasonal()
    base, resid, name = ets_paths(z, 6, 4)
    with quiet():
        res, name2 = fit_ets(z, 4, additive_only=True)
    assert name == name2 and name.endswith(",A)") and base.shape == (65, 6) and resid.shape == (64,)
    np.testing.assert_allclose(base[-1], np.asarray(res.forecast(6)), rtol=1e-8)
    # the one-step path from origin o is the model's fitted value at o (after the first season)
    np.testing.assert_allclose(base[8:64, 0], np.asarray(res.fittedvalues)[8:], rtol=1e-8)


def test_untrained_hybrid_returns_the_ets_path():
    y = seasonal()
    cfg = LSTMConfig(**{**TINY, "epochs": 0, "calibrate": False, "transform": "none"})
    fc = fit_forecast(y, 6, "hybrid", season=4, options={"hybrid": cfg})
    base, _, _ = ets_paths(y, 6, 4)
    np.testing.assert_allclose(fc.mean, base[-1], rtol=1e-6)
    assert fc.info["base"].startswith("ETS(A,")


def test_hybrid_trains_and_reports():
    fc = fit_forecast(seasonal(), 6, "hybrid", season=4, options={"hybrid": LSTMConfig(**TINY)})
    assert np.all(np.isfinite(fc.mean)) and np.all(fc.lo95 <= fc.hi95)
    assert "ETS+LSTM" in fc.info["model"]


def test_global_model_fits_many_series_and_round_trips(tmp_path):
    series = [seasonal(100 + 10 * k, seed=k, m=12) * (k + 1) for k in range(4)]
    series.append(np.full(80, 2.0))  # constant: skipped, not fatal
    g = fit_global(series, 6, 12, LSTMConfig(**TINY))
    assert g.info["series_used"] == [0, 1, 2, 3] and g.info["series_skipped"] == [4]
    p = g.predict(series[2])
    assert p.mean.shape == (6,) and np.all(np.isfinite(p.mean))
    folder = g.save(tmp_path / "global")
    assert (folder / "model.safetensors").exists() and (folder / "config.json").exists()
    p2 = GlobalForecaster.load(folder).predict(series[2])
    np.testing.assert_allclose(p.mean, p2.mean, rtol=1e-6)
    with pytest.raises(ValueError, match="not a forecast model folder"):
        GlobalForecaster.load(tmp_path / "nothing")
