"""Windowing: no look-ahead, and the LSTM's inputs at an origin never contain later values."""

import numpy as np
import pandas as pd

from engine.forecast.lstm import Prepared, prepare, split_origins
from engine.forecast.lstm_model import LSTMConfig
from engine.forecast.windows import calendar_cycles, gather, time_features, window_origins


def test_planted_future_spike_never_enters_earlier_inputs():
    n, L, H, spike = 200, 24, 6, 150
    z = np.sin(np.arange(n) / 5.0)
    z[spike] = 1e6
    feats = np.zeros((n + H, 0))
    origins = window_origins(n, L, H)
    past, _, targets = gather(z, feats, origins, L, H)
    before = origins + H - 1 < spike  # windows whose targets all lie before the spike
    assert before.sum() > 50
    assert np.all(np.abs(past[before]) < 10)  # no input window of those contains the spike
    # and the spike is visible as a target exactly in the windows that should predict it
    hit = (origins <= spike) & (spike < origins + H)
    assert np.all(targets[hit].max(axis=1) == 1e6) and not np.any(targets[~hit] == 1e6)
    assert np.all(past.max(axis=1)[origins <= spike] < 10)


def test_prepared_inputs_do_not_look_ahead():
    y = 10 + np.sin(np.arange(120) / 3.0)
    y_spiked = y.copy()
    y_spiked[100] = 1000.0
    cfg = LSTMConfig(transform="none", deseasonalise=False)
    # fitted statistics differ when the spike is in the history, so compare on histories cut at 100
    a: Prepared = prepare(y[:100], 6, 1, None, None, cfg)
    b: Prepared = prepare(y_spiked[:100], 6, 1, None, None, cfg)
    xa = a.inputs(np.array([100]), 6)[0]
    xb = b.inputs(np.array([100]), 6)[0]
    np.testing.assert_array_equal(xa, xb)


def test_validation_targets_do_not_overlap_training_targets():
    train, val = split_origins(300, 20, 7, 0.1)
    assert train.size and val.size
    assert train.max() + 7 <= val.min()


def test_time_features_dated_and_undated():
    dates = pd.date_range("2020-01-01", periods=800, freq="D")
    cycles = calendar_cycles(dates, 800)
    assert cycles == ["week", "year"]
    f = time_features(800, dates, "D", cycles, 7, 10)
    assert f.shape == (810, 4)
    # day of week repeats every 7 days
    np.testing.assert_allclose(f[7, :2], f[0, :2], atol=1e-12)
    g = time_features(50, None, None, [], 12, 5)
    assert g.shape == (55, 2)
    np.testing.assert_allclose(g[12], g[0], atol=1e-12)
    assert time_features(50, None, None, [], 1, 5).shape == (55, 0)
