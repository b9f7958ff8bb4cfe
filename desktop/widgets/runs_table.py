"""The recorded training runs: a table (newest first) and their curves overlaid for comparison.

Rows come from ``HistoryStore.list_runs()`` dicts. Selecting several rows overlays their
validation perplexity (a summarizer's ROUGE-L, a captioner's BLEU-4 …: the metric the run selects
its model by; training loss when a run has not been validated yet) in one plot, e.g. GRU vs LSTM
vs Elman RNN trained on the same data. The last column is the run's model folder (full path in
its tooltip): the folder to open in a panel or pass to ``--model``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.live_plot import LivePlot

COLUMNS = ("Run", "Task", "Data", "Cell", "Status", "Best", "Steps", "Minutes", "Started", "Model folder")
FOLDER_COLUMN = len(COLUMNS) - 1
SHORT = {
    "train_loss": "training loss",
    "val_ppl": "ppl",
    "rouge_l": "ROUGE-L",
    "bleu_4": "BLEU-4",
    "cider": "CIDEr",
    "val_loss": "val loss",
}


def run_cell(run: dict) -> str:
    cfg = run.get("config") or {}
    nested = (cfg.get("model") or {}).get("cell", "") or (cfg.get("lstm") or {}).get("cell", "")
    return str(nested or cfg.get("cell", ""))


NOTHING_SELECTED = "select runs in the table to compare them"


def run_metric(run: dict) -> str:
    """The curve a run is compared by: validation perplexity, else its selection metric."""
    curves, metrics = run.get("curves") or {}, run.get("metrics") or {}
    if curves.get("val_ppl"):
        return "val_ppl"
    key = metrics.get("metric")
    return key if key and curves.get(key) else "train_loss"


def best_text(run: dict) -> str:
    metrics = run.get("metrics") or {}
    if metrics.get("best_val_ppl") is not None:
        return f"ppl {_fmt(metrics['best_val_ppl'])}"
    best, key = metrics.get("best_metric"), metrics.get("metric")
    if isinstance(best, (int, float)):
        return f"{SHORT.get(key, key)} {best:.3f}"
    return ""


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


class RunsTable(QWidget):
    selection_changed = Signal(object)  # list of selected run dicts

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.runs: list[dict] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.overlay = LivePlot("Selected runs", "step", "", log_y=True)
        split.addWidget(self.table)
        split.addWidget(self.overlay)
        lay.addWidget(split)

    def set_runs(self, runs: list[dict]) -> None:
        """Show ``runs`` (newest first), keeping the selection by run id."""
        keep = {r["id"] for r in self.selected()}
        self.runs = list(runs)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            metrics = run.get("metrics") or {}
            minutes = run.get("duration_s")
            values = (
                f"#{run['id']}",
                run.get("task", ""),
                str(run.get("data", ""))[-40:],
                run_cell(run),
                run.get("status", ""),
                best_text(run),
                _fmt(metrics.get("steps")),
                _fmt(minutes / 60 if minutes is not None else None),
                str(run.get("started_at", ""))[:16].replace("T", " "),
                run.get("checkpoint") or "",
            )
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, run["id"])
                if col in (2, len(values) - 1):  # data and folder: the whole path on hover
                    item.setToolTip(str(run.get("data" if col == 2 else "checkpoint") or ""))
                self.table.setItem(row, col, item)
            if run["id"] in keep:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._on_selection()

    def run(self, run_id: int) -> dict | None:
        return next((r for r in self.runs if r["id"] == run_id), None)

    def select(self, run_ids: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, run in enumerate(self.runs):
            if run["id"] in run_ids:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def selected(self) -> list[dict]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def _on_selection(self) -> None:
        chosen = self.selected()
        self.overlay.clear()
        keys = {run_metric(run) for run in chosen}
        note = "" if keys else NOTHING_SELECTED[0].upper() + NOTHING_SELECTED[1:] + "."
        if len(keys) > 1:  # unlike measures on one axis compare nothing: all by their training loss
            names = ", ".join(sorted(SHORT.get(k, k) for k in keys))
            note = f"The selected runs keep different measures ({names}): compared by training loss."
            keys = {"train_loss"}
        key = next(iter(keys), "")
        self.overlay.set_log_y(keys == {"val_ppl"} or not keys)
        shown = {"": "", "val_ppl": "validation perplexity"}.get(key, SHORT.get(key, "training loss"))
        self.overlay.plot.setLabel("left", shown)
        self.overlay.set_note(note)
        for run in chosen:
            points = (run.get("curves") or {}).get(key) or []
            label = f"#{run['id']} {run_cell(run) or run.get('task', '')}"
            self.overlay.set_curve(label, [p[0] for p in points], [p[1] for p in points])
        self.overlay.flush()
        self.overlay.widget.setVisible(bool(chosen))  # an empty log axis drew its ticks over each other
        self.selection_changed.emit(chosen)
