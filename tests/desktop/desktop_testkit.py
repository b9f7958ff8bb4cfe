"""Helpers shared by the desktop tests (a module with a unique name, so it imports unambiguously)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

WAIT_MS = 30_000  # generous: a timeout is a guard against hangs, not a speed claim


def long_chat(data: Path, exchanges: int) -> tuple[int, int]:
    """A data folder ``data`` (made here) whose history holds one chat of ``exchanges`` questions and
    answers ("question i" / "answer i"): (its id, its first message's id)."""
    from engine.history import HistoryStore

    data.mkdir(parents=True, exist_ok=True)
    with HistoryStore(data / "history.db") as s:
        cid = s.create_conversation("long")
        parent = None
        for i in range(exchanges):
            u = s.add_message(cid, "user", f"question {i}", parent)
            parent = s.add_message(cid, "bot", f"answer {i}", u)
        return cid, s.thread(cid)[0]["id"]


def recorder(signal):
    """Record a service signal's emissions on the GUI thread.

    pytest-qt's ``waitSignal`` connects a plain callable, which runs on the *emitting* (engine)
    thread; a bound method of a QObject is queued to the GUI thread instead, like the app's own
    widgets. So tests wait with ``qtbot.waitUntil(lambda: rec.calls)``, never ``waitSignal``.
    """
    from PySide6.QtCore import QObject

    class Recorder(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple] = []

        def record(self, *args) -> None:
            self.calls.append(args)

    rec = Recorder()
    signal.connect(rec.record)
    return rec


@dataclass
class Running:
    window: object
    service: object
    data_dir: Path
    loader: object

    @property
    def chat(self):
        return self.window.chat

    @property
    def db_path(self) -> Path:
        return self.data_dir / "history.db"

    def rows(self, sql: str, params: tuple = ()) -> list[dict]:
        """Read the database from the test (a separate connection, as another program would)."""
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()


def send(qtbot, run: Running, text: str, timeout: int = WAIT_MS) -> dict:
    """Type ``text`` into the composer, press Enter and wait for the reply to finish."""
    from PySide6.QtCore import Qt

    rec = recorder(run.service.reply_finished)
    run.chat.composer.set_text(text)
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(rec.calls) and not run.chat.generating, timeout=timeout)
    return rec.calls[-1][1]


def wait_done(qtbot, panel, timeout: int = WAIT_MS) -> None:
    """Wait until a panel's job (``panel.busy``) has ended."""
    qtbot.waitUntil(lambda: not panel.busy, timeout=timeout)


class LatencyProbe(QObject):
    """Measures the GUI event loop: the longest gap between 10 ms timer ticks."""

    def __init__(self) -> None:
        super().__init__()
        self.last = time.perf_counter()
        self.worst = 0.0
        self.gaps: list[float] = []
        self.timer = QTimer(self)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.gaps.append(now - self.last)
        self.last = now

    def percentile(self, q: float) -> float:
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0
