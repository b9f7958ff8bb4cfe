"""Helpers of the engine service's generic job API: the error message, argument matching and
the model cache a job can ask for. No Qt here."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

JOB_ARGS = ("progress", "cancel", "store", "device", "cache")  # keyword arguments a job may declare


def human_message(exc: BaseException) -> str:
    """What a person reads for an exception: the message for expected errors, a hint otherwise."""
    full = disk_full(exc)
    if full:
        return full
    if isinstance(exc, (ValueError, LookupError, TimeoutError, FileNotFoundError, PermissionError)):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    if isinstance(exc, MemoryError):
        return "Out of memory. Try a smaller input, a shorter reply length, or close other programs."
    return f"Unexpected error ({type(exc).__name__}: {exc}). {log_hint()}"


def disk_full(exc: BaseException) -> str | None:
    """A full disk in words (OSError ENOSPC, SQLite's "database or disk is full"), else None: it
    read "Unexpected error (OperationalError: database or disk is full)"."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        if "disk is full" in what.lower():  # a message written for it already (training's)
            return what[:1].upper() + what[1:]
    elif isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    ):
        what = f"the history database: {exc}"
    else:
        return None
    return f"The disk is full ({what}). Free some space, then try again."


def log_hint() -> str:
    """Where to read the details of an unexpected error: the log file when one is being written
    (none for a read-only data folder, with history off, or when it could not be opened)."""
    import logging

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):  # the app's parlance.log (a rotating one)
            return f"The details were written to the log {handler.baseFilename}."
    return "Run Parlance from a terminal to see the details."


def accepted_kwargs(fn: Callable) -> set[str] | None:
    """Keyword names ``fn`` declares; None if it takes ``**kwargs`` (then it gets everything)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


class ModelCache:
    """Models that panels' jobs load, kept for the session. Engine thread only."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._items: dict[str, tuple[Any, str]] = {}
        self._on_change = on_change

    def get(self, key: str, loader: Callable[[], Any], label: str | None = None) -> Any:
        """The model stored under ``key``, calling ``loader()`` the first time."""
        if key not in self._items:
            self._items[key] = (loader(), label or key)
            self._on_change()
        return self._items[key][0]

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def drop(self, key: str) -> None:
        if self._items.pop(key, None) is not None:
            self._on_change()

    def clear(self) -> None:
        self._items.clear()
        self._on_change()

    def labels(self) -> list[str]:
        return [label for _, label in self._items.values()]
