"""Work-arounds for defects in the Qt bindings, applied once at start-up by ``install()``.

PySide6 6.12.0: ``SignalInstance.emit`` returns ``True`` without taking a new reference, so every
``emit()`` made from Python drops one reference to ``True``; after a few thousand emits CPython
aborts with "bool_dealloc: deallocating True or False". (Streaming replies emit once per token,
pyqtgraph once per mouse move, so the app would crash within minutes.) ``install`` measures the
defect with a probe signal and, only where it is present, wraps ``emit`` to restore the reference,
so a fixed PySide6 is left alone.

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


def install() -> bool:
    """Patch ``SignalInstance.emit`` if (and only if) it leaks references; True if patched now."""
    from PySide6.QtCore import SignalInstance

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
