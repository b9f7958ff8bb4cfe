"""The Summarize panel's header (title, where the text came from, Open, Clear, the settings bar and
the Summarize / Cancel button) and the dismissable message banner under it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from desktop.widgets.model_picker import give_way
from desktop.widgets.panel_parts import title_row
from desktop.widgets.summarize_controls import SummarizeControls


class SummarizeHeader(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        header = QWidget()
        self.row = row = QHBoxLayout(header)  # the panel adds its model picker after the origin label
        row.setContentsMargins(24, 10, 14, 4)
        self.origin_label, self.open_button = title_row(
            row, "Summarize", "Open a text, Markdown or HTML file (Ctrl+O)"
        )
        give_way(self.origin_label)  # in a narrow header the origin text is elided, never the picker cut
        row.addWidget(self.open_button)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Start again with an empty text")
        row.addWidget(self.clear_button)
        self.controls = SummarizeControls()
        row.addSpacing(6)
        row.addWidget(self.controls.run_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(header)
        col.addWidget(self.controls)
