"""A quick job (the Train panel's runs list, curves, rename, delete) runs between the steps of a
long one instead of waiting for it: the runs table stayed stale for a whole training run."""

from __future__ import annotations

import time

import fakes
from desktop_testkit import WAIT_MS, recorder


def _long_job(progress=None, cancel=None):
    end = time.monotonic() + 1.5
    while time.monotonic() < end and not (cancel is not None and cancel.cancelled):
        time.sleep(0.01)
        progress({"kind": "progress"})  # the steps of a training run: the service serves requests here
    return "long"


def test_a_quick_job_runs_between_the_steps_of_a_long_one(qtbot, tmp_path):
    service = fakes.service(tmp_path / "data")
    ready = recorder(service.ready)
    service.start()
    try:
        qtbot.waitUntil(lambda: bool(ready.calls), timeout=WAIT_MS)
        done: list[tuple[int, object, float]] = []
        service.job_finished.connect(lambda job, result: done.append((job, result, time.monotonic())))
        started = recorder(service.job_started)
        long_job = service.submit("train", _long_job, {})
        qtbot.waitUntil(lambda: any(c[0] == long_job for c in started.calls), timeout=WAIT_MS)
        quick_job = service.submit("runs", lambda: "runs", {}, quick=True)
        waiting = service.submit("runs", lambda: "waited", {})  # not quick: after the long job
        qtbot.waitUntil(lambda: len(done) == 3, timeout=WAIT_MS)
        order = [job for job, _result, _t in done]
        assert order.index(quick_job) < order.index(long_job) < order.index(waiting)
        assert service.quick_jobs
    finally:
        service.shutdown()
