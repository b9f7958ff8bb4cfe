"""Cyclic garbage collection on the GUI thread only, and never while torch is being imported.

Qt objects must be destroyed on the thread they live on, but CPython's cyclic collector runs on
whichever thread happens to cross an allocation threshold. Parlance runs engine work on other
threads (the engine thread, the model loader), and both hazards were seen here (CPython 3.11.7,
PySide6 6.12.0, torch 2.13.0 CPU, a loaded 2-core machine), in the forecast panel's tests:

- the engine thread, allocating heavily while importing ``torch._dynamo`` for its first optimiser,
  collected reference cycles holding widgets of the GUI thread: Qt warned "QBasicTimer::start:
  Timers cannot be started from another thread" and the window stalled for 0.3-0.5 s at a time;
- the GUI thread collected while the engine thread was inside the initialisation of ``torch._C``:
  the process died with a segmentation fault in the collector (1 run in 3 under load; once in CI).

So, while the window exists (``install``/``uninstall``, counted):

1. automatic collection is off, and a timer on the GUI thread collects with the same generation
   thresholds CPython uses (checked every ``INTERVAL_MS``; the youngest generation is also collected
   every ``YOUNG_EVERY`` checks, since a burst of allocations freed again before a check leaves the
   counters low), so cycles are only ever finalised there. CPython also holds back full collections
   while a large structure is being built (its "long-lived pending" rule, not exposed to Python);
   here a due full collection waits until the last one's duration is at most ``FULL_SHARE`` of the
   time since it began, so loading a million rows does not stall the window in repeated full passes;
2. a finder in front of ``sys.meta_path`` wraps the loader of the top-level ``torch`` package:
   while it executes, the timer skips its collections (and, where automatic collection is still on,
   it is paused). Same spec, same module; once imported, the finder is not consulted for it again.
"""

from __future__ import annotations

import gc
import importlib.abc
import sys
import threading
import time
from contextlib import contextmanager

from PySide6.QtCore import QObject, QTimer

GUARDED = ("torch",)  # top-level packages imported with collection held off
INTERVAL_MS = 50  # how often the GUI thread checks the collector's counters
YOUNG_EVERY = 10  # and every this many checks it collects the youngest generation anyway
FULL_SHARE = 0.02  # full collections may take at most this share of the time since the last one

_lock = threading.Lock()
_importing = 0  # guarded imports in progress
_restore = True  # whether automatic collection was on when the first of them started
_collector = None  # the installed _Collector
_installs = 0  # install() calls not yet undone


@contextmanager
def _held_off():
    """No collection inside: automatic collection paused, the GUI-thread timer told to skip."""
    global _importing, _restore
    with _lock:
        if _importing == 0:
            _restore = gc.isenabled()
            gc.disable()
        _importing += 1
    try:
        yield
    finally:
        with _lock:
            _importing -= 1
            if _importing == 0 and _restore:
                gc.enable()


class _HeldOffLoader(importlib.abc.Loader):
    """Delegates to the real loader; no garbage collection while the module is created and run."""

    def __init__(self, loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str):  # get_resource_reader, is_package, get_code …
        return getattr(self._loader, name)

    def create_module(self, spec):
        with _held_off():
            return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with _held_off():
            self._loader.exec_module(module)


class ImportGuard(importlib.abc.MetaPathFinder):
    """Finds the guarded packages through the rest of ``sys.meta_path`` and wraps their loader."""

    def __init__(self, names=GUARDED) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names or fullname in sys.modules:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, ImportGuard) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and not isinstance(spec.loader, _HeldOffLoader):
                    spec.loader = _HeldOffLoader(spec.loader)
                return spec
        return None


def guard_imports() -> None:
    """Put the import guard for :data:`GUARDED` first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, ImportGuard) for f in sys.meta_path):
        sys.meta_path.insert(0, ImportGuard(GUARDED))


def due_generation(counts, thresholds) -> int | None:
    """The generation CPython's automatic collection would collect now (None: nothing due)."""
    if thresholds[0] <= 0 or counts[0] <= thresholds[0]:
        return None
    if counts[1] > thresholds[1]:
        return 2 if counts[2] > thresholds[2] else 1
    return 0


class _Collector(QObject):
    """Collects on the thread of its parent (the application) from a timer; see the module docstring."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.collections = 0
        self.ticks = 0
        self.next_full = 0.0  # monotonic time before which a due full collection waits
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        if _importing:
            return
        self.ticks += 1
        counts = gc.get_count()
        gen = due_generation(counts, gc.get_threshold())
        if gen is None and counts[0] > 0 and self.ticks % YOUNG_EVERY == 0:
            gen = 0  # the counters are net of frees: a burst that was freed again left no trace
        if gen == 2 and time.monotonic() < self.next_full:
            gen = 1
        if gen is not None:
            started = time.monotonic()
            gc.collect(gen)
            self.collections += 1
            if gen == 2:
                self.next_full = started + (time.monotonic() - started) / FULL_SHARE


def install(app) -> None:
    """Collect on ``app``'s (the GUI) thread only, until the matching ``uninstall``. Call on the GUI
    thread with the QApplication running or about to run."""
    global _collector, _installs
    if app is None:  # no event loop to run the timer: leave automatic collection alone
        return
    _installs += 1
    if _collector is None:
        _collector = _Collector(app)
        gc.disable()


def uninstall() -> None:
    """Undo one ``install``; the last one collects once (on this, the GUI thread) and turns
    automatic collection back on."""
    global _collector, _installs, _restore
    if _installs == 0:
        return
    _installs -= 1
    if _installs == 0 and _collector is not None:
        _collector.timer.stop()
        _collector.setParent(None)
        _collector = None
        gc.collect()
        with _lock:
            if _importing:  # a guarded import (on another thread) turns it back on when it ends
                _restore = True
            else:
                gc.enable()


def collector():
    """The installed GUI-thread collector, or None."""
    return _collector
