"""The Qt-binding work-arounds (desktop/qt_fixes.py): a long session must not abort because the
bindings drop references to None (void Qt calls) or True (``emit``). Run in a child process: on an
affected binding without the fixes, the interpreter aborts ("none_dealloc", "bool_dealloc")."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SESSION = textwrap.dedent(
    """
    import gc, sys
    from PySide6.QtWidgets import QApplication, QLabel, QListWidgetItem
    from PySide6.QtCore import QObject, Signal, Qt
    app = QApplication([])
    import desktop  # applies the fixes, as the app does at start-up
    from desktop import qt_fixes

    class P(QObject):
        ping = Signal()

    label, item, p = QLabel(), QListWidgetItem("x"), P()
    for i in range(60_000):  # far more than None's or True's count on a fresh 3.11 interpreter
        label.setText("a")
        item.setData(Qt.UserRole, i)
        p.ping.emit()
    gc.collect()
    print("lost per probe:", qt_fixes.lost_none_refs(), "refs to None:", sys.getrefcount(None))
    """
)


def test_a_long_session_of_qt_calls_does_not_abort_the_interpreter():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", SESSION], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lost per probe:" in done.stdout


def test_none_is_guarded_only_where_the_binding_leaks_it():
    from desktop import qt_fixes

    qt_fixes.install()
    leaks = qt_fixes.lost_none_refs() >= qt_fixes.PROBES // 2
    if leaks and sys.version_info < (3, 12):
        assert sys.getrefcount(None) > qt_fixes.NONE_RESERVE // 2
    else:  # a sound binding (or an immortal None) is left alone
        assert not qt_fixes._none_guarded
