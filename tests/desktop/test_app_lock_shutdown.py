"""Closing while a job ignores "stop", and the data folder's lock (bug hunt finding 7): the closed
app lived on with no window, holding parlance.lock, and a new start said "already open, switch to
that window", advising to delete the lock of a process that was still running."""

from __future__ import annotations

import os
import time

import fakes
from desktop_testkit import WAIT_MS, recorder


def _told(monkeypatch) -> list[str]:
    from PySide6.QtWidgets import QMessageBox

    texts: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _parent, _title, text: texts.append(text))
    return texts


def test_a_lock_held_by_a_running_process_is_never_said_to_be_deletable(qtbot, tmp_path, monkeypatch, capsys):
    from PySide6.QtCore import QLockFile

    from desktop import app

    texts = _told(monkeypatch)
    data = tmp_path / "data"
    data.mkdir()
    first = QLockFile(str(data / app.LOCK_NAME))
    assert first.tryLock(0)  # held by a process that runs (this one: closing, or a window)
    try:
        assert app._lock_data_dir(str(data)) is False
    finally:
        first.unlock()
    (text,) = texts
    assert "still shutting down" in text and f"(process {os.getpid()})" in text
    assert "delete" not in text.lower()
    assert "still shutting down" in capsys.readouterr().err


def test_a_lock_that_cannot_be_written_is_not_another_window(qtbot, tmp_path, monkeypatch):
    """A full disk (the lock file cannot be written: Qt's UnknownError, as measured on a full tmpfs)
    said "Parlance is already open" and the app could not be opened at all."""
    import PySide6.QtCore as qtcore

    from desktop import app

    class FullDiskLock(qtcore.QLockFile):
        def tryLock(self, _timeout=0):  # noqa: N802 (Qt's name)
            return False

        def error(self):
            return qtcore.QLockFile.LockError.UnknownError

    texts = _told(monkeypatch)
    monkeypatch.setattr(qtcore, "QLockFile", FullDiskLock)
    data = tmp_path / "data"
    data.mkdir()
    assert app._lock_data_dir(str(data)) is None  # starts, without the lock
    assert texts == []


def test_the_lock_is_said_to_be_deletable_only_when_its_process_is_gone(monkeypatch, tmp_path):
    from desktop import app

    texts = _told(monkeypatch)
    lock = tmp_path / app.LOCK_NAME
    app.already_open(tmp_path, "", lock, pid=999_999_999, alive=False)
    app.already_open(tmp_path, "otherbox", lock, pid=42, alive=None)  # another computer: not known
    assert "has ended: delete" in texts[0] and str(lock) in texts[0]
    assert "If no Parlance is open on the computer otherbox, delete" in texts[1]
    assert app.pid_alive(os.getpid()) and not app.pid_alive(0)


def test_shutdown_shows_something_while_a_job_that_ignores_stop_finishes(qtbot, tmp_path):
    service = fakes.service(tmp_path / "data")
    ready = recorder(service.ready)
    service.start()
    qtbot.waitUntil(lambda: bool(ready.calls), timeout=WAIT_MS)
    started = recorder(service.job_started)
    service.submit("train", lambda: time.sleep(2.0), {})  # a step that never looks at cancel
    qtbot.waitUntil(lambda: bool(started.calls), timeout=WAIT_MS)
    shown: list = []

    def waiting():
        from desktop.app import finishing_window

        box = finishing_window()
        shown.append((box, box.isVisible(), time.monotonic()))

    t0 = time.monotonic()
    service.shutdown(waiting=waiting, grace_ms=300)
    assert len(shown) == 1  # after the short grace, not at once and not for every wait
    box, visible, at = shown[0]
    assert visible and "Finishing the running task" in box.text()
    assert 0.25 <= at - t0 < 1.5 and time.monotonic() - t0 >= 1.5  # it stayed up until the job ended
    box.close()


def test_a_quick_shutdown_shows_nothing(qtbot, tmp_path):
    service = fakes.service(tmp_path / "data")
    ready = recorder(service.ready)
    service.start()
    qtbot.waitUntil(lambda: bool(ready.calls), timeout=WAIT_MS)
    shown: list = []
    service.shutdown(waiting=lambda: shown.append(1))
    assert shown == []


def test_closing_the_app_with_a_job_that_ignores_stop_keeps_a_window_up(qtbot, tmp_path, monkeypatch):
    """app.run itself: the finishing window is shown while shutdown waits, and closed at the end."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop import app
    from desktop.main_window import MainWindow

    monkeypatch.setattr(app, "_setup_logging", lambda *_: None)  # pytest's log capture stays
    shown: list = []
    real = app.finishing_window

    def finishing():
        box = real()
        shown.append(box.isVisible())
        return box

    monkeypatch.setattr(app, "finishing_window", finishing)

    def kick() -> None:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        window.service.submit("train", lambda: time.sleep(3.0), {})

        def close() -> None:
            window._quit_confirmed = True
            window.close()

        QTimer.singleShot(500, close)

    QTimer.singleShot(1500, kick)
    QTimer.singleShot(60_000, QApplication.quit)  # a guard against a hang
    rc = app.run(
        ["--data-dir", str(tmp_path / "data"), "--theme", "light"],
        bot_loader=fakes.loader(),
        model_finder=fakes.finder("tiny-bot"),
        device_probe=fakes.probe,
    )
    assert rc == 0 and shown == [True]
    assert not (tmp_path / "data" / app.LOCK_NAME).exists()  # released once the job ended
