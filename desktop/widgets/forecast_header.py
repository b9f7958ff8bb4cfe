"""The Forecast panel's header (file, sample, column, horizon, method, Backtest, Forecast/Cancel)
and its side column (the backtest table, notes, exports)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop import forecast_ops as ops
from desktop.paths import RESOURCES
from desktop.widgets.forecast_metrics import ForecastMetrics
from desktop.widgets.panel_parts import min_width_for_text, title_row

# the method chosen when the panel opens: the best statistical method of the benchmark panel (mean
# MASE 1.118 against ETS 1.372, docs/benchmarks.md) and a few seconds at most; ETS drew a flat
# line on three of the four shipped samples (sunspots' cycle, the rain's season, MSFT)
DEFAULT_METHOD = "arima"

METHOD_TIPS = {
    "lstm": "LSTM ensemble (trains in seconds to a minute)",
    "hybrid": "The LSTM correcting an ETS forecast (ES-RNN style; best single method on our panel)",
    "linear": "Ridge regression over the same windows as the LSTM (instant)",
    "ets": "Exponential smoothing (statsmodels ETS)",
    "arima": "ARIMA, order chosen automatically",
    "theta": "Theta method",
    "naive": "Repeat the last value",
    "snaive": "Repeat the last season",
    "drift": "Straight line from the first to the last point",
    "auto": "Backtest several methods on this series and combine the best (slowest)",
}


class ForecastHeader(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        head = QVBoxLayout(self)
        head.setContentsMargins(24, 10, 14, 8)
        row = QHBoxLayout()
        self.origin_label, self.open_button = title_row(
            row, "Forecast", "Open a CSV, TSV or text file with a series (or drop one here)"
        )
        row.addWidget(self.open_button)
        self.sample_box = QComboBox()
        self.sample_box.addItem("Samples…", None)
        for path in ops.samples(RESOURCES / "samples"):
            self.sample_box.addItem(path.stem.replace("_", " "), str(path))
        self.sample_box.setToolTip("Open one of the sample series that ship with Parlance")
        row.addWidget(self.sample_box)
        head.addLayout(row)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(_muted("Column"))
        self.column_box = QComboBox()
        self.column_box.setMinimumWidth(120)
        self.column_box.setToolTip("The value column to forecast")
        bar.addWidget(self.column_box)
        bar.addSpacing(10)
        bar.addWidget(_muted("Horizon"))
        self.horizon = QSpinBox()
        self.horizon.setRange(1, ops.MAX_HORIZON)
        self.horizon.setValue(12)
        self.horizon.setSuffix(" steps")
        self.horizon.setToolTip("How many steps ahead to forecast")
        bar.addWidget(self.horizon)
        bar.addSpacing(10)
        bar.addWidget(_muted("Method"))
        self.method_box = QComboBox()
        for name in ops.METHODS:
            self.method_box.addItem(name, name)
            self.method_box.setItemData(
                self.method_box.count() - 1, METHOD_TIPS[name], Qt.ItemDataRole.ToolTipRole
            )
        self.method_box.setCurrentText(DEFAULT_METHOD)
        bar.addWidget(self.method_box)
        bar.addStretch(1)
        self.backtest_button = QPushButton("Backtest")
        self.backtest_button.setToolTip(
            "Compare methods by a rolling-origin backtest on this series and draw their past forecasts"
        )
        bar.addWidget(self.backtest_button)
        self.run_button = QPushButton("Forecast")
        self.run_button.setObjectName("PrimaryButton")
        bar.addWidget(self.run_button)
        head.addLayout(bar)


class ForecastSide(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        min_width_for_text(self, 330)
        scol = QVBoxLayout(self)
        scol.setContentsMargins(12, 12, 24, 16)
        scol.addWidget(_section("Backtest"))
        self.metrics = ForecastMetrics()  # sizes itself to its rows
        scol.addWidget(self.metrics)
        self.show_backtest = QCheckBox("Show backtest forecasts on the plot")
        self.show_backtest.setChecked(True)
        scol.addWidget(self.show_backtest)
        self.backtest_note = QLabel("Press Backtest to compare methods on this series.")
        self.backtest_note.setObjectName("MutedLabel")
        self.backtest_note.setWordWrap(True)
        scol.addWidget(self.backtest_note)
        scol.addSpacing(8)
        scol.addWidget(_section("Notes"))
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scol.addWidget(self.notes)
        self.lstm_origin = QLabel()  # where non-default LSTM settings came from (a Train run)
        self.lstm_origin.setObjectName("MutedLabel")
        self.lstm_origin.setWordWrap(True)
        self.defaults_button = QPushButton("Default LSTM settings")
        self.defaults_button.setToolTip("Forget the settings taken from a Train run")
        scol.addWidget(self.lstm_origin)
        scol.addWidget(self.defaults_button)
        self.set_lstm_origin("")
        scol.addStretch(1)
        exp = QHBoxLayout()
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Save the forecast and its intervals as CSV")
        self.png_button = QPushButton("Export PNG…")
        self.png_button.setToolTip("Save the plot as a PNG image")
        self.fit_button = QPushButton("Fit view")
        self.fit_button.setToolTip("Zoom to show everything (drag to pan, wheel to zoom)")
        for b in (self.csv_button, self.png_button, self.fit_button):
            exp.addWidget(b)
        scol.addLayout(exp)

    def set_lstm_origin(self, origin: str) -> None:
        """Say which Train run's LSTM settings are in use ("": the defaults, nothing shown)."""
        self.lstm_origin.setText(f"LSTM settings from {origin}." if origin else "")
        self.lstm_origin.setVisible(bool(origin))
        self.defaults_button.setVisible(bool(origin))


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("MutedLabel")
    return label


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("SectionLabel")
    return label
