"""Where the app keeps its files: the data folder, the history database, shipped resources.

Nothing here is decided at import time; :func:`resolve_data_dir` is called once by ``app.run``.
"""

from __future__ import annotations

import os
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


def check_writable(path: Path) -> str | None:
    """None if ``path`` can be created and written to; otherwise a message saying why not."""
    if path.exists() and not path.is_dir():
        return f"The data folder {path} is a file, not a folder."
    try:
        path.mkdir(parents=True, exist_ok=True)
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
    path = Path(explicit).expanduser().resolve() if explicit else default_data_dir()
    problem = check_writable(path)
    return DataDir(path=path, writable=problem is None, problem=problem)


def model_roots(data: DataDir | None) -> list[Path]:
    """Folders searched for chat models: the shipped ones first, then the user's own."""
    roots = [SHIPPED_MODELS]
    if data is not None:
        roots.append(data.user_models)
    return roots
