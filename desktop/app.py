"""Start Parlance: arguments, QApplication, theme and the main window first; models after.

The window is shown before torch or any model code is imported: the engine thread opens the
history, and a helper thread imports torch and loads the chat model while the window already
shows a "loading" state. ``parlance`` (the console script) calls :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.handlers
import os
import signal
import sys
from pathlib import Path

from engine.paths import pid_alive  # noqa: F401 (also this module's: tests and the lock)


def build_parser() -> argparse.ArgumentParser:
    from desktop.settings import PANELS

    p = argparse.ArgumentParser(
        prog="parlance",
        description="Parlance: an offline desktop assistant built on "
        "recurrent neural networks (chat, summarize, caption, forecast).",
    )
    p.add_argument(
        "--data-dir",
        type=_folder,
        help="folder for the history database and your models (default: the platform's app-data folder)",
    )
    p.add_argument(
        "--screenshot",
        metavar="PATH",
        help="render the window offscreen with a demo conversation, save it as a PNG and exit",
    )
    p.add_argument("--panel", choices=PANELS, help="panel to show first")
    p.add_argument("--device", type=_device, help="cpu, cuda, cuda:N or mps (default: the best available)")
    p.add_argument("--model", metavar="DIR", help="chat model folder to load")
    p.add_argument("--theme", choices=("system", "light", "dark"), help="theme for this session")
    p.add_argument("--size", type=_size, default="1440x900", help="window size for --screenshot (WxH)")
    return p


MIN_SIZE = (900, 560)  # the main window's minimum size (desktop.main_window)


def _size(text: str) -> str:
    """``WxH``: at least the window's minimum size, at most 10000 pixels a side."""
    width, _, height = text.lower().partition("x")
    (min_w, min_h) = MIN_SIZE
    if not (
        width.isdigit()
        and height.isdigit()
        and min_w <= int(width) <= 10_000
        and min_h <= int(height) <= 10_000
    ):
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, at least {min_w}x{min_h} and at most 10000 a side, e.g. 1440x900; "
            f"got {text!r}"
        )
    return f"{int(width)}x{int(height)}"


def _folder(text: str) -> str:
    """A folder name that is not blank (an unset shell variable must not mean "the default")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the folder name is empty")
    return text


def _device(text: str) -> str:
    """cpu, cuda, cuda:N, mps or auto; whether it is present is checked when models load."""
    import re

    value = text.strip().lower()
    if not re.fullmatch(r"auto|cpu|cuda(:\d{1,3})?|mps", value):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use cpu, cuda, cuda:N, mps or auto")
    return value


LOG_NAME = "parlance.log"
LOG_MAX_BYTES = 1_000_000  # then parlance.log.1 … .3: it grew without limit
LOG_BACKUPS = 3


class _PrivateLog(logging.handlers.RotatingFileHandler):
    """The log names files and folders: it was 0644, readable by every local user. Each file
    (a new one after a rollover too) is created 0600, and an older 0644 one is tightened."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if hasattr(os, "fchmod"):  # POSIX; on Windows the mode is only the read-only flag
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def _setup_logging(folder: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if folder is not None:
        with contextlib.suppress(OSError):
            handlers.append(
                _PrivateLog(
                    folder / LOG_NAME, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
                )
            )
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def create(args: argparse.Namespace, **service_kwargs):
    """Build the settings, engine service and main window for ``args`` (a QApplication must exist).

    ``service_kwargs`` go to EngineService (tests pass a scripted ``bot_loader`` and friends).
    Returns (window, service); the service is not started yet.
    """
    from PySide6.QtGui import QGuiApplication

    from desktop import qt_fixes, theme
    from desktop.engine_service import EngineService
    from desktop.main_window import MainWindow
    from desktop.paths import resolve_data_dir
    from desktop.settings import AppSettings

    qt_fixes.install()
    data = resolve_data_dir(args.data_dir)
    ini = data.path / "settings.ini" if args.data_dir else None
    _private_files(data, ini)
    settings = AppSettings(ini)
    theme.apply(QGuiApplication.instance(), args.theme or settings.theme, settings.font_pt)
    extra = [Path(args.model)] if args.model else []
    service_kwargs.setdefault(
        "preferred_model", str(Path(args.model).resolve()) if args.model else settings.chat_model
    )
    service = EngineService(
        data, device=args.device, force_cpu=settings.force_cpu, extra_roots=extra, **service_kwargs
    )
    window = MainWindow(service, settings, str(data.path), args.panel)
    if args.theme:
        window.session_theme = args.theme
    return window, service


def _private_files(data, ini: Path | None) -> None:
    """Settings and history were 0644, readable by every local user where the folder is not
    private (a --data-dir the person chose, an older version's files); QSettings keeps the mode
    of the file it rewrites, and SQLite gives -wal/-shm the database's."""
    from PySide6.QtCore import QSettings

    from desktop.paths import private_file

    if data.writable:
        private_file(data.db_path, create=False)  # the engine creates a new one 0600
    if ini is None:
        ini = Path(QSettings().fileName())  # ~/.config/Parlance/Parlance.conf on Linux
        if not ini.is_absolute() or ini.suffix not in (".conf", ".ini"):
            return  # the Windows registry, a macOS plist: not a file of ours
        with contextlib.suppress(OSError):
            ini.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_file(ini)


def _follow_system_theme(app, window) -> None:
    from desktop import theme

    def changed(*_args) -> None:
        if getattr(window, "session_theme", None) is None and window.settings.theme == "system":
            theme.apply(app, "system", window.settings.font_pt)
            window.restyle()

    app.styleHints().colorSchemeChanged.connect(changed)


def _lock_data_dir(explicit: str | None):
    """One window per data folder: a second one would resume a training run the first is running
    and wait on the history's lock. Returns the held QLockFile (None when the folder cannot be
    written, where nothing is saved anyway), or False after telling the person the app is open.
    A lock left by a crash is taken over: Qt sees that its process is gone."""
    from PySide6.QtCore import QLockFile, QSysInfo

    from desktop.paths import resolve_data_dir

    data = resolve_data_dir(explicit)
    if not data.writable:
        return None
    path = data.path / LOCK_NAME
    lock = QLockFile(str(path))
    lock.setStaleLockTime(0)  # never stale by age: a long session is not a dead one
    if lock.tryLock(300):
        return lock
    if lock.error() != QLockFile.LockError.LockFailedError:
        # not another window: the lock file could not be written (a full disk, a folder turned
        # read-only). It said "Parlance is already open" and the app could not be opened at all.
        logging.getLogger("parlance.desktop").warning(
            "the data folder %s cannot be locked (%s); starting without its lock", data.path, lock.error()
        )
        return None
    pid, host, _app = lock.getLockInfo()
    if not pid and lock.removeStaleLockFile() and lock.tryLock(300):
        return lock  # an empty or unreadable lock (power lost while it was written) holds nobody
    here = QSysInfo.machineHostName()
    other = host if host and host != here else ""
    alive = None if other or not pid else pid_alive(pid)  # another computer's process: not known
    already_open(data.path, other, path, pid, alive)
    return False


LOCK_NAME = "parlance.lock"  # in the data folder, while a window uses it


def already_open(
    folder: Path, host: str = "", lock: Path | None = None, pid: int = 0, alive: bool | None = None
) -> None:
    """Say why this window does not open. ``alive``: whether the lock's process ``pid`` runs (None:
    not known, e.g. on another computer). A running one may be a window, or a closed window still
    finishing its work: deleting its lock was advised all the same, which meant two instances."""
    from PySide6.QtWidgets import QMessageBox

    where = f" on the computer {host}" if host else ""
    if alive:
        text = (
            f"Parlance is still open or still shutting down with the data folder {folder} (process {pid})."
            "\n\nSwitch to that window. If you just closed it, it is finishing its work: wait a moment "
            "and start Parlance again. Or start Parlance with --data-dir to use another folder."
        )
    else:
        advice = ""
        if lock and alive is False:
            advice = f" Process {pid}, which held the folder, has ended: delete {lock} and start again."
        elif lock:
            advice = f" If no Parlance is open{where}, delete {lock} and start again."
        text = (
            f"Parlance is already open with the data folder {folder}{where}.\n\nSwitch to that window, "
            "or start Parlance with --data-dir to use another folder." + advice
        )
    print(f"parlance: {text.splitlines()[0]}", file=sys.stderr)
    QMessageBox.information(None, "Parlance is already open", text)


QUIT_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl+C, kill, the terminal closed


def _close_for_signal(window, app) -> None:
    """Close as "Quit and stop" does: save the window's state and stop the work without asking
    (nobody is there to answer). A second signal while closing quits the event loop."""
    if getattr(window, "_signal_closing", False) or not window.isVisible():
        app.quit()
        return
    window._signal_closing = True
    box = getattr(window, "_quit_box", None)
    if box is not None:
        box.reject()  # a "Quit Parlance?" question already open
    window._quit_confirmed = True
    window.close()
    if window.isVisible():  # something still holds it open: end the event loop anyway
        app.quit()


@contextlib.contextmanager
def _quit_on_signals(window, app):
    """Ctrl+C was ignored (Qt's event loop never let Python run its SIGINT handler) and SIGTERM
    killed the app without saving the window state. The C handler writes to a socket that Qt
    watches, so Python runs the handler, which schedules a normal close. Signals the app was
    started with ignored (nohup, a background job) stay ignored."""
    import socket

    from PySide6.QtCore import QSocketNotifier, QTimer

    previous: dict[int, object] = {}

    def handler(_signum, _frame) -> None:
        QTimer.singleShot(0, lambda: _close_for_signal(window, app))

    try:
        reader, writer = socket.socketpair()
    except OSError:  # no sockets: leave the signals as they are
        yield
        return
    try:
        reader.setblocking(False)
        writer.setblocking(False)
        old_fd = signal.set_wakeup_fd(writer.fileno())
    except (OSError, ValueError):  # not the main thread: leave the signals as they are
        reader.close()
        writer.close()
        yield
        return
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda *_: _drain(reader))  # Python code runs: the handler is called
    try:
        for name in QUIT_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(old_fd)
        notifier.setEnabled(False)
        reader.close()
        writer.close()


def _drain(sock) -> None:
    with contextlib.suppress(OSError):
        while sock.recv(64):
            pass


def run(argv: list[str] | None = None, **service_kwargs) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Parlance")
    app.setApplicationName("Parlance")
    app.setApplicationDisplayName("Parlance")
    if args.screenshot:
        from desktop import screenshot

        return screenshot.run(app, args, **service_kwargs)
    lock = _lock_data_dir(args.data_dir)
    if lock is False:
        return 1
    window, service = create(args, **service_kwargs)
    _setup_logging(service.data.path if service.data and service.data.writable else None)
    from desktop import theme

    app.setWindowIcon(theme.icon("logo", theme.current_colors()["accent"], 64))
    _follow_system_theme(app, window)
    window.show()
    probe_mode = os.environ.get("PARLANCE_STARTUP_PROBE")
    if probe_mode:
        from desktop.startup_probe import StartupProbe

        StartupProbe(window, service, app, probe_mode)
    QTimer.singleShot(0, service.start)
    try:
        with _quit_on_signals(window, app):
            return app.exec()
    finally:
        window.save_state()
        finishing: list = []
        service.shutdown(waiting=lambda: finishing.append(finishing_window()))
        for box in finishing:
            box.close()
        if lock:
            lock.unlock()


def finishing_window():
    """A small window shown while a closed Parlance waits for a job in a step that does not see
    "stop" (a validation pass, a model load): the process used to live on with no window at all,
    holding the data folder's lock, so a new start said it was open. Returns it, shown."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLabel

    label = QLabel("Finishing the running task… Parlance closes when it is done.")
    label.setObjectName("FinishingWindow")
    label.setWindowTitle("Parlance is closing")
    label.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setMargin(24)
    label.show()
    label.raise_()
    QApplication.processEvents()
    return label


def main() -> None:
    sys.exit(run())
