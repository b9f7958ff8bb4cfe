"""Non-modal notices: small cards stacked over the bottom of the window, with an optional action.

The one place errors and confirmations reach the user besides the status bar ("Conversation
deleted — Undo", "Could not load the model: …"). Notices never block and never steal focus.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6 import QtGui
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from desktop import theme

LEVEL_ICONS = {"info": ("info", "accent"), "warning": ("alert", "warn"), "error": ("alert", "danger")}


def plain_tip(text: str) -> str:
    """``text`` as a tooltip that shows it as written: Qt draws a tooltip that looks like HTML as
    HTML, so such a one is escaped (and wrapped in a paragraph that keeps its spaces)."""
    if not QtGui.Qt.mightBeRichText(text):
        return text
    return f"<p style='white-space:pre-wrap'>{html.escape(text, quote=False)}</p>"


class MessageBanner(QFrame):
    """A message for a person ("warning" or "info") under a panel's header, with a close button;
    hidden until shown. The Summarize, Caption and Forecast panels each have one."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 8, 8, 8)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # AutoText drew a file name's <b> as HTML
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        close = QToolButton()
        close.setToolTip("Dismiss")
        theme.set_icon(close, "close", "muted", 14)
        close.clicked.connect(self.hide)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, level: str = "warning") -> None:
        self.setProperty("level", level)
        self.label.setText(text)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()


class Notice(QFrame):
    def __init__(
        self,
        text: str,
        level: str,
        action: tuple[str, Callable[[], None]] | None,
        timeout_ms: int,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Notice")
        self.setProperty("level", level)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 6, 8)
        row.setSpacing(10)
        icon_name, color = LEVEL_ICONS.get(level, LEVEL_ICONS["info"])
        icon = QLabel()
        theme.set_icon(icon, icon_name, color, 18)  # theme.retint redraws it
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(text)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # titles and names in it are text, not HTML
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setMinimumWidth(260)
        row.addWidget(self.label, 1)
        if action is not None:
            button = QPushButton(action[0])
            button.setObjectName("PrimaryButton")
            button.clicked.connect(lambda: (action[1](), self.dismiss()))
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.action_button = button
        close = QToolButton()
        close.setToolTip("Dismiss")
        theme.set_icon(close, "close", "muted", 14)
        close.clicked.connect(self.dismiss)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.level = level
        self.text = text
        if timeout_ms > 0:
            QTimer.singleShot(timeout_ms, self, self.dismiss)

    def dismiss(self) -> None:
        area = self.parent()
        self.hide()
        self.deleteLater()
        if isinstance(area, NoticeArea):
            QTimer.singleShot(0, area, area.relayout)  # with a context: skipped if the area is gone


class NoticeArea(QWidget):
    """Floats over ``host`` (bottom centre) and keeps itself positioned when the host resizes."""

    MAX_VISIBLE = 4

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground, True)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        host.installEventFilter(self)
        self.hide()

    def show_notice(
        self,
        text: str,
        level: str = "info",
        action: tuple[str, Callable[[], None]] | None = None,
        timeout_ms: int | None = None,
    ) -> Notice:
        if timeout_ms is None:
            # one with an action (Undo) stays longer: it may be reached by keyboard (or Ctrl+Z)
            timeout_ms = 12000 if level == "error" or action else 7000
        notices = self.notices()
        for old in notices[: max(0, len(notices) - self.MAX_VISIBLE + 1)]:
            old.dismiss()
        notice = Notice(text, level, action, timeout_ms, self)
        self._layout.addWidget(notice)
        self.relayout()
        return notice

    def notices(self) -> list[Notice]:
        return [n for n in self.findChildren(Notice) if not n.isHidden()]

    def relayout(self) -> None:
        host = self.parentWidget()
        if host is None:
            return
        if not self.notices():
            self.hide()
            return
        width = min(560, max(320, host.width() - 48))
        self.setFixedWidth(width)
        self.adjustSize()
        height = self.sizeHint().height()
        self.setGeometry((host.width() - width) // 2, host.height() - height - 56, width, height)
        self.show()
        self.raise_()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.relayout()
        return False
