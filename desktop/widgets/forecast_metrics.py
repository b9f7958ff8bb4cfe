"""The backtest table of the Forecast panel: one row per method (MASE, sMAPE, MAE, RMSE, 80%
coverage, time), best first, the winner (lowest MASE) marked. Choosing a row asks the panel to draw
that method's backtest forecasts over the history."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from desktop import theme

COLUMNS = (
    ("method", "Method", "Forecasting method"),
    ("mase", "MASE", "Mean absolute scaled error: below 1 beats the (seasonal) naive forecast in-sample"),
    ("smape", "sMAPE", "Symmetric mean absolute percentage error (0–200)"),
    ("mae", "MAE", "Mean absolute error, in the series' units"),
    ("cov80", "Cov80", "Share of held-out points inside the 80% interval (ideal: 80%)"),
    (
        "seconds",
        "Time",
        "Fit + forecast time over all folds, in seconds; auto's is the time of every candidate fit "
        "it chose from, added up (those fits are shared with the candidates' own rows)",
    ),
)


ROW_HEIGHT = 26
MIN_ROWS, MAX_ROWS = 4, 11  # the table grows with its rows up to MAX_ROWS, then scrolls


class ForecastMetrics(QTableWidget):
    method_chosen = Signal(object)  # method name (str)

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("ForecastMetrics")
        for i, (_, label, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(label)
            item.setToolTip(tip)
            self.setHorizontalHeaderItem(i, item)
        self.verticalHeader().hide()
        head = self.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setMinimumSectionSize(44)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.setFrameShape(QTableWidget.Shape.NoFrame)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setShowGrid(False)
        self.setTabKeyNavigation(False)  # Tab leaves the table (arrow keys move between rows)
        self.setAlternatingRowColors(True)
        self.best: str | None = None
        self.itemSelectionChanged.connect(self._on_selection)
        self._fit_height()

    def _fit_height(self) -> None:
        """Tall enough for every row (between MIN_ROWS and MAX_ROWS of them), so that a backtest of
        every method shows without scrolling."""
        rows = min(max(self.rowCount(), MIN_ROWS), MAX_ROWS)
        head = self.horizontalHeader().sizeHint().height()
        vert = self.verticalHeader()  # a larger font (Settings) makes rows taller than ROW_HEIGHT
        row = max(ROW_HEIGHT, vert.minimumSectionSize(), self.rowHeight(0) if self.rowCount() else 0)
        frame = 2 * self.frameWidth() + 2
        self.setMinimumHeight(head + rows * row + frame)
        self.setMaximumHeight(head + MAX_ROWS * row + frame)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_height()

    def set_rows(self, rows: list[dict], best: str | None) -> None:
        self.best = best
        self.blockSignals(True)
        self.setRowCount(len(rows))
        self._fit_height()
        ok = QBrush(QColor(theme.current_colors()["ok"]))
        bold = QFont(self.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, (key, _, _) in enumerate(COLUMNS):
                text = _fmt(key, row)
                if c == 0 and row["method"] == best:
                    text = f"★ {text}"
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row["method"])
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row["method"] == best:
                    item.setFont(bold)
                    item.setForeground(ok)
                    item.setToolTip("Best by MASE on this series' backtest")
                self.setItem(r, c, item)
        self.blockSignals(False)

    def methods(self) -> list[str]:
        return [self.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.rowCount())]

    def select_method(self, method: str) -> None:
        for r, name in enumerate(self.methods()):
            if name == method:
                self.selectRow(r)
                return

    def _on_selection(self) -> None:
        items = self.selectedItems()
        if items:
            self.method_chosen.emit(items[0].data(Qt.ItemDataRole.UserRole))


def _fmt(key: str, row: dict) -> str:
    v = row.get(key)
    if key == "method":
        return str(v)
    if v is None:
        return "failed" if row.get("failed") and key == "mase" else "–"
    if key == "cov80":
        return f"{v:.0%}"
    if key == "seconds":
        return f"{v:.1f} s"
    if key in ("mae", "rmse"):
        return f"{v:.4g}"
    return f"{v:.3f}"
