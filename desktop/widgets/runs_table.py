"""The recorded training runs: a table (newest first) and their curves overlaid for comparison.

Rows come from ``HistoryStore.list_runs()`` dicts. Selecting several rows overlays their
validation perplexity (a summarizer's ROUGE-L, a captioner's BLEU-4 …: the metric the run selects
its model by; training loss when a run has not been validated yet) in one plot, e.g. GRU vs LSTM
vs Elman RNN trained on the same data. The last column is the run's model folder (full path in
its tooltip): the folder to open in a panel or pass to ``--model``.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.live_plot import PALETTE, LivePlot

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
SIZE_SAMPLE_ROWS = 200  # rows measured when the columns are sized to their contents (once per fill)


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
        # Interactive, sized once per fill: ResizeToContents re-measured every column at each of the
        # 10 x N setItem() calls of a refresh (quadratic: 13 s for 200 runs, 101 s for 500)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(SIZE_SAMPLE_ROWS)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.overlay = LivePlot("Selected runs", "step", "", log_y=True)
        self._plotted: dict[str, tuple] = {}  # overlay curve -> (the points it was drawn from, colour)
        self._plot_state: tuple = ()  # (metric, log axis) the overlay's curves were drawn for
        split.addWidget(self.table)
        split.addWidget(self.overlay)
        lay.addWidget(split)

    def set_runs(self, runs: list[dict]) -> None:
        """Show ``runs`` (newest first), keeping the selection by run id."""
        keep = {r["id"] for r in self.selected()}
        self.runs = list(runs)
        table = self.table
        sorting = table.isSortingEnabled()
        table.setSortingEnabled(False)
        table.setUpdatesEnabled(False)
        table.blockSignals(True)
        try:
            table.clearSelection()  # rows now hold other runs: the selection is set again by id below
            table.setRowCount(len(self.runs))
            chosen, model = QItemSelection(), table.model()
            last = model.columnCount() - 1
            for row, run in enumerate(self.runs):
                self._fill_row(row, run)
                if run["id"] in keep:
                    chosen.select(model.index(row, 0), model.index(row, last))
            # one selection change: selectRow() per kept row cleared the ones before (ExtendedSelection)
            table.selectionModel().select(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            shown = [c for c in range(last + 1) if not table.isColumnHidden(c)]
            for col in shown[:-1]:  # once, on at most SIZE_SAMPLE_ROWS rows; the last one shown stretches
                table.resizeColumnToContents(col)
        finally:
            table.blockSignals(False)
            table.setUpdatesEnabled(True)
            table.setSortingEnabled(sorting)
        self._on_selection()

    def _fill_row(self, row: int, run: dict) -> None:
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
        keys = {run_metric(run) for run in chosen}
        note = "" if keys else NOTHING_SELECTED[0].upper() + NOTHING_SELECTED[1:] + "."
        if len(keys) > 1:  # unlike measures on one axis compare nothing: all by their training loss
            names = ", ".join(sorted(SHORT.get(k, k) for k in keys))
            note = f"The selected runs keep different measures ({names}): compared by training loss."
            keys = {"train_loss"}
        key = next(iter(keys), "")
        log_y = keys == {"val_ppl"} or not keys
        # only the curves that changed: every selection change cleared and re-drew every selected
        # run's curve (0.5-0.7 s per Ctrl-click with 50 runs selected)
        if (key, log_y) != self._plot_state:
            self.overlay.clear()
            self._plotted.clear()
            self._plot_state = (key, log_y)
            self.overlay.set_log_y(log_y)
        shown = {"": "", "val_ppl": "validation perplexity"}.get(key, SHORT.get(key, "training loss"))
        self.overlay.plot.setLabel("left", shown)
        self.overlay.set_note(note)
        wanted: dict[str, list] = {}
        for run in chosen:
            label = f"#{run['id']} {run_cell(run) or run.get('task', '')}"
            wanted[label] = (run.get("curves") or {}).get(key) or []
        for label in [n for n in self._plotted if n not in wanted]:
            self.overlay.remove(label)
            del self._plotted[label]
        for label, points in wanted.items():
            if label in self._plotted:
                drawn, color = self._plotted[label]
                if drawn == points:
                    continue  # drawn already, from the same points
            else:  # a colour no curve shown has (while there are free ones)
                used = {c for _, c in self._plotted.values()}
                color = next((c for c in PALETTE if c not in used), PALETTE[len(used) % len(PALETTE)])
            self.overlay.set_curve(label, [p[0] for p in points], [p[1] for p in points], color)
            self._plotted[label] = (points, color)
        self.overlay.flush()
        self.overlay.widget.setVisible(bool(chosen))  # an empty log axis drew its ticks over each other
        self.selection_changed.emit(chosen)
