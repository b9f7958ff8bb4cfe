"""Helpers of the engine service's generic job API: the error message, argument matching and
the model cache a job can ask for. No Qt here."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

JOB_ARGS = ("progress", "cancel", "store", "device", "cache")  # keyword arguments a job may declare


def human_message(exc: BaseException) -> str:
    """What a person reads for an exception: the message for expected errors, a hint otherwise."""
    if isinstance(exc, (ValueError, LookupError, TimeoutError, FileNotFoundError, PermissionError)):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    if isinstance(exc, MemoryError):
        return "Out of memory. Try a smaller input, a shorter reply length, or close other programs."
    return f"Unexpected error ({type(exc).__name__}: {exc}). The details were written to the log."


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
