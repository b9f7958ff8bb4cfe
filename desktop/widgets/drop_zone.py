"""A dashed area that takes dropped files and folders, with buttons to open them instead."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop import theme


class DropZone(QWidget):
    files_dropped = Signal(object)  # list[str] of local paths
    open_files = Signal()
    open_folder = Signal()

    def __init__(self, title: str, text: str, icon_name: str = "caption", parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.hovering = False
        col = QVBoxLayout(self)
        col.setContentsMargins(30, 30, 30, 30)
        col.addStretch(2)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_icon(self.icon, icon_name, "muted", 48)
        col.addWidget(self.icon)
        self.title = QLabel(title)
        self.title.setObjectName("EmptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.title)
        self.text = QLabel(text)
        self.text.setObjectName("EmptyText")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.text)
        col.addSpacing(12)
        row = QHBoxLayout()
        row.addStretch(1)
        self.files_button = QPushButton("Open files…")
        theme.set_icon(self.files_button, "import", "text", 16)
        self.files_button.clicked.connect(self.open_files)
        row.addWidget(self.files_button)
        self.folder_button = QPushButton("Open folder…")
        theme.set_icon(self.folder_button, "folder", "text", 16)
        self.folder_button.clicked.connect(self.open_folder)
        row.addWidget(self.folder_button)
        row.addStretch(1)
        col.addLayout(row)
        col.addStretch(3)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        c = theme.current_colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(c["accent"] if self.hovering else c["scroll"]), 2, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(QColor(c["accent_soft"] if self.hovering else c["pane"]))
        p.drawRoundedRect(QRectF(self.rect()).adjusted(2, 2, -2, -2), 16, 16)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            self.hovering = True
            self.update()
            event.acceptProposedAction()

    def dragLeaveEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        self.hovering = False
        self.update()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.hovering = False
        self.update()
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
