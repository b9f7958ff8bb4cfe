"""A history that cannot be written (found in a bug hunt): a read-only file or folder showed an
empty history, and a locked or read-only file threw away every summary, caption and forecast
after computing it."""

from __future__ import annotations

import os
import sqlite3

from desktop_testkit import WAIT_MS

from desktop import caption_ops
from desktop.summarize_ops import default_settings, summarize_text
from engine.history import HistoryLockedError, HistoryStore

TEXT = "The walrus went to sea. It came back later. Then it slept all day long. It woke at dusk."


def test_a_read_only_history_file_is_shown_and_said_to_be_read_only(qtbot, start_app, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    with HistoryStore(data / "history.db") as s:
        cid = s.create_conversation()
        s.add_message(cid, "user", "an old chat about walruses")
    real_access = os.access
    monkeypatch.setattr(  # what a 0444 file gives a user who is not root
        "desktop.engine_service.os.access",
        lambda p, mode, **kw: False if str(p).endswith("history.db") else real_access(p, mode, **kw),
    )
    run = start_app(data_dir=data)
    lst = run.chat.history.conversations
    qtbot.waitUntil(lambda: lst.ids() == [cid], timeout=WAIT_MS)
    assert run.window.status.history.text() == "History: read-only (not saved)"
    assert any("is read-only: your history is shown" in n.text for n in run.window.notices.notices())


def test_a_summary_is_kept_when_the_history_is_locked(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path, busy_timeout_s=0.2) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            result = summarize_text(TEXT, default_settings(), store=store)
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert result["summary_id"] is None and result["sentences"]
    assert any("not saved to history" in n and "locked" in n for n in result["notes"])


class _LockedStore:
    calls = 0

    def add_caption(self, *args):
        self.calls += 1
        raise HistoryLockedError("the history database h.db is locked by another program")


def test_a_caption_batch_tries_a_locked_history_once(monkeypatch):
    monkeypatch.setattr(caption_ops, "_meta", lambda item: {})
    store, failed = _LockedStore(), []
    items = [{"name": f"{i}.png", "sha256": "0", "caption": "a dog", "note": None} for i in range(3)]
    for item in items:
        caption_ops._save(item, store, failed)
    assert store.calls == 1  # each try waits out the lock: the rest of the batch is not tried
    assert all(item["caption_id"] is None for item in items[:1])
    assert all("not saved to history" in item["note"] for item in items)


def test_a_read_only_history_that_cannot_be_read_says_why(qtbot, start_app, tmp_path, monkeypatch):
    """History went off without a word when the read-only file could not be copied."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # damaged
    real_access = os.access
    monkeypatch.setattr(
        "desktop.engine_service.os.access",
        lambda p, mode, **kw: False if str(p).endswith("history.db") else real_access(p, mode, **kw),
    )
    run = start_app(data_dir=data)
    qtbot.waitUntil(lambda: run.window.status.history.text().startswith("History: off"), timeout=WAIT_MS)
    texts = [n.text for n in run.window.notices.notices()]
    assert any("history.db" in t and "damaged" in t for t in texts), texts
