"""What a panel shows until its own view is built (or when it failed to open)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop import theme


class PlaceholderPanel(QWidget):
    def __init__(
        self, title: str, text: str, icon_name: str, problem: str | None = None, parent=None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ChatArea")
        col = QVBoxLayout(self)
        col.addStretch(2)
        icon = QLabel()
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_icon(icon, icon_name, "muted", 48)
        col.addWidget(icon)
        self.title = QLabel(title)
        self.title.setObjectName("EmptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.title)
        self.text = QLabel(text if problem is None else f"{text}\n\n{problem}")
        self.text.setObjectName("EmptyText")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setFixedWidth(540)  # a fixed width lets the wrapped text get its full height
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()  # centred without an alignment flag, so the label gets its wrapped height
        row.addStretch(1)
        row.addWidget(self.text)
        row.addStretch(1)
        col.addLayout(row)
        col.addStretch(3)


def not_built(label: str, what: str, icon_name: str) -> PlaceholderPanel:
    return PlaceholderPanel(f"{label} is not built yet", what, icon_name)


def failed(label: str, what: str, icon_name: str, message: str) -> PlaceholderPanel:
    return PlaceholderPanel(f"{label} could not be opened", what, icon_name, problem=message)
