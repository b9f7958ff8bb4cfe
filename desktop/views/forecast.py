"""The Forecast panel: load a series, see where it is likely to go and how sure the model is.

Header: open a file (or drop one, or pick a shipped sample), the value column, horizon, method,
Forecast / Cancel. Below: the plot (history, forecast, 80/95% fan, backtest forecasts on demand)
and a side column with the backtest table (winner marked), notes and exports (CSV, PNG). All
reading and fitting runs on the engine thread (desktop/forecast_ops.py); every forecast is saved
in the history and ``show_history_item("forecast", id)`` draws a saved one again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop import forecast_ops as ops
from desktop.paths import RESOURCES
from desktop.widgets.caption_header import ProgressRow
from desktop.widgets.forecast_header import ForecastHeader, ForecastSide
from desktop.widgets.forecast_plot import ForecastPlot
from desktop.widgets.panel_parts import add_banner, listen_to_jobs, side_by_side

OPEN_FILTER = "Tables (*.csv *.tsv *.txt *.dat);;All files (*)"
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")  # a drop of several files opens the first table
BACKTEST_HINT = "Press Backtest to compare methods on this series."
DEMO_SAMPLE = "co2_monthly.csv"
BUSY_REOPEN = "A forecast or backtest is still running: stop it first or wait, then open this again."


class ForecastPanel(QWidget):
    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatArea")
        self.setAcceptDrops(True)
        self.service = service
        self.job_id: int | None = None  # the load / forecast / reopen job whose answer is awaited
        self.job_kind = ""  # "load", "forecast", "open"
        self.backtest_id: int | None = None
        self.export_jobs: dict[int, str] = {}
        self.source: dict | None = None  # the loaded file (load_series result)
        self.result: dict | None = None  # the shown forecast
        self.backtest: dict | None = None  # the shown backtest
        self.progress_events = 0  # LSTM epochs seen for the running job
        self.auto_share: float | None = None
        self.refit_done: dict[int, float] = {}  # member -> share of its refit done (members may interleave)
        self.lstm_options: dict | None = None  # LSTMConfig overrides (None: the engine's defaults)
        self.backtest_methods: list[str] | None = None  # methods compared (None: all baselines)
        self._build()
        self._connect()
        self._update_enabled()

    # ================================================================== construction
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.header = h = ForecastHeader()
        self.origin_label, self.open_button, self.sample_box = h.origin_label, h.open_button, h.sample_box
        self.column_box, self.horizon, self.method_box = h.column_box, h.horizon, h.method_box
        self.backtest_button, self.run_button = h.backtest_button, h.run_button
        col.addWidget(h)
        add_banner(self, col)
        self.progress_row = ProgressRow()
        col.addWidget(self.progress_row)
        # plot | side column
        self.splitter = side_by_side()
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(24, 12, 12, 16)
        self.plot = ForecastPlot()
        lcol.addWidget(self.plot, 1)
        self.empty_label = QLabel("Open a CSV file, drop one here, or pick a sample to begin.")
        self.empty_label.setObjectName("MutedLabel")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lcol.addWidget(self.empty_label)
        self.splitter.addWidget(left)
        self.side = side = ForecastSide()
        self.metrics, self.show_backtest, self.backtest_note = (
            side.metrics,
            side.show_backtest,
            side.backtest_note,
        )
        self.notes, self.csv_button, self.png_button = side.notes, side.csv_button, side.png_button
        self.fit_button = side.fit_button
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([820, 360])
        col.addWidget(self.splitter, 1)

    def _connect(self) -> None:
        listen_to_jobs(self)
        self.open_button.clicked.connect(self.ask_open)
        self.sample_box.activated.connect(self._on_sample)
        self.column_box.activated.connect(self._on_column)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.backtest_button.clicked.connect(self.run_backtest)
        self.metrics.method_chosen.connect(self._draw_backtest)
        self.show_backtest.toggled.connect(self.plot.show_backtest)
        self.csv_button.clicked.connect(self.ask_export_csv)
        self.png_button.clicked.connect(self.ask_export_png)
        self.fit_button.clicked.connect(self.plot.fit_view)
        self.side.defaults_button.clicked.connect(self._lstm_defaults)

    def _lstm_defaults(self) -> None:
        self.use_lstm_settings(None)

    # ================================================================== user actions
    @property
    def busy(self) -> bool:
        return self.job_id is not None or self.backtest_id is not None

    def settings(self) -> dict:
        return {
            "horizon": self.horizon.value(),
            "method": self.method_box.currentData(),
            "lstm": self.lstm_options,
        }

    def use_lstm_settings(self, options: dict | None, origin: str = "") -> None:
        """The LSTM settings (LSTMConfig fields) the lstm, hybrid and auto forecasts fit with from now
        on; None: the engine's defaults again."""
        self.lstm_options = dict(options) if options else None
        self.side.set_lstm_origin(origin if options else "")
        if options:
            shown = ", ".join(f"{k} {v}" for k, v in options.items())
            self.show_message(f"LSTM settings from {origin} are used from now on: {shown}.", "info")
        else:
            self.show_message("The LSTM is back to its default settings.", "info")

    def open_file(self, path: str, column=None) -> bool:
        """Read ``path`` on the engine thread and draw its history; False when refused (busy)."""
        if self.busy:
            self.show_message("A job is running; wait for it or cancel it first.", "info")
            return False
        self._start(
            "load", ops.load_series, {"path": str(path), "column": column}, f"Reading {Path(path).name}…"
        )
        return True

    def open_sample(self, name: str) -> None:
        self.open_file(str(RESOURCES / "samples" / name))

    def handle_drop(self, paths: list[str]) -> None:
        files = [p for p in paths if p]
        tables = [p for p in files if Path(p).suffix.lower() in TABLE_SUFFIXES] or files
        if not tables:
            return
        if self.open_file(tables[0]) and len(files) > 1:
            rest = len(files) - 1
            self._show_progress(
                f"Reading {Path(tables[0]).name} ({rest} other dropped file{'s' if rest > 1 else ''} "
                "left: one series at a time)…",
                None,
            )

    def forecast(self) -> None:
        if self.busy or self.source is None:
            return
        s = self.settings()
        kwargs = {"path": self.source["path"], "column": self.source["column"], **s}
        what = f"Forecasting {s['horizon']} steps of {self.source['name']} with {s['method']}…"
        self._start("forecast", ops.forecast_file, kwargs, what)

    def run_backtest(self) -> None:
        if self.busy or self.source is None:
            return
        s = self.settings()
        kwargs = {"path": self.source["path"], "column": self.source["column"], **s}
        kwargs["methods"] = self.backtest_methods
        self.message.hide()
        self.progress_events = 0
        self.refit_done = {}
        self.auto_share = None  # auto's share of its candidate fits done (the bar while they train)
        self._show_progress(f"Backtesting methods at horizon {s['horizon']}…", None)
        self.backtest_id = self.service.submit("forecast", ops.backtest_file, kwargs)
        self._set_busy(True)

    def show_history_item(self, kind: str, item_id: int) -> None:
        if kind != ops.FORECAST_KIND:
            return
        if self.busy:  # never stop a fit or backtest silently: the person asks again when it is done
            self.show_message(BUSY_REOPEN, "info")
            return
        self._start("open", ops.open_forecast, {"item_id": int(item_id)}, "Opening the saved forecast…")

    def cancel(self) -> None:
        for job in (self.job_id, self.backtest_id):
            if job is not None:
                self.service.cancel(job)
        self.job_id = self.backtest_id = None
        self._set_busy(False)
        # (a forecast that had already finished may be in the history: the plot is unchanged)
        self.show_message("Cancelled. The plot was left as it was.", "info")

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a series to forecast", str(Path.home()), OPEN_FILTER
        )
        if path:
            self.open_file(path)

    def ask_export_csv(self) -> None:
        if self.result is None:
            return
        default = str(Path.home() / f"{_safe(self.result['name'])}-forecast.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export the forecast", default, "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> int | None:
        """Write the shown forecast to ``path`` (on the engine thread); the job id."""
        if self.result is None:
            return None
        job = self.service.submit("export", ops.write_forecast_csv, {"path": path, "result": self.result})
        self.export_jobs[job] = path
        return job

    def ask_export_png(self) -> None:
        name = _safe(self.result["name"] if self.result else "forecast")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the plot", str(Path.home() / f"{name}-forecast.png"), "PNG image (*.png)"
        )
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> None:
        """Render the plot to ``path`` (a GUI-thread job: it paints Qt items)."""
        try:
            path = self.plot.export_png(path)
        except (OSError, RuntimeError, ValueError) as exc:
            self.show_message(f"Could not export the plot to {path}: {exc}")
            return
        self.show_message(f"Plot saved to {path}", "info")

    def _on_sample(self, index: int) -> None:
        path = self.sample_box.itemData(index)
        self.sample_box.setCurrentIndex(0)
        if path:
            self.open_file(path)

    def _show_source_column(self) -> None:
        if self.source is not None and self.column_box.currentText() != self.source["column"]:
            self.column_box.blockSignals(True)
            self.column_box.setCurrentText(str(self.source["column"]))
            self.column_box.blockSignals(False)

    def _on_column(self, index: int) -> None:
        column = self.column_box.itemText(index)
        if self.source is not None and column != self.source["column"]:
            self.open_file(self.source["path"], column)

    def _on_run_clicked(self) -> None:
        if self.busy:
            self.cancel()
        else:
            self.forecast()

    # ======================================================================= jobs
    def _start(self, kind: str, fn, kwargs: dict, what: str) -> None:
        self.message.hide()
        self.progress_events = 0
        self.refit_done = {}
        self.auto_share = None  # auto's share of its candidate fits done (the bar while they train)
        self.job_kind = kind
        self._show_progress(what, None)
        self.job_id = self.service.submit("forecast", fn, kwargs)
        self._set_busy(True)

    def _on_job_progress(self, job_id: int, info) -> None:
        if job_id not in (self.job_id, self.backtest_id) or not isinstance(info, dict):
            return
        stage = info.get("stage")
        if stage == "lstm":
            self.progress_events += 1
            member, epoch = int(info.get("member", 0)), int(info.get("epoch", 0))
            self.refit_done.pop(member + 1, None)  # a new fit (the backtest's next origin) begins
            val = info.get("val_loss")
            loss = f", validation loss {val:.4f}" if isinstance(val, float) else ""
            text = f"Training the LSTM: member {member + 1}, epoch {epoch}{loss}"
            self._show_progress(text, self.auto_share)
        elif stage == "lstm_refit":
            self.progress_events += 1
            member, epoch = int(info.get("member", 0)) + 1, int(info.get("epoch", 0))
            epochs = max(int(info.get("epochs", 1)), 1)
            # members refit side by side on threads: the bar shows their mean progress (members that
            # have not started count as 0, so the bar only moves forward)
            self.refit_done[member] = epoch / epochs
            members = max(int(info.get("members", 1) or 1), len(self.refit_done))
            share = sum(self.refit_done.values()) / members
            text = f"Refitting the LSTM on all points: member {member}, epoch {epoch}"
            self._show_progress(text, share)
        elif stage == "backtest":
            done, total = int(info.get("done", 0)), max(int(info.get("total", 1)), 1)
            self._show_progress(
                f"Backtesting {info.get('method')} at origin {info.get('origin')}…", done / total
            )
        elif stage == "auto":  # a bar that moves: the text stood still 8-10 s while a candidate fitted
            done, total = int(info.get("done", 0)), int(info.get("total", 0))
            self.auto_share = done / (total + 1) if total else None  # (+1: the final forecast)
            count = f" (fit {done + 1} of {total})" if total else ""
            self._show_progress(
                f"auto: trying {info.get('method')} on the points before {info.get('origin')}{count}…",
                self.auto_share,
            )
        elif stage == "fitting":
            self._show_progress(f"Fitting {info.get('method')} on {info.get('points', 0):,} points…", None)

    def _on_job_finished(self, job_id: int, result) -> None:
        if job_id in self.export_jobs:
            path = self.export_jobs.pop(job_id)
            self.show_message(f"Forecast exported to {result if isinstance(result, str) else path}", "info")
        elif job_id == self.backtest_id:
            self.backtest_id = None
            self._set_busy(self.job_id is not None)
            if isinstance(result, dict) and not result.get("cancelled"):
                self.show_backtest_result(result)
        elif job_id == self.job_id:
            self.job_id = None
            self._set_busy(self.backtest_id is not None)
            if not isinstance(result, dict) or result.get("cancelled"):
                return
            if self.job_kind == "load":
                self.show_source(result)
            else:
                self.show_result(result)

    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id in self.export_jobs:
            self.show_message(f"Could not export to {self.export_jobs.pop(job_id)}: {message}")
        elif job_id in (self.job_id, self.backtest_id):
            if job_id == self.job_id:
                self.job_id = None
            else:
                self.backtest_id = None
            self._set_busy(self.busy)
            self.show_message(message)
            self._show_source_column()  # a column that could not be read is not left selected

    # ====================================================================== showing
    def show_source(self, source: dict) -> None:
        """A freshly read file: its history on the plot, its columns in the box."""
        self.source = source
        self.result = self.backtest = None
        self._show_columns(source["columns"] or [source["column"]], source["column"])
        self.plot.clear()
        self.plot.set_history(source["x"], source["y"], source["dated"], source["name"])
        self.plot.fit_view()
        self._forget_backtest()
        self.origin_label.setText(f"   {source['origin']} · {len(source['y']):,} points")
        self._set_notes(source.get("warnings") or [])
        self._update_enabled()

    def _show_columns(self, columns: list, current) -> None:
        self.column_box.blockSignals(True)
        self.column_box.clear()
        self.column_box.addItems([str(c) for c in columns])
        self.column_box.setCurrentText(str(current))
        self.column_box.blockSignals(False)

    def _forget_backtest(self) -> None:
        self.backtest = None
        self.metrics.set_rows([], None)
        self.backtest_note.setText(BACKTEST_HINT)

    def show_result(self, result: dict) -> None:
        """Draw a forecast of desktop.forecast_ops (fresh or from the history)."""
        self.result = result
        other = self.source is None or self.source.get("path") != result.get("path")
        if other or self.job_kind == "open" or result.get("columns") is not None:
            # a saved forecast, or a fresh one (of the whole file: its count and columns as read now)
            columns = result.get("columns") or [result.get("column")]
            self.source = {
                k: result.get(k) for k in ("path", "origin", "name", "column", "x", "y", "dated")
            } | {"columns": columns, "warnings": [], "missing": bool(result.get("missing"))}
            self._show_columns(columns, result.get("column"))
            self.origin_label.setText(f"   {result.get('origin')} · {len(result['y']):,} points")
            if other or self.job_kind == "open":
                self._forget_backtest()
        self.plot.set_history(result["x"], result["y"], bool(result["dated"]), result["name"])
        self.plot.clear_forecast()
        self.plot.set_forecast(result)
        if self.backtest is not None:
            self._draw_backtest(self.metrics.best or "")
        self.plot.fit_view()
        self.horizon.setValue(int(result["horizon"]))
        self.method_box.setCurrentText(result["method"])
        notes = list(result.get("warnings") or [])
        if result.get("reason"):
            notes.insert(0, f"auto: {result['reason']}")
        facts = [f"season {result.get('season')}"]
        if result.get("seconds") is not None:
            facts.append(f"{result['seconds']:.1f} s")
        if result.get("forecast_id") is not None:
            facts.append("saved in history")
        notes.insert(0, " · ".join(facts))
        self._set_notes(notes)
        self._update_enabled()

    def show_backtest_result(self, bt: dict) -> None:
        self.backtest = bt
        self.metrics.set_rows(bt["rows"], bt["best"])
        origins = ", ".join(str(o) for o in bt["origins"])
        note = f"{len(bt['origins'])} fold(s) of {bt['horizon']} steps from points {origins}"
        note += f"; season {bt['season']}."
        if bt.get("best"):
            note = f"Best by MASE: {bt['best']}. " + note
        warn = [w for w in bt.get("warnings") or [] if "fold" in w or "skip" in w]
        self.backtest_note.setText(" ".join([note, *warn]))
        self._draw_backtest(bt["best"] or "")
        self.metrics.select_method(bt["best"] or "")
        self._update_enabled()

    def _draw_backtest(self, method) -> None:
        if self.backtest is None:
            return
        path = self.backtest["paths"].get(method)
        if path is None:
            self.plot.set_backtest([], [])
            return
        self.plot.set_backtest(path["x"], path["y"], f"backtest ({method})")
        self.plot.show_backtest(self.show_backtest.isChecked())

    def show_message(self, text: str, level: str = "warning") -> None:
        self.message.show_message(text, level)

    def _set_notes(self, notes: list[str]) -> None:
        self.notes.setText("\n".join(f"• {n}" for n in notes) if notes else "")

    def _show_progress(self, text: str, fraction) -> None:
        self.progress_row.show_progress(text, fraction)

    def _set_busy(self, busy: bool) -> None:
        if not busy:
            self.progress_row.hide()
        self.run_button.setText("Cancel" if busy else "Forecast")
        self.run_button.setObjectName("CancelButton" if busy else "PrimaryButton")
        self.run_button.style().unpolish(self.run_button)
        self.run_button.style().polish(self.run_button)
        # the settings too: a result arriving sets them to what it was made with
        for w in (
            self.open_button, self.sample_box, self.column_box, self.backtest_button, self.horizon,
            self.method_box,
        ):  # fmt: skip
            w.setEnabled(not busy)
        self._update_enabled()

    def _update_enabled(self) -> None:
        loaded = self.source is not None
        readable = loaded and not self.source.get("missing")  # a reopened forecast's file may be gone
        self.run_button.setEnabled(readable or self.busy)
        self.backtest_button.setEnabled(readable and not self.busy)
        self.csv_button.setEnabled(self.result is not None)
        self.png_button.setEnabled(loaded)
        self.empty_label.setVisible(not loaded)

    # ====================================================================== drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.handle_drop(paths)
        event.acceptProposedAction()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in str(name)).strip()[:60] or "forecast"


def create_panel(service, parent) -> QWidget:
    return ForecastPanel(service, parent)


def demo(panel: ForecastPanel, sample: str = DEMO_SAMPLE) -> None:
    """Fill ``panel`` with a shipped sample, its ETS forecast and a backtest of the baselines,
    synchronously on this thread (for ``main.py --screenshot``; nothing is saved)."""
    path = str(RESOURCES / "samples" / sample)
    panel.show_source(ops.load_series(path))
    panel.horizon.setValue(24)
    result = ops.forecast_file(path, None, 24, "ets")
    result["warnings"] = [w for w in result["warnings"] if not w.startswith("History is off")]
    panel.show_backtest_result(ops.backtest_file(path, None, 24, "ets"))
    panel.show_result(result)
