"""The data folder, history, log and settings are the user's alone; Ctrl+C and SIGTERM close the
window the normal way (bug hunt: all were readable by every local user; Ctrl+C did nothing and
SIGTERM killed the app without saving its state)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from desktop_testkit import WAIT_MS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual default, under which the files came out 0644
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@posix
def test_a_new_data_folder_and_its_history_are_private(umask_022, tmp_path):
    from desktop.paths import resolve_data_dir
    from engine.history import HistoryStore

    data = resolve_data_dir(tmp_path / "new" / "data")
    assert data.writable and mode(data.path) == 0o700
    with HistoryStore(data.db_path) as store:
        store.create_conversation("secret")
        files = [data.db_path, Path(f"{data.db_path}-wal"), Path(f"{data.db_path}-shm")]
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


@posix
def test_the_default_folder_is_tightened_a_named_one_is_left(umask_022, tmp_path, monkeypatch):
    from desktop import paths

    default = tmp_path / "default"
    default.mkdir(mode=0o755)
    monkeypatch.setattr(paths, "default_data_dir", lambda: default)
    assert paths.resolve_data_dir(None).path == default and mode(default) == 0o700
    named = tmp_path / "shared"
    named.mkdir(mode=0o755)
    assert paths.resolve_data_dir(named).writable and mode(named) == 0o755  # the person's choice


@posix
def test_the_history_cli_creates_a_private_database(umask_022, tmp_path):
    from engine.history import HistoryStore

    with HistoryStore(tmp_path / "cli.db", named_by_user=True):
        pass
    assert mode(tmp_path / "cli.db") == 0o600


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:], root.level = saved  # basicConfig(force=True) replaced pytest's handlers


@posix
def test_the_log_is_private_and_rotates(umask_022, tmp_path, restore_logging):
    from desktop import app

    old = tmp_path / "parlance.log"
    old.write_text("from an older version\n")
    old.chmod(0o644)
    app._setup_logging(tmp_path)
    handler = [h for h in logging.getLogger().handlers if isinstance(h, app._PrivateLog)][0]
    assert (handler.maxBytes, handler.backupCount) == (1_000_000, 3)
    assert mode(old) == 0o600

    small = app._PrivateLog(tmp_path / "small.log", maxBytes=200, backupCount=2, encoding="utf-8")
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "x" * 150, None, None)
    for _ in range(6):
        small.emit(record)
    small.close()
    logs = sorted(p.name for p in tmp_path.glob("small.log*"))
    assert logs == ["small.log", "small.log.1", "small.log.2"]  # at most 2 kept besides the live one
    assert all(mode(tmp_path / name) == 0o600 for name in logs)


@posix
def test_settings_and_an_older_history_in_a_named_folder_become_private(umask_022, start_app, tmp_path):
    data = tmp_path / "named"
    data.mkdir(mode=0o755)
    (data / "history.db").touch(mode=0o644)  # empty: a new history, as an older version left it
    (data / "history.db").chmod(0o644)
    run = start_app(data_dir=data)
    run.window.settings.sync()
    assert (data / "settings.ini").stat().st_size > 0
    assert {p.name: mode(p) for p in (data / "settings.ini", data / "history.db")} == {
        "settings.ini": 0o600,
        "history.db": 0o600,
    }
    assert mode(data) == 0o755


def test_the_cli_help_names_the_apps_database_where_qt_puts_it(tmp_path, capsys):
    """``history --help`` says where the app's history is; the engine computes it without Qt,
    the app asks Qt: both agree (with XDG_DATA_HOME absolute, relative and unset)."""
    code = (
        "from PySide6.QtCore import QCoreApplication, QStandardPaths as S\n"
        "from engine.paths import app_data_dir\n"
        "app = QCoreApplication([])\n"
        "app.setOrganizationName('Parlance'); app.setApplicationName('Parlance')\n"
        "print(S.writableLocation(S.StandardLocation.AppDataLocation)); print(app_data_dir())\n"
    )
    for xdg in (str(tmp_path / "xdg"), "relative/xdg", None):
        env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
        env["HOME"] = str(tmp_path / "home")
        if xdg is not None:
            env["XDG_DATA_HOME"] = xdg
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr[-2000:]
        qt, ours = out.stdout.splitlines()
        assert Path(qt) == Path(ours), xdg
    from engine.cli import main
    from engine.paths import app_data_dir

    with pytest.raises(SystemExit):
        main(["history", "--help"])
    assert str(app_data_dir() / "history.db") in " ".join(capsys.readouterr().out.split())


DRIVER = r"""
import sys
sys.path[:0] = [sys.argv[2], sys.argv[3]]
import fakes
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop import app as parlance

qapp = QApplication(sys.argv[:1])
QTimer.singleShot(0, lambda: print("READY", flush=True))  # the event loop runs: handlers are set
sys.exit(parlance.run(
    ["--data-dir", sys.argv[1], "--theme", "light"],
    bot_loader=fakes.loader(), model_finder=fakes.finder("tiny-bot"), device_probe=fakes.probe,
))
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_closes_the_window_the_normal_way(tmp_path, sig):
    data = tmp_path / "data"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(data), str(ROOT), str(HERE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stdout.readline().strip() == "READY"
            assert (data / "parlance.lock").exists()
            time.sleep(0.3)
            sent = time.monotonic()
            proc.send_signal(getattr(signal, sig))
            rc = proc.wait(timeout=20)
            output = proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert rc == 0 and time.monotonic() - sent < 10, output
    assert not (data / "parlance.lock").exists()  # a normal close: the lock was let go
    assert not (data / "history.db-wal").exists()
    assert "geometry" in (data / "settings.ini").read_text()  # the window's state was saved
    assert "Traceback" not in output, output


def test_a_signal_while_work_runs_quits_without_asking(qtbot, start_app):
    """Closing asks first while work runs; a signal has nobody to answer: it quits and stops
    the work as "Quit and stop" does, closing a question already open."""
    from PySide6.QtWidgets import QApplication

    from desktop import app

    run = start_app()
    release = threading.Event()
    job = run.service.submit("train", lambda cancel: release.wait(30) and None, {})
    qtbot.waitUntil(lambda: run.service.running_jobs() == ["train"], timeout=WAIT_MS)
    try:
        run.window.close()  # the person asked to close: the question is open
        assert run.window._quit_box is not None
        app._close_for_signal(run.window, QApplication.instance())
        qtbot.waitUntil(lambda: not run.window.isVisible(), timeout=WAIT_MS)
        assert run.window._quit_confirmed and run.window._quit_box is None
    finally:
        release.set()
        run.service.cancel(job)
