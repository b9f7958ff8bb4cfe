"""Where the shipped resources are. The engine never decides where USER files live; it can
say where the desktop app keeps them (:func:`app_data_dir`), for help texts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def default_model(name: str) -> Path:
    """The shipped model folder ``resources/models/<name>``."""
    return RESOURCES / "models" / name


APP_NAMES = ("Parlance", "Parlance")  # organization and application name (desktop/app.py sets both)


def app_data_dir() -> Path:
    """The desktop app's default data folder, computed as Qt's QStandardPaths.AppDataLocation
    does (desktop/paths.py asks Qt itself; tests check that both agree) without importing Qt."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base.joinpath(*APP_NAMES)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this computer (one of another user counts as running). The
    app's lock, the history's move-aside check and --screenshot's temporary folders ask this."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would end the process there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        try:
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return False
    return True
