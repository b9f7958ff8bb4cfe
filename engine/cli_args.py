"""argparse types shared by the command-line tools: a bad number is an ordinary usage error, not a
traceback from deep inside torch (``--threads -1``) or a run that reports every item cancelled
(``--batch-size 0``)."""

from __future__ import annotations

import argparse


def count(text: str) -> int:
    """An integer >= 0 (0 usually means "the default", e.g. torch's thread count)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def positive(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def folder(text: str) -> str:
    """A folder to write into: it may not exist yet, but it may not be a file."""
    from pathlib import Path

    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; give a folder (it is created if missing)")
    return text


def positive_number(text: str) -> float:
    """A finite number > 0 (``--every 0`` would sample every frame; ``nan`` compares false)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def boolean(text: str) -> bool:
    """true/false, yes/no, on/off, 1/0; anything else is a usage error (a typo was False)."""
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def new_file(text: str) -> str:
    """A file to write at the end of a long run: its folder must exist now, and it is not a folder
    (found out before the work, not after it)."""
    from pathlib import Path

    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {path.parent} does not exist")
    return text


def json_safe(obj):
    """A JSON-safe copy: numpy arrays and numbers become lists and plain numbers, NaN and
    infinities (a diverged run's perplexity, an undefined score) become None."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def json_text(obj, **kwargs) -> str:
    """``json.dumps`` for a command's ``--json`` output, through :func:`json_safe` (null where a
    number is not finite, which every JSON reader accepts)."""
    import json

    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def db_file(text: str) -> str:
    """A history database file named on the command line: not blank, not SQLite's ``:memory:``
    (what was "saved" there vanished at exit), not a folder."""
    from pathlib import Path

    if not text.strip():
        raise argparse.ArgumentTypeError("the database file name is empty")
    if text.strip() == ":memory:":
        raise argparse.ArgumentTypeError(":memory: keeps nothing; give a file")
    try:
        folder = Path(text).is_dir()
    except OSError as exc:  # a parent that cannot be entered, a name too long (Python 3.11 raises)
        raise argparse.ArgumentTypeError(f"{text} cannot be used ({exc.strerror or exc})") from None
    if folder:
        raise argparse.ArgumentTypeError(f"{text} is a folder; give the database file")
    return text
