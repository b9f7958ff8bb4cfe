"""Parlance desktop: the only package that imports Qt and pyqtgraph.

Importing it applies the Qt-binding work-arounds in :mod:`desktop.qt_fixes` (PySide6 6.12.0 loses
a reference to ``True`` on every ``Signal.emit`` and would abort the app after a few thousand
emits) and the import guard of :mod:`desktop.gc_guard` (no garbage collection while torch is being
imported, on whatever thread: a collection then crashed the process), so every widget and test
that uses this package is protected. The engine service also keeps cyclic garbage collection on
the GUI thread while its threads run (see gc_guard).
"""

from desktop import gc_guard as _gc_guard
from desktop import qt_fixes as _qt_fixes

_gc_guard.guard_imports()
_qt_fixes.install()
