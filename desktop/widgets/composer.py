"""The message box: Enter sends, Shift+Enter makes a new line, Esc stops a reply.

The send button is disabled while the text is empty (or only spaces) and turns into a Stop
button while a reply streams. It is a QPlainTextEdit, so pasting a megabyte of text stays fast.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from desktop import theme
from engine.text.normalize import has_visible

MAX_LINES = 8


class MessageEdit(QPlainTextEdit):
    """A message field: Enter submits, Shift+Enter makes a new line, Esc asks to stop."""

    submit = Signal()
    stop = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submit.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.stop.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    submitted = Signal(str)
    stop_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 6, 28, 12)
        outer.setSpacing(5)
        self.frame = QFrame()
        self.frame.setObjectName("Composer")
        self.frame.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self.frame)
        row.setContentsMargins(14, 8, 8, 8)
        row.setSpacing(8)
        self.edit = MessageEdit()
        self.edit.setObjectName("ComposerEdit")
        self.edit.setPlaceholderText("Message Parlance…")
        self.edit.setTabChangesFocus(True)
        self.edit.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.edit.installEventFilter(self)
        row.addWidget(self.edit, 1, Qt.AlignmentFlag.AlignVCenter)
        self.send_button = QToolButton()
        self.send_button.setObjectName("SendButton")
        self.send_button.setFixedSize(QSize(36, 36))
        self.send_button.setToolTip("Send (Enter)")
        theme.set_icon(self.send_button, "send", "on_accent", 18)
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self._on_button)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addWidget(self.frame)
        self.hint = QLabel("Enter to send · Shift+Enter for a new line · Esc stops a reply")
        self.hint.setObjectName("HintLabel")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)  # large text sizes: it wraps rather than widen the chat
        outer.addWidget(self.hint)
        self._generating = False
        self._blocked_reason: str | None = None
        self._has_text = False
        self.edit.textChanged.connect(self._on_text)
        self.edit.submit.connect(self.submit)
        self.edit.stop.connect(self.stop_requested)
        self._fit()
        self._sync()

    # --------------------------------------------------------------------------- state
    def set_generating(self, on: bool) -> None:
        self._generating = on
        self._sync()

    def set_blocked(self, reason: str | None) -> None:
        """A reason sending is impossible (e.g. no model), shown as the button's tooltip."""
        self._blocked_reason = reason
        self._sync()

    def can_send(self) -> bool:
        return self._has_text and not self._generating and self._blocked_reason is None

    def _sync(self) -> None:
        b = self.send_button
        if self._generating:
            b.setObjectName("StopButton")
            theme.set_icon(b, "stop", "window", 14)
            b.setToolTip("Stop the reply (Esc) — the text so far is kept")
            b.setEnabled(True)
        else:
            b.setObjectName("SendButton")
            theme.set_icon(b, "send", "on_accent", 18)
            b.setToolTip(
                self._blocked_reason or ("Send (Enter)" if self._has_text else "Type a message to send")
            )
            b.setEnabled(self.can_send())
        b.style().unpolish(b)
        b.style().polish(b)
        b.setAccessibleName("Stop the reply" if self._generating else "Send")

    def _on_text(self) -> None:
        text = self.edit.toPlainText()
        has = has_visible(text)
        if has != self._has_text:
            self._has_text = has
            self._sync()
        self._fit()

    def _fit(self) -> None:
        total = int(self.edit.document().documentLayout().documentSize().height()) or 1
        lines = max(1, min(MAX_LINES, total))
        policy = (
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if total > MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.edit.setVerticalScrollBarPolicy(policy)
        metrics = self.edit.fontMetrics()
        self.edit.setFixedHeight(lines * metrics.lineSpacing() + 14)

    # --------------------------------------------------------------------------- actions
    def _on_button(self) -> None:
        if self._generating:
            self.stop_requested.emit()
        else:
            self.submit()

    def submit(self) -> None:
        if not self.can_send():
            return
        text = self.edit.toPlainText()
        self.edit.clear()
        self.submitted.emit(text)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        self.edit.moveCursor(self.edit.textCursor().MoveOperation.End)

    def focus(self) -> None:
        self.edit.setFocus()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.FontChange:  # a new text size: new height
            self._fit()
        if obj is self.edit and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.frame.setProperty("focused", "true" if event.type() == QEvent.Type.FocusIn else "false")
            self.frame.style().unpolish(self.frame)
            self.frame.style().polish(self.frame)
        return False
