"""Where the app keeps its files: the data folder, the history database, shipped resources.

Nothing here is decided at import time; :func:`resolve_data_dir` is called once by ``app.run``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout / installed project root
RESOURCES = ROOT / "resources"
SHIPPED_MODELS = RESOURCES / "models"  # trained default models that ship with Parlance
DB_NAME = "history.db"


@dataclass(frozen=True)
class DataDir:
    path: Path  # the app-data folder (``--data-dir`` or QStandardPaths.AppDataLocation)
    writable: bool  # False: history is off for this session
    problem: str | None  # why it is not writable, in words a person can act on

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def user_models(self) -> Path:
        return self.path / "models"


def default_data_dir() -> Path:
    """The platform's per-user app-data folder (needs the application name set first)."""
    from PySide6.QtCore import QStandardPaths

    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(loc) if loc else Path.home() / ".parlance"


PRIVATE_DIR = 0o700  # the data folder holds chats: it was 0755, readable by every local user


def make_private(path: Path) -> None:
    """Tighten the app's own data folder to 0700 when it is looser and ours (POSIX only: on
    Windows chmod only sets the read-only flag, and the profile folder is private already)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):  # cannot be changed (a read-only mount …): left as it is
        st = path.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            path.chmod(PRIVATE_DIR)


def private_file(path: Path, create: bool = True) -> None:
    """Make the app's file at ``path`` readable by its owner only (0600): created so when missing
    (``create``), tightened when looser and ours. Settings and an older history.db were 0644."""
    with contextlib.suppress(OSError):  # cannot be made or changed: whoever writes it says why
        if create:
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        if os.name == "posix":
            st = path.stat()
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077:
                path.chmod(0o600)


def check_writable(path: Path) -> str | None:
    """None if ``path`` can be created and written to; otherwise a message saying why not.
    A folder it creates is private (0700); the parents it creates get the default mode."""
    try:
        if path.exists() and not path.is_dir():
            return f"The data folder {path} is a file, not a folder."
    except OSError as exc:  # a parent that cannot be entered (EACCES), a name too long: 3.11 raises
        return f"The data folder {path} cannot be used ({exc.strerror or exc})."
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    except OSError as exc:
        return f"The data folder {path} cannot be created ({exc.strerror or exc})."
    if not os.access(path, os.W_OK | os.X_OK):
        return f"The data folder {path} is not writable."
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        return f"The data folder {path} is not writable ({exc.strerror or exc})."
    return None


def resolve_data_dir(explicit: str | os.PathLike | None) -> DataDir:
    """The data folder to use. A ``--data-dir`` the person named keeps the mode they gave it;
    the default folder is made private (older versions created it 0755)."""
    path = Path(explicit).expanduser().resolve() if explicit else default_data_dir()
    problem = check_writable(path)
    if problem is None and not explicit:
        make_private(path)
    return DataDir(path=path, writable=problem is None, problem=problem)


def model_roots(data: DataDir | None) -> list[Path]:
    """Folders searched for chat models: the shipped ones first, then the user's own."""
    roots = [SHIPPED_MODELS]
    if data is not None:
        roots.append(data.user_models)
    return roots
