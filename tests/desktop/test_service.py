"""The engine service's generic job API (what the other panels use) and its helpers."""

from __future__ import annotations

import threading
import time

import fakes
import pytest
from desktop_testkit import WAIT_MS, recorder

from desktop import chat_ops


@pytest.fixture
def service(qtbot, tmp_path):
    made = []

    def make(data_dir=None):
        s = fakes.service(data_dir or tmp_path / "data")
        ready = recorder(s.ready)
        s.start()
        qtbot.waitUntil(lambda: bool(ready.calls), timeout=WAIT_MS)
        s.ready_info = ready.calls[0][0]
        made.append(s)
        return s

    yield make
    for s in made:
        s.shutdown()


def test_job_gets_what_it_declares_and_reports_progress_and_result(qtbot, service):
    s = service()
    progress, finished = recorder(s.job_progress), recorder(s.job_finished)
    seen = {}

    def job(text: str, *, progress, cancel, store, device, cache):
        seen.update(thread=threading.current_thread().name, cancel=cancel.cancelled, device=device)
        for i in range(3):
            progress({"step": i + 1, "of": 3})
        sid = store.add_summary(text, text.upper(), "test")
        model = cache.get("upper", lambda: str.upper, label="upper-model")
        return {"summary_id": sid, "out": model(text)}

    job_id = s.submit("summarize", job, {"text": "abc"})
    qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)
    assert finished.calls == [(job_id, {"summary_id": 1, "out": "ABC"})]
    assert [p[1]["step"] for p in progress.calls] == [1, 2, 3] and all(p[0] == job_id for p in progress.calls)
    assert seen["thread"] != threading.current_thread().name and seen["cancel"] is False
    assert seen["device"] == "cpu" and "upper-model" in s.cache.labels()


def test_job_without_keyword_arguments_gets_none_of_them(qtbot, service):
    s = service()
    finished = recorder(s.job_finished)
    job_id = s.submit("plain", lambda a, b: a + b, {"a": 2, "b": 3})
    qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)
    assert finished.calls == [(job_id, 5)]


def test_failing_job_becomes_a_message_and_the_service_keeps_working(qtbot, service):
    s = service()
    failed, finished = recorder(s.job_failed), recorder(s.job_finished)

    def bad(text: str):
        raise ValueError(f"cannot summarize {len(text)} characters of nothing")

    bad_id = s.submit("summarize", bad, {"text": ""})
    ok_id = s.submit("summarize", lambda: "fine", {})
    qtbot.waitUntil(lambda: bool(failed.calls) and bool(finished.calls), timeout=WAIT_MS)
    assert failed.calls == [(bad_id, "cannot summarize 0 characters of nothing")]
    assert finished.calls == [(ok_id, "fine")]


def test_unexpected_exception_is_named_not_raised(qtbot, service):
    s = service()
    failed = recorder(s.job_failed)
    s.submit("x", lambda: {}["missing"], {})
    s.submit("y", lambda: 1 / 0, {})
    qtbot.waitUntil(lambda: len(failed.calls) == 2, timeout=WAIT_MS)
    assert "missing" in failed.calls[0][1]
    assert "ZeroDivisionError" in failed.calls[1][1] and "log" in failed.calls[1][1]


def test_cancel_a_running_job_and_a_queued_one(qtbot, service):
    s = service()
    progress, finished, failed = recorder(s.job_progress), recorder(s.job_finished), recorder(s.job_failed)

    def long_job(*, progress, cancel):
        steps = 0
        while not cancel.cancelled and steps < 2000:
            steps += 1
            progress({"step": steps})
            time.sleep(0.005)
        return "cancelled" if cancel.cancelled else "done"

    running = s.submit("train", long_job, {})
    queued = s.submit("train", long_job, {})
    qtbot.waitUntil(lambda: bool(progress.calls), timeout=WAIT_MS)
    s.cancel(queued)
    s.cancel(running)
    qtbot.waitUntil(lambda: bool(finished.calls) and bool(failed.calls), timeout=WAIT_MS)
    assert finished.calls == [(running, "cancelled")]
    assert failed.calls == [(queued, "train: cancelled before it started")]


def test_history_requests_are_served_while_a_long_job_runs(qtbot, service):
    s = service()
    finished, convs = recorder(s.job_finished), recorder(s.conversations_changed)

    def slow(*, progress):
        for i in range(150):
            progress({"i": i})
            time.sleep(0.01)
        return "slow done"

    s.submit("train", slow, {})
    s.list_conversations()
    qtbot.waitUntil(lambda: bool(convs.calls), timeout=WAIT_MS)
    assert not finished.calls  # answered in the middle of the job, not after it
    qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)


def test_jobs_get_no_store_when_history_is_off(qtbot, service, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = service(blocker / "data")
    assert s.ready_info["history"] is False and "cannot be created" in s.ready_info["problem"]
    finished = recorder(s.job_finished)
    s.submit("caption", lambda store: store is None, {})
    qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)
    assert finished.calls[0][1] is True


def test_model_turns_keep_the_newest_text_within_budget():
    thread = [{"text": "a" * 50}, {"text": "b" * 50}, {"text": "c" * 30}]
    turns, cut = chat_ops.model_turns(thread, 60)
    assert turns == ["b" * 30, "c" * 30] and cut
    turns, cut = chat_ops.model_turns(thread, 1000)
    assert turns == ["a" * 50, "b" * 50, "c" * 30] and not cut
    turns, cut = chat_ops.model_turns([{"text": "x" * 5000}], 100)
    assert turns == ["x" * 100] and cut


def test_signal_emit_does_not_leak_references_to_true(qtbot, service):
    import gc
    import sys

    from PySide6.QtCore import QObject, Signal

    service()  # installs the work-around where the bindings need it

    class Emitter(QObject):
        ping = Signal(object)

    e = Emitter()
    gc.collect()
    before = sys.getrefcount(True)
    for _ in range(500):
        e.ping.emit({"ok": True, "none": None})
    gc.collect()
    # the bug drops one reference per emit (500 here); other threads may move the count by a few
    assert sys.getrefcount(True) >= before - 50


def test_history_problems_are_said_once_and_plainly(service, tmp_path):
    """A newer schema's notice named the file twice and ran into the next sentence; a data folder
    that is a file said "cannot be created (File exists)" (bug hunt)."""
    import sqlite3

    from engine.history import SCHEMA_VERSION, HistoryStore

    data = tmp_path / "newer"
    data.mkdir()
    HistoryStore(data / "history.db").close()
    conn = sqlite3.connect(data / "history.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    problem = service(data).ready_info["problem"]
    assert problem.count(str(data / "history.db")) == 1 and problem.endswith(".") and problem[0].isupper()
    assert "newer Parlance" in problem

    afile = tmp_path / "afile"
    afile.write_text("x")
    assert service(afile).ready_info["problem"] == f"The data folder {afile} is a file, not a folder."


def test_a_chat_reply_is_written_while_a_long_job_runs_and_a_waiting_job_can_be_cancelled(qtbot, service):
    """Bug hunt: a training run held the engine for its whole length, so a chat message got no reply
    until it ended (hours), and Cancel of a run queued behind it did nothing until then."""
    s = service()
    qtbot.waitUntil(lambda: s._bot is not None, timeout=WAIT_MS)
    finished, failed = recorder(s.job_finished), recorder(s.job_failed)
    replies = recorder(s.reply_finished)
    release = threading.Event()

    def long_job(*, progress):
        while not release.is_set():
            progress({"waiting": True})
            time.sleep(0.01)
        return "done"

    first = s.submit("train", long_job, {})
    qtbot.waitUntil(lambda: s.running_jobs() == ["train"], timeout=WAIT_MS)
    second = s.submit("summarize", lambda: "second done", {})
    s.send_message(None, "hello while training", None, {})
    try:
        qtbot.waitUntil(lambda: bool(replies.calls), timeout=WAIT_MS)
        assert not finished.calls and s.running_jobs() == ["train"]  # the reply came during the job
        s.cancel(second)
        qtbot.waitUntil(lambda: bool(failed.calls), timeout=WAIT_MS)
        assert failed.calls == [(second, "summarize: cancelled before it started")]
        assert not finished.calls
    finally:
        release.set()
    qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)
    assert finished.calls == [(first, "done")]


def test_jobs_submitted_before_start_run_on_the_engine_thread_with_the_history(qtbot, tmp_path):
    """Bug hunt: the Train panel, built with the window before the service starts, listed its runs
    on the GUI thread with no history (the table stayed empty when the app opened on Train)."""
    s = fakes.service(tmp_path / "data")
    finished = recorder(s.job_finished)
    seen = {}

    def job(*, store=None):
        seen.update(thread=threading.current_thread().name, store=store is not None)
        return "ran"

    job_id = s.submit("runs", job, {})
    qtbot.wait(50)
    assert not finished.calls  # held until the service starts
    s.start()
    try:
        qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)
        assert finished.calls == [(job_id, "ran")]
        assert seen["store"] and seen["thread"] != threading.main_thread().name
    finally:
        s.shutdown()


def test_a_paused_job_does_not_freeze_the_chat(qtbot, service):
    """Review: Pause blocked the engine thread in the token's wait, so a chat message got no reply
    until Resume."""
    from engine.cancel import wait_if_paused

    s = service()
    qtbot.waitUntil(lambda: s._bot is not None, timeout=WAIT_MS)
    replies, finished = recorder(s.reply_finished), recorder(s.job_finished)
    started = threading.Event()

    def job(*, progress, cancel):
        started.set()
        while not cancel.cancelled:
            wait_if_paused(cancel)
            progress({"tick": True})
            time.sleep(0.01)
        return "stopped"

    job_id = s.submit("train", job, {})
    assert started.wait(10)
    s.pause(job_id)
    time.sleep(0.1)
    s.send_message(None, "hello while paused", None, {})
    try:
        qtbot.waitUntil(lambda: bool(replies.calls), timeout=WAIT_MS)
    finally:
        s.cancel(job_id)
    qtbot.waitUntil(lambda: bool(finished.calls), timeout=WAIT_MS)
