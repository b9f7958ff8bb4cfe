"""The Caption panel's chrome: the header (open, export, clear, beam size, caption again / cancel),
the message banner and the progress row."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop import theme
from desktop.widgets.model_picker import give_way
from desktop.widgets.panel_parts import min_width_for_text, text_scale, title_row


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("MutedLabel")
    return label


COMPACT_WIDTH = 1150  # pixels at the usual text size (more at larger ones): narrower, icons only


class CaptionHeader(QFrame):
    export_requested = Signal(str)  # "csv" | "json"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.row = row = QHBoxLayout(self)  # the panel adds its model picker after the origin label
        row.setContentsMargins(24, 10, 14, 10)
        self.origin_label, self.open_button = title_row(
            row, "Caption", "Open images or videos (Ctrl+O); or drop files and folders here", "import"
        )
        give_way(self.origin_label)  # in a narrow header the origin text is elided, never the picker cut
        self.folder_button = QPushButton("Open folder…")
        self.folder_button.setToolTip("Caption every image and video in a folder")
        theme.set_icon(self.folder_button, "folder", "text", 16)
        self.export_button = QPushButton("Export")
        self.export_button.setToolTip("Save every caption as CSV or JSON")
        theme.set_icon(self.export_button, "export", "text", 16)
        menu = QMenu(self.export_button)
        menu.addAction("CSV…", lambda: self.export_requested.emit("csv"))
        menu.addAction("JSON…", lambda: self.export_requested.emit("json"))
        self.export_button.setMenu(menu)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every picture from the grid (the history keeps the captions)")
        for b in (self.open_button, self.folder_button, self.export_button, self.clear_button):
            row.addWidget(b)
        self._labels = {b: b.text() for b in (self.open_button, self.folder_button, self.export_button)}
        for button, text in self._labels.items():  # still named when a narrow window drops the text
            button.setAccessibleName(text.rstrip("…"))
        row.addSpacing(10)
        beam_label = _muted("Beam")
        row.addWidget(beam_label)
        self.beam = QSpinBox()
        beam_label.setBuddy(self.beam)
        self.beam.setAccessibleName("Beam size")
        self.beam.setRange(1, 10)
        self.beam.setValue(3)
        min_width_for_text(self.beam, 72)
        self.beam.setToolTip("Beam size: how many captions are followed at once (1 = greedy)")
        row.addWidget(self.beam)
        self.run_button = QPushButton("Caption again")
        self.run_button.setObjectName("PrimaryButton")
        self.run_button.setToolTip("Caption the same files again with this beam size")
        row.addWidget(self.run_button)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_labels()  # the labels' widths changed with the text size

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Narrow windows: the open and export buttons show their icons only (their tooltips and
        accessible names say what they do) and the count gives its room, so nothing is cut to
        "Open folc" / "tion ag"."""
        if not hasattr(self, "_labels"):
            return  # (a style event while being built)
        compact = self.width() < COMPACT_WIDTH * text_scale(self)
        if compact != getattr(self, "_compact", None):
            self._compact = compact
            for button, text in self._labels.items():
                button.setText("" if compact else text)
            self.origin_label.setVisible(not compact)

    def set_busy(self, busy: bool) -> None:
        self.beam.setEnabled(not busy)  # a change mid-run would not apply to the files in it
        self.run_button.setText("Cancel" if busy else "Caption again")
        self.run_button.setObjectName("CancelButton" if busy else "PrimaryButton")
        self.run_button.style().unpolish(self.run_button)
        self.run_button.style().polish(self.run_button)


class ProgressRow(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 8, 24, 0)
        self.label = _muted()
        row.addWidget(self.label, 1)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(False)
        row.addWidget(self.bar)
        self.hide()

    def show_progress(self, text: str, fraction: float | None) -> None:
        """``fraction`` None: a busy indicator."""
        self.label.setText(text)
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * fraction))
        self.show()
