"""Settings (Ctrl+,): appearance, compute device, default decoding, where data is kept."""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from desktop.settings import MAX_FONT_PT, MIN_FONT_PT
from engine.decoding import DecodeOptions

THEME_LABELS = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
METHOD_LABELS = (("greedy", "Greedy"), ("beam", "Beam search"), ("sample", "Sampling"))


class SettingsDialog(QDialog):
    applied = Signal(object)  # {"theme", "font_pt", "force_cpu", "default_decoding"}

    def __init__(
        self, settings, data_dir: str | None, device_label: str, parent=None, theme: str | None = None
    ) -> None:
        """``theme``: the theme in effect when it differs from the saved one (``--theme``)."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        col = QVBoxLayout(self)
        col.setSpacing(10)

        look = QGroupBox("Appearance")
        form = QFormLayout(look)
        self.theme = QComboBox()
        for key, label in THEME_LABELS:
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(max(0, self.theme.findData(theme or settings.theme)))
        form.addRow("Theme", self.theme)
        self.font = QDoubleSpinBox()
        self.font.setRange(MIN_FONT_PT, MAX_FONT_PT)
        self.font.setToolTip("For larger text, use the system's display scaling")
        self.font.setSingleStep(0.5)
        self.font.setSuffix(" pt")
        self.font.setValue(settings.font_pt)
        form.addRow("Text size", self.font)
        col.addWidget(look)

        compute = QGroupBox("Compute")
        cform = QVBoxLayout(compute)
        self.force_cpu = QCheckBox("Always run on the CPU (ignore the GPU)")
        self.force_cpu.setChecked(settings.force_cpu)
        cform.addWidget(self.force_cpu)
        now = QLabel(f"Models now run on: {device_label}. Changing this reloads the models.")
        now.setObjectName("MutedLabel")
        now.setWordWrap(True)
        cform.addWidget(now)
        col.addWidget(compute)

        decoding = QGroupBox("Replies in new conversations")
        dform = QFormLayout(decoding)
        d = settings.default_decoding or DecodeOptions().to_dict()
        self._decoding = dict(d)
        self.use_model = QCheckBox("Use each model's recommended settings")
        self.use_model.setChecked(settings.default_decoding is None)
        dform.addRow(self.use_model)
        self.method = QComboBox()
        for key, label in METHOD_LABELS:
            self.method.addItem(label, key)
        self.method.setCurrentIndex(max(0, self.method.findData(d["method"])))
        dform.addRow("Method", self.method)
        self.max_len = QSpinBox()
        self.max_len.setRange(1, 200)
        self.max_len.setValue(int(d["max_len"]))
        dform.addRow("Max length", self.max_len)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setValue(float(d["temperature"]))
        dform.addRow("Temperature (sampling)", self.temperature)
        self.beam = QSpinBox()
        self.beam.setRange(1, 16)
        self.beam.setValue(int(d["beam_size"]))
        dform.addRow("Beam size (beam search)", self.beam)
        col.addWidget(decoding)
        self.use_model.toggled.connect(self._sync_decoding)
        self._sync_decoding(self.use_model.isChecked())

        data = QGroupBox("Data")
        drow = QHBoxLayout(data)
        where = QLabel(data_dir or "History is off for this session")
        where.setObjectName("MutedLabel")
        where.setWordWrap(True)
        drow.addWidget(where, 1)
        if data_dir:
            open_button = QPushButton("Open folder")
            open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(data_dir)))
            drow.addWidget(open_button)
        col.addWidget(data)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply
        )
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self._apply)
        col.addWidget(buttons)

    def _sync_decoding(self, use_model: bool) -> None:
        for w in (self.method, self.max_len, self.temperature, self.beam):
            w.setEnabled(not use_model)

    def values(self) -> dict:
        decoding = {
            **self._decoding,
            "method": self.method.currentData(),
            "max_len": self.max_len.value(),
            "temperature": self.temperature.value(),
            "beam_size": self.beam.value(),
        }
        return {
            "theme": self.theme.currentData(),
            "font_pt": self.font.value(),
            "force_cpu": self.force_cpu.isChecked(),
            "default_decoding": None
            if self.use_model.isChecked()
            else DecodeOptions.from_dict(decoding).to_dict(),
        }

    def _apply(self) -> None:
        self.applied.emit(self.values())

    def _ok(self) -> None:
        self._apply()
        self.accept()
