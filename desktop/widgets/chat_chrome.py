"""The chat area's frame: the header (title, model picker, export, side-panel toggle), the model
banner (loading / no model) and the empty state shown before the first message."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets.model_picker import ModelPicker
from desktop.widgets.notice import plain_tip

ONE_COLUMN_PT = 14.0  # from this text size the suggestions stand in one column
SUGGESTIONS = (
    "Hi! How are you today?",
    "What do you like to do at the weekend?",
    "Can you recommend a good film?",
    "I had a long day at work.",
)


class ChatHeader(QFrame):
    export_requested = Signal(str)  # "md" | "json"
    side_toggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 10, 14, 10)
        row.setSpacing(8)
        self.title = QLabel("New chat")
        self.title.setObjectName("ChatTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a title with <img> or <b> is text
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.title, 1)
        self.picker = ModelPicker()
        row.addWidget(self.picker)
        self.export_button = QToolButton()
        self.export_button.setToolTip("Export this conversation")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        theme.set_icon(self.export_button, "export", "muted", 17)
        menu = QMenu(self.export_button)
        menu.addAction("Export as Markdown…", lambda: self.export_requested.emit("md"))
        menu.addAction("Export as JSON…", lambda: self.export_requested.emit("json"))
        self.export_button.setMenu(menu)
        row.addWidget(self.export_button)
        self.side_button = QToolButton()
        self.side_button.setCheckable(True)
        self.side_button.setToolTip("Show or hide the decoding and attention panel (Ctrl+Shift+S)")
        theme.set_icon(self.side_button, "sidebar-right", "muted", 17)
        self.side_button.toggled.connect(self.side_toggled)
        row.addWidget(self.side_button)

    def set_title(self, title: str) -> None:
        self._full_title = title
        self.title.setToolTip(plain_tip(title))
        self._elide()

    def _elide(self) -> None:
        full = " ".join(getattr(self, "_full_title", "").split())  # one line, however it was typed
        width = max(self.title.width(), 160)
        self.title.setText(self.title.fontMetrics().elidedText(full, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()


class ModelBanner(QFrame):
    """'Loading chat model…' with a busy bar, or why there is no model with a way forward."""

    action_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 9, 10, 9)
        row.setSpacing(12)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # it names model folders and errors
        self.label.setWordWrap(True)
        row.addWidget(self.label, 1)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setFixedWidth(120)
        self.bar.setTextVisible(False)
        row.addWidget(self.bar)
        self.button = QPushButton("Open Train")
        self.button.clicked.connect(self.action_requested)
        row.addWidget(self.button)
        self.hide()

    def show_loading(self, what: str) -> None:
        self.setProperty("level", "info")
        self.label.setText(what)
        self.bar.show()
        self.button.hide()
        self._repolish()
        self.show()

    def show_problem(self, message: str, button: str | None = "Open Train") -> None:
        self.setProperty("level", "warning")
        self.label.setText(message)
        self.bar.hide()
        self.button.setVisible(button is not None)
        if button:
            self.button.setText(button)
        self._repolish()
        self.show()

    def _repolish(self) -> None:
        self.style().unpolish(self)
        self.style().polish(self)


class EmptyState(QWidget):
    """What a new chat shows: what Parlance is and a few openers to click."""

    suggestion_chosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.addStretch(2)
        logo = QLabel()
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_icon(logo, "logo", "accent", 52)
        col.addWidget(logo)
        title = QLabel("Chat with Parlance")
        title.setObjectName("EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(title)
        text = QLabel(
            "A small recurrent chat model that runs entirely on this computer.\n"
            "Nothing you type leaves it, and every conversation is saved as you go."
        )
        text.setObjectName("EmptyText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        col.addWidget(text)
        col.addSpacing(18)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.chips: list[QToolButton] = []
        for s in SUGGESTIONS:
            chip = QToolButton()
            chip.setObjectName("ChipButton")
            chip.setText(s)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.clicked.connect(lambda _=False, s=s: self.suggestion_chosen.emit(s))
            self.chips.append(chip)
        self.grid = grid
        self._arrange()
        wrap = QHBoxLayout()
        wrap.addStretch(1)
        wrap.addLayout(grid)
        wrap.addStretch(1)
        col.addLayout(wrap)
        col.addStretch(3)

    def _arrange(self) -> None:
        """Two columns of suggestions; one at large text sizes (two made the chat 2,000 px wide)."""
        cols = 1 if self.font().pointSizeF() >= ONE_COLUMN_PT else 2
        for i, chip in enumerate(self.chips):
            self.grid.removeWidget(chip)
            self.grid.addWidget(chip, i // cols, i % cols)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange and hasattr(self, "grid"):
            self._arrange()
