"""A cancel token: set from any thread, checked by long work between steps."""

from __future__ import annotations

import threading


class CancelToken:
    """Cooperative cancellation. ``cancel()`` from anywhere; workers poll ``cancelled``."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def reset(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
