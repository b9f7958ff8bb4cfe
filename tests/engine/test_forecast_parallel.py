"""Ensemble members trained on threads: same forecast as one after another, progress on the
caller's thread, cancel still stops the fit."""

import threading

import numpy as np
import pytest

from engine.forecast.context import Cancelled, FitContext
from engine.forecast.ensemble import Then, member_workers, run_members
from engine.forecast.lstm_model import LSTMConfig
from engine.forecast.methods import fit_forecast

SMALL = dict(hidden=16, seeds=3, epochs=8, patience=4, windows_per_epoch=128, batch_size=32)
KEYS = ("mean", "lo80", "hi80", "lo95", "hi95")


def series(n=260, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 10 + np.sin(2 * np.pi * t / 12) + 0.02 * t + rng.normal(0, 0.2, n)


@pytest.mark.parametrize("method", ["lstm", "hybrid"])
@pytest.mark.parametrize("warm", [0.25, 0.0])  # warm refit (the default) and retraining from scratch
def test_threaded_members_give_the_same_forecast(method, warm):
    y = series()
    out = {}
    for workers in (1, 3):
        cfg = LSTMConfig(**SMALL, workers=workers, refit_warm=warm)
        out[workers] = fit_forecast(y, 12, method, season=12, options={"lstm": cfg, "hybrid": cfg})
    for k in KEYS:
        np.testing.assert_array_equal(getattr(out[1], k), getattr(out[3], k))
    assert out[1].info["best_epochs"] == out[3].info["best_epochs"]


def test_progress_comes_on_the_callers_thread_and_cancel_stops_it():
    caller = threading.get_ident()
    threads, events = set(), []

    class Token:
        cancelled = False

    token = Token()

    def progress(ev):
        threads.add(threading.get_ident())
        events.append(ev)
        if len(events) == 5:
            token.cancelled = True

    cfg = LSTMConfig(**{**SMALL, "epochs": 200, "patience": 200}, workers=3)
    with pytest.raises(Cancelled):
        fit_forecast(series(), 12, "lstm", season=12, progress=progress, cancel=token, options={"lstm": cfg})
    assert threads == {caller}
    assert 5 <= len(events) < 60  # stopped within a few epochs of each member, not after 200
    assert {e["member"] for e in events} <= {0, 1, 2}


def test_run_members_continues_stages_in_order():
    def member(k, ctx):
        ctx.report(stage="one", member=k)
        return Then(lambda c: (c.report(stage="two", member=k), k * 10)[1])

    for workers in (1, 2):
        seen = []
        out = run_members(member, 4, workers, FitContext(progress=seen.append))
        assert out == [0, 10, 20, 30]
        for k in range(4):  # each member's second stage is reported after its first
            one = seen.index({"stage": "one", "member": k})
            assert seen.index({"stage": "two", "member": k}) > one


def test_member_workers():
    assert member_workers(LSTMConfig(seeds=1, workers=4)) == 1
    assert member_workers(LSTMConfig(seeds=3, workers=8)) == 3
    assert member_workers(LSTMConfig(seeds=3, workers=1)) == 1
    assert member_workers(LSTMConfig(seeds=3, workers=2)) == 2
    assert member_workers(LSTMConfig(seeds=3, layers=2, dropout=0.1, workers=4)) == 1  # dropout: in turn
    assert 1 <= member_workers(LSTMConfig(seeds=3)) <= 3


def test_a_failing_member_stops_the_others_and_queued_ones_never_start():
    import time

    started = []

    def member(k, ctx):
        started.append(k)
        if k == 0:
            raise ValueError("member 0 broke")
        for _ in range(400):  # 20 s unless stopped
            ctx.check()
            time.sleep(0.05)
        return k

    t0 = time.monotonic()
    with pytest.raises(ValueError, match="member 0 broke"):
        run_members(member, 6, 2, FitContext())
    assert time.monotonic() - t0 < 5
    assert len(started) <= 3  # the two first, and at most one that took the free thread


def test_a_pause_is_counted_once_however_many_members_wait():
    import time

    from engine.cancel import CancelToken

    token = CancelToken()

    def member(k, ctx):
        for _ in range(6):
            ctx.check()
            time.sleep(0.05)
        return k

    token.pause()
    threading.Timer(0.4, token.resume).start()
    t0 = time.monotonic()
    assert run_members(member, 3, 3, FitContext(cancel=token)) == [0, 1, 2]
    assert time.monotonic() - t0 >= 0.4
    assert 0.35 <= token.paused_s < 0.7  # one pause of 0.4 s, not three


def test_warm_refit_continues_for_a_share_of_the_epochs():
    events = []
    cfg = LSTMConfig(**{**SMALL, "epochs": 12, "patience": 12}, refit_warm=0.25, workers=1)
    fc = fit_forecast(series(), 12, "lstm", season=12, progress=events.append, options={"lstm": cfg})
    assert np.all(fc.lo95 <= fc.lo80) and np.all(fc.lo80 <= fc.mean) and np.all(fc.hi80 <= fc.hi95)
    assert max(fc.info["best_epochs"]) >= 4
    for member, best in enumerate(fc.info["best_epochs"]):
        refit = [e for e in events if e["stage"] == "lstm_refit" and e["member"] == member]
        assert len(refit) == int(np.ceil(0.25 * best))  # not the full best-epoch count of a fresh refit


def test_a_pause_in_progress_counts_and_the_run_clock_never_goes_negative():
    import time

    from engine.cancel import CancelToken
    from engine.lab.forecast_run import _Relay

    token = CancelToken()
    token.pause()
    time.sleep(0.2)
    assert token.paused_s == 0.0 and token.paused_total() >= 0.2  # not counted until it ends
    token.pause()  # pausing again changes nothing
    relay = _Relay(lambda e: None, None, token)
    time.sleep(0.1)
    assert relay.elapsed() == pytest.approx(0.0, abs=0.05)  # paused all along: no fitting time
    token.resume()
    token.resume()  # resuming twice counts the pause once
    assert 0.3 <= token.paused_s < 0.6
    assert relay.elapsed() >= 0.0
