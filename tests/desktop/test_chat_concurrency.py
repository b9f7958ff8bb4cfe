"""The chat when another program uses the same history.db (bug hunt: two instances and concurrent
access): a write lock held by a database browser, and conversations the CLI adds or deletes."""

from __future__ import annotations

import logging
import sqlite3
import time

from desktop_testkit import WAIT_MS, recorder

from engine.history import HistoryStore

LONG = " ".join(f"w{i}" for i in range(80))


def _short_busy_timeout(qtbot, run, seconds: float) -> None:
    """The app's store waits ``seconds`` (not 5 s) for another program's lock (set on the engine
    thread, which owns the connection)."""
    done: list[bool] = []

    def apply() -> None:
        store = run.service._store
        store._busy_timeout_s = seconds
        store._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        done.append(True)

    run.service._call(apply)
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)


def _notices(chat) -> list:
    from PySide6.QtCore import QObject

    class Notices(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []

        def record(self, text, *_args) -> None:
            self.texts.append(text)

    rec = Notices()
    chat.notice_requested.connect(rec.record)
    return rec


def _quick_round_trip(qtbot, run) -> None:
    """Wait until the engine thread has served everything queued before this call."""
    done: list[bool] = []
    run.service._call(lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)
    qtbot.wait(50)  # the signals emitted before it reach the GUI thread


def _tracebacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


# ---------------------------------------------------------------------------------- write lock


def test_a_reply_ends_and_the_next_send_works_while_another_program_holds_the_write_lock(
    start_app, qtbot, send_message, caplog
):
    """A database browser with unsaved edits holds history.db's write lock: the reply's periodic
    save raised, its error path raised again, and the chat said "generating" for the rest of the
    session (reply_finished never came, Send and Stop did nothing)."""
    caplog.set_level(logging.WARNING)
    run = start_app(script=LONG, delay_s=0.03)
    _short_busy_timeout(qtbot, run, 0.2)
    chat = run.chat
    finished = recorder(run.service.reply_finished)
    errors = recorder(run.service.error)
    chat._send("tell me a long story")
    qtbot.waitUntil(lambda: chat.live_bid is not None, timeout=WAIT_MS)
    bid = chat.live_bid
    holder = sqlite3.connect(run.db_path, isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")  # held until the reply has ended
    try:
        qtbot.waitUntil(lambda: bool(finished.calls) and not chat.generating, timeout=WAIT_MS)
        info = finished.calls[-1][1]
        assert info["status"] == "complete" and info["text"] == LONG  # the reply went on to its end
        assert any("not saved yet" in e[0] for e in errors.calls)  # said, in words
    finally:
        holder.execute("COMMIT")
        holder.close()
    reply = send_message(run, "and then?")  # the lock is gone: the next send works
    assert reply["status"] == "complete"
    (first,) = run.rows("SELECT status, text FROM messages WHERE id = ?", (bid,))
    assert first == {"status": "complete", "text": LONG}  # written once the history was free
    assert not _tracebacks(caplog)


def test_a_reply_that_fails_while_the_history_is_locked_ends_as_error(start_app, qtbot, caplog):
    caplog.set_level(logging.WARNING)
    run = start_app(script=LONG, delay_s=0.03, raise_after=50)
    _short_busy_timeout(qtbot, run, 0.2)
    chat = run.chat
    finished = recorder(run.service.reply_finished)
    chat._send("tell me a long story")
    qtbot.waitUntil(lambda: chat.live_bid is not None, timeout=WAIT_MS)
    bid = chat.live_bid
    holder = sqlite3.connect(run.db_path, isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")
    try:
        qtbot.waitUntil(lambda: bool(finished.calls) and not chat.generating, timeout=WAIT_MS)
        assert finished.calls[-1][1]["status"] == "error"
        assert finished.calls[-1][1]["text"].startswith("w0 w1")  # its text so far, kept
    finally:
        holder.execute("COMMIT")
        holder.close()
    run.service._call(run.service._save_unsaved)  # as the next reply (or closing) does
    qtbot.waitUntil(
        lambda: run.rows("SELECT status FROM messages WHERE id = ?", (bid,))[0]["status"] == "error",
        timeout=WAIT_MS,
    )


# ------------------------------------------------------------------- deleted by another program


def _two_chats(data) -> tuple[int, int]:
    data.mkdir(parents=True, exist_ok=True)
    with HistoryStore(data / "history.db") as s:
        ids = []
        for title in ("alpha chat", "beta chat"):
            cid = s.create_conversation(title)
            uid = s.add_message(cid, "user", f"{title} hello")
            s.add_message(cid, "bot", "hi", uid)
            ids.append(cid)
    return ids[0], ids[1]


def _delete_elsewhere(run, cid: int) -> None:
    """What `python -m engine history delete conversation N` does: another connection deletes it."""
    with HistoryStore(run.db_path) as other:
        other.delete_conversation(cid)


def test_sending_in_a_chat_deleted_by_another_program_says_so_and_keeps_the_text(
    start_app, qtbot, tmp_path, caplog
):
    """Send gave a raw "no conversation with id 1" and a traceback in the log."""
    caplog.set_level(logging.WARNING)
    alpha, beta = _two_chats(tmp_path / "data")
    run = start_app()
    chat = run.chat
    errors = recorder(run.service.error)
    notices = _notices(chat)
    chat.open_conversation(alpha)
    qtbot.waitUntil(lambda: bool(chat.messages.order), timeout=WAIT_MS)
    _delete_elsewhere(run, alpha)
    chat.composer.set_text("are you still there?")
    from PySide6.QtCore import Qt

    qtbot.keyClick(chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(notices.texts), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not chat.generating, timeout=WAIT_MS)
    assert "deleted outside Parlance" in notices.texts[-1]
    assert chat.composer.text() == "are you still there?"  # kept, to send in a new chat
    assert chat.cid is None and alpha not in chat.history.conversations.ids()
    assert errors.calls == [] and not _tracebacks(caplog)


def test_opening_or_deleting_a_row_deleted_by_another_program_drops_it(start_app, qtbot, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    alpha, beta = _two_chats(tmp_path / "data")
    run = start_app()
    chat = run.chat
    errors = recorder(run.service.error)
    deleted = recorder(run.service.conversation_deleted)
    notices = _notices(chat)
    _delete_elsewhere(run, alpha)
    _delete_elsewhere(run, beta)
    chat.open_conversation(alpha)  # a click on the stale row
    qtbot.waitUntil(lambda: alpha not in chat.history.conversations.ids(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(notices.texts), timeout=WAIT_MS)
    assert "deleted outside Parlance" in notices.texts[-1] and chat.cid is None
    run.service.delete_conversation(beta)  # Del on the other stale row: it just goes
    qtbot.waitUntil(lambda: beta not in chat.history.conversations.ids(), timeout=WAIT_MS)
    _quick_round_trip(qtbot, run)
    assert errors.calls == [] and deleted.calls == [] and not _tracebacks(caplog)
    assert chat.conversations == []


def test_a_chat_deleted_by_another_program_while_its_reply_streams(start_app, qtbot, send_message):
    """The reply ran to its end as "complete" (nothing saved), the chat kept showing the deleted
    conversation, and the next send failed with "no conversation with id 1"."""
    run = start_app(script=LONG, delay_s=0.02)
    chat = run.chat
    errors = recorder(run.service.error)
    finished = recorder(run.service.reply_finished)
    notices = _notices(chat)
    chat._send("tell me a long story")
    qtbot.waitUntil(lambda: chat.live_bid is not None and chat.cid is not None, timeout=WAIT_MS)
    cid = chat.cid
    _delete_elsewhere(run, cid)
    qtbot.waitUntil(lambda: bool(finished.calls) and not chat.generating, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(notices.texts), timeout=WAIT_MS)
    assert "deleted outside Parlance" in notices.texts[-1] and "not saved" in notices.texts[-1]
    assert chat.cid is None and cid not in chat.history.conversations.ids()
    reply = send_message(run, "and then?")  # a new chat
    assert reply["status"] == "complete" and chat.cid not in (None, cid)
    assert errors.calls == []


def test_a_chat_deleted_in_the_window_while_its_reply_streams_is_not_called_deleted_elsewhere(
    start_app, qtbot
):
    run = start_app(script=LONG, delay_s=0.02)
    chat = run.chat
    gone = recorder(run.service.conversation_gone)
    notices = _notices(chat)
    chat._send("tell me a long story")
    qtbot.waitUntil(lambda: chat.live_bid is not None and chat.cid is not None, timeout=WAIT_MS)
    run.service.delete_conversation(chat.cid)
    qtbot.waitUntil(lambda: not chat.generating, timeout=WAIT_MS)
    _quick_round_trip(qtbot, run)
    assert gone.calls == [] and not any("outside" in t for t in notices.texts)


# ---------------------------------------------------------------------- added by another program


def test_a_conversation_another_program_added_is_listed_after_a_check(start_app, qtbot, tmp_path):
    alpha, _beta = _two_chats(tmp_path / "data")
    run = start_app()
    chat = run.chat
    qtbot.waitUntil(lambda: len(chat.history.conversations.ids()) == 2, timeout=WAIT_MS)
    with HistoryStore(run.db_path) as other:  # the CLI's `chat --db`
        cid = other.create_conversation(model="cli")
        other.add_message(cid, "user", "zebra crossing question")
    chat.check_outside_changes()  # the timer's and the window activation's call
    qtbot.waitUntil(lambda: cid in chat.history.conversations.ids(), timeout=WAIT_MS)
    assert chat.history.conversations.ids()[0] == cid  # newest first


def test_the_outside_check_re_reads_nothing_when_nothing_changed(start_app, qtbot, tmp_path, send_message):
    _two_chats(tmp_path / "data")
    run = start_app()
    send_message(run, "my own message")  # the app's own writes do not count as outside changes
    lists = recorder(run.service.conversations_changed)
    for _ in range(3):
        run.service.check_outside_changes()
    _quick_round_trip(qtbot, run)
    with HistoryStore(run.db_path) as other:  # another table: no re-read of the conversations
        other.add_summary("a text to summarize.", "a summary.", "textrank")
    run.service.check_outside_changes()
    _quick_round_trip(qtbot, run)
    assert [c for c in lists.calls if isinstance(c[0], list)] == []
    t0 = time.perf_counter()
    for _ in range(200):
        run.service._check_outside()  # (called here directly: only its cost is measured)
    assert (time.perf_counter() - t0) / 200 < 0.005


def test_the_open_chat_deleted_by_another_program_is_noticed_by_the_check(start_app, qtbot, tmp_path):
    alpha, _beta = _two_chats(tmp_path / "data")
    run = start_app()
    chat = run.chat
    notices = _notices(chat)
    chat.open_conversation(alpha)
    qtbot.waitUntil(lambda: bool(chat.messages.order), timeout=WAIT_MS)
    _delete_elsewhere(run, alpha)
    chat.check_outside_changes()
    qtbot.waitUntil(lambda: alpha not in chat.history.conversations.ids(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(notices.texts), timeout=WAIT_MS)
    assert "deleted outside Parlance" in notices.texts[-1] and chat.cid is None


def test_a_search_hit_in_a_conversation_another_program_added_opens_it(start_app, qtbot, tmp_path):
    """Clicking it said "That conversation has been deleted." and opened nothing."""
    _two_chats(tmp_path / "data")
    run = start_app()
    chat = run.chat
    notices = _notices(chat)
    qtbot.waitUntil(lambda: chat._listed, timeout=WAIT_MS)
    with HistoryStore(run.db_path) as other:
        cid = other.create_conversation(model="cli")
        mid = other.add_message(cid, "user", "zebra crossing question")
    chat._on_result({"kind": "message", "conversation_id": cid, "id": mid})
    qtbot.waitUntil(lambda: chat.cid == cid and cid in chat.history.conversations.ids(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: chat.messages.order == [mid], timeout=WAIT_MS)
    assert notices.texts == []
    # a hit in one that is really gone is still called deleted, and the chat on screen stays
    with HistoryStore(run.db_path) as other:
        other.delete_conversation(cid)
        gone_cid = other.create_conversation(model="cli")
        gone_mid = other.add_message(gone_cid, "user", "zebra again")
        other.delete_conversation(gone_cid)
    chat._on_result({"kind": "message", "conversation_id": gone_cid, "id": gone_mid})
    qtbot.waitUntil(lambda: bool(notices.texts), timeout=WAIT_MS)
    assert notices.texts[-1] == "That conversation has been deleted."


# ------------------------------------------------------- the store's own (default) busy timeout


def _hold_write_lock(run) -> sqlite3.Connection:
    """A database browser with unsaved edits: another connection holding the write lock."""
    holder = sqlite3.connect(run.db_path, isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _reply_wall_time(qtbot, run, finished, text: str, lock: bool = False) -> float:
    """Seconds from the send to the reply's end; ``lock``: another program takes the write lock
    as soon as the reply has begun (its message saved) and holds it until the reply has ended."""
    finished.calls.clear()
    t0 = time.monotonic()
    before = run.chat.live_bid
    run.chat._send(text)
    holder = None
    try:
        if lock:
            qtbot.waitUntil(lambda: run.chat.live_bid not in (None, before), timeout=WAIT_MS)
            holder = _hold_write_lock(run)
        qtbot.waitUntil(lambda: bool(finished.calls) and not run.chat.generating, timeout=60_000)
        return time.monotonic() - t0
    finally:
        if holder is not None:
            holder.execute("COMMIT")
            holder.close()


def test_a_reply_streams_at_its_usual_speed_while_another_program_holds_the_write_lock(
    start_app, qtbot, caplog
):
    """With the store's default 5 s busy timeout, each ~1 s partial save waited the full 5 s and the
    final save 5 s more: a 3 s reply took 18-24 s while a database browser held the lock."""
    caplog.set_level(logging.WARNING)
    script = " ".join(f"w{i}" for i in range(100))  # ~3 s at 0.03 s a token
    run = start_app(script=script, delay_s=0.03)
    assert run.service._store._busy_timeout_s == 5.0  # the store's default, not shortened
    finished = recorder(run.service.reply_finished)
    free = _reply_wall_time(qtbot, run, finished, "a first story")
    locked = _reply_wall_time(qtbot, run, finished, "a story while the history is locked", lock=True)
    assert finished.calls[-1][1]["status"] == "complete"
    assert locked < free + 2.0, f"free {free:.1f} s, with the lock held {locked:.1f} s"
    refused = [r for r in caplog.records if "not saved this time" in r.getMessage()]
    assert len(refused) == 1  # one refused partial save, then no more tries for that reply


def test_a_refused_reply_is_saved_by_the_next_outside_check_once_the_lock_is_gone(start_app, qtbot):
    """ "It is saved once the history can be written again": it was retried only at the next reply
    or on close, and stayed "streaming" in the file for the rest of the session."""
    run = start_app(script=LONG, delay_s=0.02)
    chat = run.chat
    finished = recorder(run.service.reply_finished)
    errors = recorder(run.service.error)
    chat._send("tell me a long story")
    qtbot.waitUntil(lambda: chat.live_bid is not None, timeout=WAIT_MS)
    bid = chat.live_bid
    holder = _hold_write_lock(run)
    try:
        qtbot.waitUntil(lambda: bool(finished.calls) and not chat.generating, timeout=WAIT_MS)
        assert any("not saved yet" in e[0] for e in errors.calls)
        chat.check_outside_changes()  # still locked: kept, and the check does not wait 5 s for it
        _quick_round_trip(qtbot, run)
        assert run.service._unsaved
    finally:
        holder.execute("COMMIT")
        holder.close()
    lists = recorder(run.service.conversations_changed)
    chat.check_outside_changes()  # the 5 s timer's (or the window activation's) call
    qtbot.waitUntil(
        lambda: (
            run.rows("SELECT status, text FROM messages WHERE id = ?", (bid,))[0]
            == {"status": "complete", "text": LONG}
        ),
        timeout=WAIT_MS,
    )
    _quick_round_trip(qtbot, run)
    assert not run.service._unsaved
    assert [c for c in lists.calls if isinstance(c[0], list)] == []  # its own write: no re-list


def test_saving_a_chats_settings_is_not_taken_for_an_outside_change(start_app, qtbot, send_message):
    """A settings change touched updated_at without marking it seen: the next commit by any other
    program (even to another table) re-listed every conversation (~1 s at 20,000)."""
    run = start_app()
    send_message(run, "hello")
    _quick_round_trip(qtbot, run)
    lists = recorder(run.service.conversations_changed)
    run.service.save_conversation_settings(run.chat.cid, {"decoding": {"temperature": 0.5}})
    _quick_round_trip(qtbot, run)
    with HistoryStore(run.db_path) as other:  # another table: a summary from the CLI
        other.add_summary("a text to summarize.", "a summary.", "textrank")
    run.service.check_outside_changes()
    _quick_round_trip(qtbot, run)
    assert [c for c in lists.calls if isinstance(c[0], list)] == []


def test_the_outside_check_timer_runs_only_while_the_chat_panel_is_shown(start_app, qtbot):
    run = start_app()
    chat = run.chat
    assert chat.isVisible() and chat._outside_timer.isActive()
    checks = recorder(run.service.conversations_changed)
    run.window.select_panel("summarize")
    assert not chat.isVisible() and not chat._outside_timer.isActive()
    with HistoryStore(run.db_path) as other:  # the CLI's `chat --db` while another panel is shown
        cid = other.create_conversation(model="cli")
    run.window.select_panel("chat")
    assert chat._outside_timer.isActive()
    qtbot.waitUntil(lambda: cid in chat.history.conversations.ids(), timeout=WAIT_MS)  # looked at once
    assert checks.calls
