"""The recurrent forecaster: learns a noisy sine, both decoders and losses run, callbacks work."""

import numpy as np
import pytest

from engine.forecast.context import Cancelled, FitContext
from engine.forecast.lstm_model import LSTMConfig
from engine.forecast.methods import fit_forecast
from engine.forecast.metrics import mase

TINY = dict(hidden=16, seeds=1, epochs=60, patience=10, windows_per_epoch=256, batch_size=64)


def noisy_sine(n=330, period=20, noise=0.15, seed=0):
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period) + np.random.default_rng(seed).normal(0, noise, n)


def test_lstm_learns_a_noisy_sine_and_beats_naive():
    y = noisy_sine()
    hist, actual, H = y[:-20], y[-20:], 20
    # no seasonal help: the network must learn the cycle from the windows itself
    cfg = LSTMConfig(deseasonalise=False, calendar=False, input_len=40, **TINY)
    fc = fit_forecast(hist, H, "lstm", season=1, options={"lstm": cfg})
    naive = fit_forecast(hist, H, "naive", season=1)
    lstm_err, naive_err = mase(actual, fc.mean, hist, 1), mase(actual, naive.mean, hist, 1)
    assert lstm_err < 0.5 * naive_err, (lstm_err, naive_err)
    cover = np.mean((actual >= fc.lo95) & (actual <= fc.hi95))
    assert cover >= 0.7
    assert fc.info["windows"] > 100 and fc.info["best_epochs"][0] >= 1


@pytest.mark.parametrize(
    "kw", [dict(decoder="seq2seq"), dict(loss="gaussian"), dict(cell="gru"), dict(linear_skip=False, seeds=2)]
)
def test_variants_run_and_give_ordered_intervals(kw):
    cfg = LSTMConfig(**{**TINY, "epochs": 3, **kw})
    fc = fit_forecast(noisy_sine(200) + 5, 8, "lstm", season=20, options={"lstm": cfg})
    assert fc.horizon == 8 and np.all(np.isfinite(fc.mean))
    assert np.all(fc.lo95 <= fc.lo80) and np.all(fc.lo80 <= fc.mean) and np.all(fc.hi80 <= fc.hi95)


def test_intervals_widen_with_horizon_on_a_random_walk():
    y = 100 + np.cumsum(np.random.default_rng(3).normal(size=400))
    cfg = LSTMConfig(**{**TINY, "epochs": 40, "calibrate": False})
    fc = fit_forecast(y, 12, "lstm", season=1, options={"lstm": cfg})
    width = fc.hi80 - fc.lo80
    assert width[-3:].mean() > 1.3 * width[:3].mean()


def test_progress_and_cancel():
    events = []

    class Token:
        cancelled = False

    token = Token()

    def progress(ev):
        events.append(ev)
        if ev["epoch"] == 2:
            token.cancelled = True

    with pytest.raises(Cancelled):
        fit_forecast(
            noisy_sine(200),
            5,
            "lstm",
            season=1,
            progress=progress,
            cancel=token,
            options={"lstm": LSTMConfig(**TINY)},
        )
    assert [e["epoch"] for e in events] == [1, 2]
    assert {"stage", "member", "loss", "val_loss"} <= set(events[0]) and events[0]["stage"] == "lstm"


def test_too_short_for_the_network_is_a_clear_error():
    with pytest.raises(ValueError, match="too short for the LSTM"):
        fit_forecast(noisy_sine(30), 8, "lstm", season=1, options={"lstm": LSTMConfig(**TINY)})


def test_unknown_config_values_are_refused():
    with pytest.raises(ValueError, match="unknown decoder 'attention'; known: direct, seq2seq"):
        LSTMConfig(decoder="attention")
    with pytest.raises(ValueError, match="unknown cell"):
        fit_forecast(noisy_sine(200), 5, "lstm", options={"lstm": LSTMConfig(cell="transformer", **TINY)})


def test_a_paused_token_holds_the_fit_between_epochs():
    """The Train panel's Pause reaches the forecaster: check() waits while the token is paused."""
    import threading
    import time

    from engine.cancel import CancelToken

    token = CancelToken()
    token.pause()
    ctx = FitContext(cancel=token)
    threading.Timer(0.3, token.resume).start()
    t0 = time.monotonic()
    ctx.check()  # returns only once resumed
    assert time.monotonic() - t0 >= 0.25 and not token.paused
    assert token.paused_s >= 0.25  # the forecaster's run clock leaves this out

    from engine.lab.forecast_run import _Relay

    relay = _Relay(lambda e: None, None, token)  # pauses before the relay started do not count
    assert relay.elapsed() == pytest.approx(0.0, abs=0.5)
    time.sleep(0.3)
    token.paused_s += 0.2  # as if paused for 0.2 s of the 0.3 s since: the clock leaves them out
    assert relay.elapsed() == pytest.approx(0.1, abs=0.08)
    token.paused_s += 100.0  # more pause than time: the clock stays at 0, never negative
    assert relay.elapsed() == 0.0
    token.pause()
    threading.Timer(0.2, token.cancel).start()
    with pytest.raises(Cancelled):  # cancelling a paused fit wakes it to stop
        ctx.check()
