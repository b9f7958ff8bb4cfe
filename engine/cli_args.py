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
