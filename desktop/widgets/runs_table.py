"""The recorded training runs: a table (newest first, sortable) and their curves overlaid for comparison.

Rows come from ``engine.lab.jobs.runs_job`` dicts (``HistoryStore.list_runs()`` rows without their
curves, plus ``folder`` and ``folder_exists``). Selecting several rows overlays their validation
perplexity (a summarizer's ROUGE-L, a captioner's BLEU-4 …: the metric the run selects its model
by; training loss when a run has not been validated yet) in one plot, e.g. GRU vs LSTM vs Elman RNN
trained on the same data. The curves are read only for the selected runs (``curves_wanted``; the
tab answers with :meth:`RunsTable.add_curves`) and kept per run until its row changes. The last
column is the run's model folder (full path in its tooltip): the folder to open in a panel or pass
to ``--model``. A row's context menu (and the Delete key) deletes, renames, opens or copies a run.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QSplitter,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.live_plot import PALETTE, LivePlot

COLUMNS = ("Run", "Task", "Data", "Cell", "Status", "Best", "Steps", "Minutes", "Started", "Model folder")
RUN_COL, TASK_COL, DATA_COL, STATUS_COL, BEST_COL = 0, 1, 2, 4, 5
STEPS_COL, MINUTES_COL, STARTED_COL = 6, 7, 8
FOLDER_COLUMN = len(COLUMNS) - 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the number a sortable column sorts by (UserRole: the run id)
DATA_CHARS = 28  # the Data cell shows the end of a longer name (the whole path in its tooltip)
DATA_MAX_PX = 110  # the Data column's widest (sized to its contents): the model folder stays in view
FOLDER_MISSING = "(folder missing)"
NOT_MEASURED = "Not measured yet: a run records its steps and best score when it ends."
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


def run_folder(run: dict) -> str:
    """The run's folder (absolute), or "" when it has none yet."""
    return str(run.get("folder") or run.get("checkpoint") or "")


def folder_missing(run: dict) -> bool:
    """The run has a folder and the runs job found it gone (no file-system call here)."""
    return bool(run_folder(run)) and run.get("folder_exists") is False


def run_name(run: dict) -> str:
    """'#3 · my label', or '#3' for a run without a label."""
    label = str(run.get("label") or "").strip()
    return f"#{run['id']} · {label}" if label else f"#{run['id']}"


def legend_name(run: dict) -> str:
    """The run's curve in the overlay: '#3 · my label', else '#3 lstm' (its cell, else its task)."""
    label = str(run.get("label") or "").strip()
    return f"#{run['id']} · {label}" if label else f"#{run['id']} {run_cell(run) or run.get('task', '')}"


def run_metric(run: dict, curves: dict | None = None) -> str:
    """The curve a run is compared by: validation perplexity, else its selection metric."""
    curves = run.get("curves") if curves is None else curves
    curves, metrics = curves or {}, run.get("metrics") or {}
    if curves.get("val_ppl"):
        return "val_ppl"
    key = metrics.get("metric")
    return key if key and curves.get(key) else "train_loss"


def best_value(run: dict) -> float | None:
    metrics = run.get("metrics") or {}
    if isinstance(metrics.get("best_val_ppl"), (int, float)):
        return float(metrics["best_val_ppl"])
    best = metrics.get("best_metric")
    return float(best) if isinstance(best, (int, float)) else None


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


def _when(stamp) -> datetime | None:
    """An ISO UTC stamp from the store as local time (None when there is none or it is not one)."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone()
    except ValueError:
        return None


def started_cell(run: dict, now: datetime | None = None) -> tuple[str, str, float | None]:
    """(text, tooltip, sort key) of the Started cell, in local time like the chat and history
    panels (the cell showed the stored UTC stamp as if it were local): "14:05" today, "03 Dec,
    14:05" this year, "03 Dec 2025" before; the whole start and finish in the tooltip."""
    text, start = _started(run, now or datetime.now().astimezone())
    return text, started_tip(run.get("started_at"), run.get("finished_at")), start


def _started(run: dict, now: datetime) -> tuple[str, float | None]:
    """The Started cell's text and sort key (its tooltip is made when it is shown: started_tip)."""
    start = _when(run.get("started_at"))
    if start is None:
        return str(run.get("started_at") or "")[:16], None
    if start.date() == now.date():
        text = start.strftime("%H:%M")
    else:
        text = start.strftime("%d %b, %H:%M" if start.year == now.year else "%d %b %Y")
    return text, start.timestamp()


def started_tip(started_at, finished_at) -> str:
    """The Started cell's tooltip: the whole start and finish, in local time."""
    start, end = _when(started_at), _when(finished_at)
    if start is None:
        return str(started_at or "")
    tip = f"Started {start.strftime('%A %d %B %Y, %H:%M:%S')}"
    if end is not None:
        tip += f"\nFinished {end.strftime('%A %d %B %Y, %H:%M:%S')}"
    return tip


def data_text(data) -> str:
    """The Data cell: the file or folder's name (its whole path is in the tooltip), which leaves
    the model folder in view."""
    text = str(data or "").rstrip("/\\")
    name = text.replace("\\", "/").rsplit("/", 1)[-1] or text
    return name if len(name) <= DATA_CHARS else "…" + name[-(DATA_CHARS - 1) :]


def curves_stamp(run: dict) -> tuple:
    """What changes when a run's stored curves may have: a cached curve older than it is read again."""
    return (run.get("status"), (run.get("metrics") or {}).get("steps"), run.get("finished_at"))


class SortItem(QTableWidgetItem):
    """A cell sorted by its SORT_ROLE number; a cell without one (a run that failed or has not
    been measured) comes last in either order: first, ascending put a column of blanks on top of
    the best runs."""

    def __lt__(self, other) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            if (mine is None) == (theirs is None):
                return False
            view = self.tableWidget()
            order = view.horizontalHeader().sortIndicatorOrder() if view is not None else None
            # a descending sort asks "other < self": a blank is then the smallest, so it ends last
            return (theirs is None) == (order != Qt.SortOrder.DescendingOrder)
        return mine < theirs


class StartedItem(SortItem):
    """The Started cell: its tooltip is written when it is asked for (two long dates per row were
    a third of a refresh's time: 46 of 160 ms at 500 runs)."""

    def __init__(self, text: str, stamps: tuple) -> None:
        super().__init__(text)
        self.stamps = stamps  # (started_at, finished_at) as stored

    def data(self, role):
        value = super().data(role)
        if value is None and role == Qt.ItemDataRole.ToolTipRole:
            return started_tip(*self.stamps) or None
        return value


SORTED_COLUMNS = (RUN_COL, BEST_COL, STEPS_COL, MINUTES_COL, STARTED_COL)


class PathDelegate(QStyledItemDelegate):
    """A path cell elided at its start ("…models/run-0003-dialogue-lstm"): the end names the
    folder. The style sheet's item drawing ignored the view's ElideLeft and cut the name off."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 (Qt's name)
        super().initStyleOption(option, index)
        room = option.rect.width() - 10
        if room > 0 and option.text:
            option.text = option.fontMetrics.elidedText(option.text, Qt.TextElideMode.ElideLeft, room)


class _DeleteKey(QObject):
    """The Delete key on the table asks to delete the current run."""

    def __init__(self, table: RunsTable) -> None:
        super().__init__(table)
        self.owner = table

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Delete:
            run = self.owner.current_run()
            if run is not None:
                self.owner.delete_requested.emit(run)
                return True
        return False


class RunsTable(QWidget):
    selection_changed = Signal(object)  # list of selected run dicts
    curves_wanted = Signal(object)  # run ids whose curves the overlay needs (answer: add_curves)
    delete_requested = Signal(object)  # the run dict (context menu or the Delete key)
    rename_requested = Signal(object)  # the run dict

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._runs: list[dict] = []
        self._by_id: dict[int, dict] = {}
        self._curves: dict[int, tuple[tuple, dict]] = {}  # run id -> (curves_stamp when read, curves)
        self._asked: dict[int, tuple] = {}  # run id -> curves_stamp: curves asked for, not here yet
        self._live: dict[int, dict] = {}  # run id -> what its progress events said (status, metrics)
        self.curves_problem = ""  # why the last curves could not be read
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._paths = PathDelegate(self.table)
        for col in (DATA_COL, FOLDER_COLUMN):  # a path keeps its end: the folder's name
            self.table.setItemDelegateForColumn(col, self._paths)
        self.table.verticalHeader().setVisible(False)
        # Interactive, sized once per fill: ResizeToContents re-measured every column at each of the
        # 10 x N setItem() calls of a refresh (quadratic: 13 s for 200 runs, 101 s for 500)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(SIZE_SAMPLE_ROWS)
        header.setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(RUN_COL, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_menu)
        self._delete_key = _DeleteKey(self)
        self.table.installEventFilter(self._delete_key)
        self.menu: QMenu | None = None
        self.overlay = LivePlot("Selected runs", "step", "", log_y=True)
        self._plotted: dict[str, tuple] = {}  # overlay curve -> (the points it was drawn from, colour)
        self._plot_state: tuple = ()  # (metric, log axis) the overlay's curves were drawn for
        split.addWidget(self.table)
        split.addWidget(self.overlay)
        # the table and the overlay share the height: the table had about 2 rows at 1360 x 860
        self.table.setMinimumHeight(self.table.verticalHeader().defaultSectionSize() * 4 + 30)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        lay.addWidget(split)

    # ================================================================== rows
    @property
    def runs(self) -> list[dict]:
        """The runs shown, newest first (whatever order the table is sorted in)."""
        return self._runs

    @runs.setter
    def runs(self, runs: list[dict]) -> None:
        self._runs = list(runs)
        self._by_id = {r["id"]: r for r in self._runs}

    def set_runs(self, runs: list[dict]) -> None:
        """Show ``runs`` (newest first unless sorted otherwise), keeping the selection by run id."""
        keep = {r["id"] for r in self.selected()}
        self.runs = [self._with_live(r) for r in runs]
        for run_id in [i for i in self._curves if i not in self._by_id]:
            del self._curves[run_id]  # a deleted run's curves
        table = self.table
        sorting = table.isSortingEnabled()
        table.setSortingEnabled(False)
        table.setUpdatesEnabled(False)
        table.blockSignals(True)
        now = datetime.now().astimezone()  # once a fill (it was read once a row)
        try:
            table.clearSelection()  # rows now hold other runs: the selection is set again by id below
            table.setRowCount(len(self.runs))
            chosen, model = QItemSelection(), table.model()
            last = model.columnCount() - 1
            for row, run in enumerate(self.runs):
                self._fill_row(row, run, now)
                if run["id"] in keep:
                    chosen.select(model.index(row, 0), model.index(row, last))
            # one selection change: selectRow() per kept row cleared the ones before (ExtendedSelection)
            table.selectionModel().select(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            shown = [c for c in range(last + 1) if not table.isColumnHidden(c)]
            for col in shown[:-1]:  # once, on at most SIZE_SAMPLE_ROWS rows; the last one shown stretches
                table.resizeColumnToContents(col)
            if DATA_COL in shown[:-1]:
                table.setColumnWidth(DATA_COL, min(table.columnWidth(DATA_COL), DATA_MAX_PX))
        finally:
            table.setSortingEnabled(sorting)  # sorts the rows (the selection moves with them)
            table.blockSignals(False)
            table.setUpdatesEnabled(True)
        self._on_selection()

    def _with_live(self, run: dict) -> dict:
        """A run being trained, with what its progress events said since the history was read."""
        live = self._live.get(run["id"])
        if live is None:
            return run
        if run.get("status") != "running":  # it ended: the history has its results now
            del self._live[run["id"]]
            return run
        return {**run, "metrics": {**(run.get("metrics") or {}), **live}}

    def _fill_row(self, row: int, run: dict, now: datetime | None = None) -> None:
        for col, item in enumerate(self._items(run, now)):
            self.table.setItem(row, col, item)

    def _items(self, run: dict, now: datetime | None = None) -> list[QTableWidgetItem]:
        metrics = run.get("metrics") or {}
        minutes = run.get("duration_s")
        status = str(run.get("status") or "")
        folder = run_folder(run)
        started, started_at = _started(run, now or datetime.now().astimezone())
        missing = folder_missing(run)
        sort_keys = {
            RUN_COL: run["id"],
            BEST_COL: best_value(run),
            STEPS_COL: metrics.get("steps") if isinstance(metrics.get("steps"), (int, float)) else None,
            MINUTES_COL: minutes / 60 if isinstance(minutes, (int, float)) else None,
            STARTED_COL: started_at,
        }
        values = (
            run_name(run),
            run.get("task", ""),
            data_text(run.get("data")),
            run_cell(run),
            status,
            best_text(run),
            _fmt(metrics.get("steps")),
            _fmt(minutes / 60 if minutes is not None else None),
            started,
            FOLDER_MISSING if missing else folder,
        )
        tips = {DATA_COL: str(run.get("data") or ""), FOLDER_COLUMN: folder}
        if missing:
            tips[FOLDER_COLUMN] = f"{folder}\nThis folder is gone (deleted or moved): the run cannot resume."
        if status == "error" and metrics.get("error"):
            tips[STATUS_COL] = f"The run failed: {metrics['error']}"
        elif status == "interrupted":
            tips[STATUS_COL] = "The app was closed or stopped while this run trained: it can be resumed."
        if status in ("running", "interrupted"):
            for col in (BEST_COL, STEPS_COL):
                if not values[col]:
                    tips[col] = NOT_MEASURED
        items = []
        stamps = (run.get("started_at"), run.get("finished_at"))
        for col, text in enumerate(values):
            if col == STARTED_COL:
                item = StartedItem(text, stamps)
            else:
                item = SortItem(text) if col in SORTED_COLUMNS else QTableWidgetItem(text)
            if col in sort_keys and sort_keys[col] is not None:
                item.setData(SORT_ROLE, sort_keys[col])
            if tips.get(col):
                item.setToolTip(tips[col])
            items.append(item)
        items[RUN_COL].setData(Qt.ItemDataRole.UserRole, run["id"])  # the row's run (its other cells: none)
        if missing:
            items[FOLDER_COLUMN].setForeground(self.table.palette().color(QPalette.ColorRole.PlaceholderText))
        return items

    def _row_of(self, run_id: int) -> int:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, RUN_COL)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == run_id:
                return row
        return -1

    def _refill(self, run: dict) -> None:
        """Show ``run`` (a changed version of a listed one) in its row."""
        self.runs = [run if r["id"] == run["id"] else r for r in self.runs]
        row = self._row_of(run["id"])
        if row < 0:
            return
        for col, fresh in enumerate(self._items(run)):  # in place: the row keeps its selection and place
            item = self.table.item(row, col)
            if item is None:
                self.table.setItem(row, col, fresh)
                continue
            for role in (
                Qt.ItemDataRole.DisplayRole,
                Qt.ItemDataRole.ToolTipRole,
                Qt.ItemDataRole.ForegroundRole,
                SORT_ROLE,
            ):
                if item.data(role) != fresh.data(role):
                    item.setData(role, fresh.data(role))

    def run(self, run_id: int) -> dict | None:
        return self._by_id.get(run_id)

    def show_live(self, run: dict) -> None:
        """A run that has just started: listed now (a new one at the top), marked running."""
        known = self._by_id.get(run["id"])
        if known is None:
            self.set_runs([run, *self.runs])
        elif known.get("status") != "running":
            self._refill({**known, "status": "running"})

    def update_live(self, run_id: int, **metrics) -> None:
        """A run being trained measured ``metrics`` (steps, best_val_ppl, best_metric …): its row
        shows them without reading the history."""
        known = self._by_id.get(run_id)
        if known is None:
            return
        live = self._live.setdefault(run_id, {})
        live.update({k: v for k, v in metrics.items() if v is not None})
        self._refill({**known, "status": "running", "metrics": {**(known.get("metrics") or {}), **live}})

    def end_live(self, run_id: int | None) -> None:
        """The run's job has ended: the next reading of the history has its results."""
        self._live.pop(run_id, None)

    def set_label(self, run_id: int, label: str | None) -> None:
        known = self._by_id.get(run_id)
        if known is not None:
            self._refill({**known, "label": label or None})
            self._draw()

    def remove_run(self, run_id: int) -> None:
        row = self._row_of(run_id)
        self.runs = [r for r in self.runs if r["id"] != run_id]
        self._curves.pop(run_id, None)
        self._live.pop(run_id, None)
        if row >= 0:
            self.table.removeRow(row)  # the selection changes: the overlay follows

    def select(self, run_ids: list[int]) -> None:
        model, flags = self.table.model(), QItemSelectionModel.SelectionFlag
        chosen, last = QItemSelection(), model.columnCount() - 1
        for row in range(self.table.rowCount()):
            if self.table.item(row, RUN_COL).data(Qt.ItemDataRole.UserRole) in run_ids:
                chosen.select(model.index(row, 0), model.index(row, last))
        self.table.selectionModel().select(chosen, flags.ClearAndSelect)

    def selected(self) -> list[dict]:
        """The selected runs, in the order the table shows them."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        out = []
        for row in rows:
            item = self.table.item(row, RUN_COL)
            run = self._by_id.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
            if run is not None:
                out.append(run)
        return out

    def current_run(self) -> dict | None:
        item = self.table.item(self.table.currentRow(), RUN_COL)
        return self._by_id.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    # ================================================================== the context menu
    def menu_for(self, run: dict) -> QMenu:
        """Delete run…, Rename…, Open folder and Copy folder path, for ``run``."""
        menu = QMenu(self)
        folder = run_folder(run)
        delete = menu.addAction("Delete run…")
        delete.triggered.connect(lambda: self.delete_requested.emit(run))
        rename = menu.addAction("Rename…")
        rename.triggered.connect(lambda: self.rename_requested.emit(run))
        menu.addSeparator()
        opened = menu.addAction("Open folder")
        opened.setEnabled(bool(folder) and run.get("folder_exists", True) is not False)
        opened.triggered.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(folder)))
        copy = menu.addAction("Copy folder path")
        copy.setEnabled(bool(folder))
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(folder))
        return menu

    def _show_menu(self, pos) -> None:
        item = self.table.itemAt(pos)
        item = self.table.item(item.row(), RUN_COL) if item is not None else None
        run = self._by_id.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
        if run is None:
            return
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = self.menu_for(run)
        self.menu.popup(self.table.viewport().mapToGlobal(pos))

    # ================================================================== curves
    def curves_of(self, run: dict) -> dict | None:
        """The run's curves: carried by the run (an older runs job), or read for it and still current."""
        if run.get("curves") is not None:
            return run["curves"]
        cached = self._curves.get(run["id"])
        return cached[1] if cached is not None and cached[0] == curves_stamp(run) else None

    def add_curves(self, curves: dict, asked=()) -> None:
        """The curves of runs asked for by ``curves_wanted`` (``asked``: their ids; a run the
        history no longer has gets none)."""
        got = {int(k): v or {} for k, v in (curves or {}).items()}
        for run_id in {*got, *(int(i) for i in asked)}:
            run = self._by_id.get(run_id)
            stamp = self._asked.pop(run_id, None)
            if run is None:
                continue
            self._curves[run_id] = (stamp if stamp is not None else curves_stamp(run), got.get(run_id, {}))
        self.curves_problem = ""
        self._draw()

    def curves_failed(self, asked, message: str) -> None:
        for run_id in asked:
            self._asked.pop(int(run_id), None)
        self.curves_problem = message
        self._draw()

    def _missing_curves(self, chosen: list[dict]) -> list[dict]:
        return [r for r in chosen if self.curves_of(r) is None]

    def _drawable(self, run: dict) -> dict | None:
        """The curves to draw for ``run``: its current ones, else the last read (a live run's, some
        steps behind, until they are read again), else None."""
        curves = self.curves_of(run)
        if curves is None:
            cached = self._curves.get(run["id"])
            curves = cached[1] if cached is not None else None
        return curves

    def _ask(self, runs: list[dict]) -> None:
        """Ask for the curves of ``runs`` not asked for already (at their current stamp)."""
        ask = [r["id"] for r in runs if self._asked.get(r["id"]) != curves_stamp(r)]
        if ask:
            self._asked.update({i: curves_stamp(self._by_id[i]) for i in ask})
            self.curves_wanted.emit(ask)

    # ================================================================== the overlay
    def _on_selection(self) -> None:
        chosen = self.selected()
        self._ask(self._missing_curves(chosen))  # also a retry after curves_failed
        self._draw(chosen)
        self.selection_changed.emit(chosen)

    def _draw(self, chosen: list[dict] | None = None) -> None:
        chosen = self.selected() if chosen is None else chosen
        # a live run's progress changes its stamp: its curve was dropped at the next redraw (a
        # rename, another run's curves) and "Reading the curves…" stayed, with nothing asked for.
        # Its last curve is drawn now; a run with none at all is asked for here too (not after a
        # failure: curves_failed draws, and asking again would loop; a selection change retries)
        missing = {r["id"] for r in chosen if self._drawable(r) is None}
        if missing and not self.curves_problem:
            self._ask([r for r in chosen if r["id"] in missing])
        ready = [r for r in chosen if r["id"] not in missing]
        keys = {run_metric(run, self._drawable(run)) for run in ready}
        note = "" if chosen else NOTHING_SELECTED[0].upper() + NOTHING_SELECTED[1:] + "."
        if len(keys) > 1:  # unlike measures on one axis compare nothing: all by their training loss
            names = ", ".join(sorted(SHORT.get(k, k) for k in keys))
            note = f"The selected runs keep different measures ({names}): compared by training loss."
            keys = {"train_loss"}
        if missing:
            if self.curves_problem:
                note = f"The curves could not be read: {self.curves_problem}"
            else:
                note = (f"{note} " if note else "") + f"Reading the curves of {len(missing)} run(s)…"
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
        for run in ready:
            wanted[legend_name(run)] = (self._drawable(run) or {}).get(key) or []
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
