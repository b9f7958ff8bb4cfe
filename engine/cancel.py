"""A cancel token: set from any thread, checked by long work between steps; it can also pause it."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time

IDLE_EVERY_S = 0.05


class CancelToken:
    """Cooperative cancellation and pausing. ``cancel()`` / ``pause()`` / ``resume()`` from anywhere;
    workers poll ``cancelled`` and call ``wait_while_paused()`` between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._paused_at: float | None = None
        # seconds between pause() and resume()/cancel(), in all: counted once per pause, however
        # many workers (e.g. a forecaster's ensemble members on threads) waited through it
        self.paused_s = 0.0
        # called every IDLE_EVERY_S while paused, on ``idle_thread`` only (the app's engine thread
        # pumps its events: a paused job must not freeze the chat); None: just wait
        self.idle = None
        self.idle_thread: threading.Thread | None = None

    def _end_pause(self) -> None:
        """Count the pause that is ending and wake the workers (under the lock, so a pause() in
        between cannot be lost)."""
        with self._lock:
            if self._paused_at is not None:
                self.paused_s += time.monotonic() - self._paused_at
                self._paused_at = None
            self._running.set()

    def paused_total(self) -> float:
        """``paused_s`` plus the pause going on now, if any."""
        with self._lock:
            now = 0.0 if self._paused_at is None else time.monotonic() - self._paused_at
            return self.paused_s + now

    def cancel(self) -> None:
        self._event.set()
        self._end_pause()  # a paused worker wakes up to see it

    def reset(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def pause(self) -> None:
        with self._lock:
            if not self.cancelled and self._running.is_set():
                self._paused_at = time.monotonic()
                self._running.clear()

    def resume(self) -> None:
        self._end_pause()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused (returns at once otherwise, or when cancelled); the seconds waited."""
        if self._running.is_set():
            return 0.0
        t0 = time.monotonic()
        idle, owner = self.idle, self.idle_thread
        if idle is None:
            self._running.wait()
        else:  # the app's engine thread serves its other requests (a chat reply …) meanwhile
            while not self._running.wait(IDLE_EVERY_S):
                if threading.current_thread() is owner:
                    idle()
        return time.monotonic() - t0


def wait_if_paused(cancel) -> float:
    """Block while ``cancel`` is paused; the seconds waited. Any object works: one without pause
    support (only ``.cancelled``, or None) never waits."""
    if getattr(cancel, "paused", False):
        return cancel.wait_while_paused()
    return 0.0


@contextlib.contextmanager
def interrupt_cancels(what: str = "training"):
    """For a command-line run: the first Ctrl+C cancels ``token`` (the trainer then saves a
    resumable checkpoint at the current step and ends as "cancelled"); a second one stops at once.
    Yields the token. Outside the main thread (no signals there) it is an ordinary token."""
    token = CancelToken()
    if threading.current_thread() is not threading.main_thread():
        yield token
        return
    previous = signal.getsignal(signal.SIGINT)

    def first(_sig, _frame) -> None:
        token.cancel()
        print(
            f"\nstopping the {what} after this step (a checkpoint is saved); Ctrl+C again stops at once",
            file=sys.stderr,
        )
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, first)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)
