"""Work-arounds for defects in the Qt bindings, applied once at start-up by ``install()``.

PySide6 6.12.0: ``SignalInstance.emit`` returns ``True`` without taking a new reference, so every
``emit()`` made from Python drops one reference to ``True``; after a few thousand emits CPython
aborts with "bool_dealloc: deallocating True or False". (Streaming replies emit once per token,
pyqtgraph once per mouse move, so the app would crash within minutes.) ``install`` measures the
defect with a probe signal and, only where it is present, wraps ``emit`` to restore the reference,
so a fixed PySide6 is left alone.

Also in 6.12.0: every Python call of a Qt method that returns nothing (``setText``, ``setData``,
``resize``…) drops one reference to ``None``. On Python 3.11 and older ``None`` is an ordinary
object, so after some tens of thousands of such calls CPython aborts with "none_dealloc:
deallocating None" (the conversation list made ~2,600 calls per message with 300 chats; found by a
bug hunt). ``install`` measures this with a probe too and, where it is present on a Python whose
``None`` is not immortal (< 3.12), gives ``None`` a reference count no session can use up — what
Python 3.12 does for every interpreter. pyproject.toml excludes 6.12.0; this covers an install that
already has it.

Also observed in 6.12.0 and avoided by convention rather than patched: ``Signal(dict)`` and
``Signal(list)`` convert through QVariant and drop a reference to every ``None`` inside. Parlance
declares structured signal arguments as ``object`` (passed through untouched) everywhere.
"""

from __future__ import annotations

import ctypes
import sys

PROBES = 16  # emits used to measure the defect


def _lost_true_refs() -> int:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.ping.emit()
    return before - sys.getrefcount(True)


def lost_none_refs() -> int:
    """References to ``None`` lost by ``PROBES`` calls of a Qt method that returns nothing."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBES):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None)


NONE_RESERVE = 1 << 48  # references added to None: ~9,000 years at a million lost per second


def _guard_none() -> bool:
    """Where void Qt calls leak ``None`` and ``None`` is mortal, make it practically immortal."""
    global _none_guarded
    if _none_guarded or sys.version_info >= (3, 12) or lost_none_refs() < PROBES // 2:
        return False
    refcnt = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt, the first field of every object
    refcnt.value += NONE_RESERVE
    _none_guarded = True
    return True


_none_guarded = False


def install() -> bool:
    """Patch ``SignalInstance.emit`` if (and only if) it leaks references, and guard ``None`` against
    the void-call leak (see the module docstring); True if ``emit`` was patched now."""
    from PySide6.QtCore import SignalInstance

    _guard_none()
    if getattr(SignalInstance.emit, "_parlance_fixed", False):
        return False
    lost = _lost_true_refs()
    if lost <= 0:
        return False
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None
    for _ in range(lost):  # give back what the probe itself took
        incref(True)
    original = SignalInstance.emit

    def emit(self, *args):
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    emit._parlance_fixed = True
    SignalInstance.emit = emit
    return True
