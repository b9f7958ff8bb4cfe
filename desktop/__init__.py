"""Parlance desktop: the only package that imports Qt and pyqtgraph.

Importing it applies the Qt-binding work-arounds in :mod:`desktop.qt_fixes` (PySide6 6.12.0 loses
a reference to ``True`` on every ``Signal.emit`` and would abort the app after a few thousand
emits), so every widget and test that uses this package is protected.
"""

from desktop import qt_fixes as _qt_fixes

_qt_fixes.install()
