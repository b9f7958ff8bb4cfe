"""What the summarizer, captioner and forecaster tabs of the Train panel share.

A form on the left (each tab builds its rows in :meth:`TaskTrainTab.build_form`), Start / Cancel /
Resume, a status line, live curves (training and validation loss; the validation metrics in a
second plot), room for a tab's own widget (feature-extraction progress, a forecast preview) and
the table of this task's recorded runs. The run is an ``engine.lab.task_jobs`` job on the engine
service; progress arrives as ``job_progress`` dicts (see engine.lab.jobs.RunRecorder) and the
plots redraw on their own throttle timer.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.live_plot import PALETTE, LivePlot
from desktop.widgets.run_tab import RunTab, ended_words, model_ready, resumable
from desktop.widgets.runs_table import FOLDER_COLUMN, TASK_COL, RunsTable

TRAIN_COLOR, VAL_COLOR, EXTRA_COLOR = PALETTE[0], PALETTE[1], PALETTE[2]
METRIC_NAMES = {
    "rouge_l": "ROUGE-L",
    "bleu_4": "BLEU-4",
    "cider": "CIDEr",
    "val_loss": "validation loss",
    "val_nll": "validation NLL",
}


class PathRow(QWidget):
    """A path field with Browse buttons (``kinds``: "file" and/or "folder")."""

    def __init__(self, placeholder: str, kinds=("file",), title: str = "Choose", parent=None) -> None:
        super().__init__(parent)
        self.title = title
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        row.addWidget(self.edit, 1)
        for kind in kinds:
            button = QPushButton("File…" if kind == "file" and len(kinds) > 1 else "Browse…")
            if kind == "folder" and len(kinds) > 1:
                button.setText("Folder…")
            button.clicked.connect(self._browse_file if kind == "file" else self._browse_folder)
            row.addWidget(button)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming, like QLineEdit)
        self.edit.setText(text)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.title)
        if path:
            self.edit.setText(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.title)
        if path:
            self.edit.setText(path)


class TaskTrainTab(RunTab):
    TASK = ""  # the runs table's task name
    JOB = None  # the engine.lab.task_jobs function
    VAL_LOSS = "val_loss"  # the validation curve drawn beside the training loss
    METRICS: tuple[str, ...] = ()  # validation metrics drawn in the metric plot
    ITEMS = "tokens"  # what the throughput counts
    X_LABEL = "step"  # the curves' x axis
    STEP_UNIT = "steps"  # what a run's "steps" count, in the end message
    KEEPS_MODEL = True  # a run leaves a model folder the panels load (the forecaster's does not)

    run_finished = Signal(object)  # the job's result dict
    # the tab's "Start from" list (a tab with scan_models) needs a rescan: shown again, it is
    # rescanned; it was rescanned at every showing (80-90 ms for 500 runs, on the GUI thread)
    _models_stale = False
    _models_key: frozenset | None = None  # the runs (id, status, folder there) the list was made for

    def __init__(self, service, parent=None) -> None:
        super().__init__(service, parent)
        self.isolate = True  # train in a child process (tests set False to patch the engine in-process)
        self.RUN_WORDS = f"{self.TASK} run"
        later = "; the run can be resumed later" if self.CAN_RESUME else ""
        self.CANCEL_NOTE = f"Stopping after the current step{later}."
        self._build()
        self.listen()

    # ================================================================== for the tabs
    def build_form(self, form: QFormLayout) -> None:
        raise NotImplementedError

    def build_extra(self) -> QWidget | None:
        """A widget between the curves and the runs table (None: nothing)."""
        return None

    def config(self) -> dict:
        raise NotImplementedError

    def problem(self, config: dict) -> str | None:
        """What the form still lacks (shown instead of starting), or None."""
        return self.missing_extras()

    def missing_extras(self) -> str | None:
        """An optional package every run of this task needs and that is not installed, in words
        (checked before Start and Resume, so that no run is recorded, and the log keeps no
        traceback, for an expected error), or None."""
        return None

    def job_kwargs(self, config: dict) -> dict:
        return {"config": config, "out_root": self.out_root, "isolate": self.isolate}

    def start_text(self, info: dict) -> str:
        """The status line when a run starts (``info``: the run's "start" event)."""
        params = f", {info['params'] / 1e6:.2f} M parameters" if info.get("params") else ""
        return (
            f"Run #{self.run_id}: {info['train_examples']} training / {info['valid_examples']} "
            f"validation examples{params}, {info['steps_per_epoch']} step(s) per epoch"
        )

    def on_event(self, info: dict) -> None:
        """Events other than start / progress / eval (extract, refit, log)."""

    def on_result(self, result: dict) -> str:
        """The tab's part of the finished message."""
        return ""

    def show_run(self, run: dict) -> None:
        """A finished run was selected in the table (e.g. show its forecast)."""

    def accept_drop(self, paths: list[str]) -> None:
        """A file dropped on the panel while this tab shows."""

    # ================================================================== construction
    def _build(self) -> None:
        row = QHBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        row.addWidget(split)
        form_box = QWidget()
        form = QFormLayout(form_box)
        self.build_form(form)
        split.addWidget(self.form_column(form_box))
        right = QWidget()
        col = QVBoxLayout(right)
        col.addWidget(self.status_line())
        plots = QHBoxLayout()
        self.loss_plot = LivePlot("This run", self.X_LABEL, "loss")
        plots.addWidget(self.loss_plot, 1)
        self.metric_plot = LivePlot(
            "Validation", self.X_LABEL, " / ".join(METRIC_NAMES[m] for m in self.METRICS)
        )
        if not self.METRICS:  # hide() only: setVisible(True) on a widget with no parent yet shows a window
            self.metric_plot.hide()
        plots.addWidget(self.metric_plot, 1)
        col.addLayout(plots, 3)
        extra = self.build_extra()
        if extra is not None:
            col.addWidget(extra, 2)
        self.runs = RunsTable()
        self.runs.table.setColumnHidden(FOLDER_COLUMN, not self.KEEPS_MODEL)
        self.runs.table.setColumnHidden(TASK_COL, True)  # every row is this tab's task: room for the folder
        self.runs.selection_changed.connect(self._on_runs_selected)
        col.addWidget(self.runs, 3)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        self._set_running(False)

    # ================================================================== actions
    def start(self) -> None:
        cfg = self.config()
        problem = self.problem(cfg)
        if problem:
            self._say(problem)
            return
        self._begin(f"Starting a {self.TASK} run…")
        self.submit_run(type(self).JOB, self.job_kwargs(cfg))

    def resume(self) -> None:
        chosen = [r for r in self.runs.selected() if resumable(r)]
        if not chosen:
            self._say(f"Select a stopped {self.TASK} run in the table to resume it.")
            return
        missing = self.missing_extras()
        if missing:
            self._say(missing)
            return
        run = chosen[0]
        self._begin(f"Resuming run #{run['id']}…")
        self.submit_run(type(self).JOB, {**self.job_kwargs({}), "run_id": run["id"]})

    def _begin(self, text: str) -> None:
        self.loss_plot.clear()
        self.metric_plot.clear()
        self._set_running(True)
        self._say(text)

    # ================================================================== curves
    def val_name(self) -> str:
        """The validation curve's name in the loss plot."""
        return "validation" if self.VAL_LOSS == "val_loss" else METRIC_NAMES[self.VAL_LOSS]

    def add_loss(self, name: str, step, value, color: str, info: dict | None = None) -> None:
        """A point of the loss plot (``info``: the event it came from; tabs may split curves by it)."""
        self.loss_plot.add_point(name, step, value, color=color)

    def _add_eval(self, step, metrics: dict, info: dict | None = None) -> None:
        if self.VAL_LOSS in metrics:
            self.add_loss(self.val_name(), step, metrics[self.VAL_LOSS], VAL_COLOR, info)
        for key in self.METRICS:
            if key in metrics:
                self.metric_plot.add_point(METRIC_NAMES[key], step, metrics[key])

    def _replay(self, curves: dict) -> None:
        """A resumed run's curves so far (its plot continues them)."""
        for p in curves.get("train_loss", []):
            self.add_loss("training", p[0], p[1], TRAIN_COLOR)
        by_step: dict = {}
        for key in (self.VAL_LOSS, *self.METRICS):
            for p in curves.get(key, []):
                by_step.setdefault(p[0], {})[key] = p[1]
        for step in sorted(by_step):
            self._add_eval(step, by_step[step])

    # ================================================================== service signals
    def _on_progress(self, job_id: int, info) -> None:
        if job_id != self.job_id or not isinstance(info, dict):
            return
        kind = info.get("kind")
        if kind == "start":
            self.run_id = info.get("run_id")
            self._replay(info.get("curves") or {})
            self._say(self.start_text(info))
        elif kind == "progress":
            self.add_loss("training", info["step"], info["loss"], TRAIN_COLOR, info)
            eta = info.get("eta_s")
            eta_text = f", about {eta / 60:.1f} min left" if eta is not None and math.isfinite(eta) else ""
            self._say(
                f"Run #{self.run_id}: step {info['step']}/{info.get('total_steps') or '?'}, loss "
                f"{info['loss']:.3f}, {info['items_per_s']:.0f} {self.ITEMS}/s{eta_text}"
            )
        elif kind == "eval":
            self._add_eval(info["step"], info.get("metrics") or {}, info)
        else:
            self.on_event(info)

    def _on_finished(self, job_id: int, result) -> None:
        if job_id == self.runs_job:
            if self.fresh_runs(job_id):  # a shared runs job arrives twice
                self.runs.set_runs([r for r in result or [] if r.get("task") == self.TASK])
                self._note_models()
            return
        if job_id != self.job_id:
            return
        self.job_id = None
        self._set_running(False)
        m = result.get("metrics") or {}
        best = m.get("best_metric")
        name = METRIC_NAMES.get(m.get("metric"), m.get("metric") or "metric")
        best_text = f"best {name} {best:.4f}" if isinstance(best, (int, float)) else "no validation yet"
        if not self.KEEPS_MODEL:
            folder = ""
        else:
            folder = f" Model folder: {result['folder']}." if model_ready(result) else " No model yet."
        said = f"{ended_words(result, self.STEP_UNIT)}: {best_text}.{folder} {self.on_result(result)}"
        self._say(said.strip())
        self.loss_plot.flush()
        self.metric_plot.flush()
        self.refresh_runs()
        self.run_finished.emit(result)

    # ================================================================== the Start from list
    def _runs_key(self) -> frozenset:
        return frozenset((r["id"], r.get("status"), r.get("folder_exists")) for r in self.runs.runs)

    def _note_models(self) -> None:
        """The history was read: a run that ended, or one gone, changes the models to start from
        (this tab's runs, the CLI's): the list is rescanned now if shown, else when next shown."""
        key, before = self._runs_key(), self._models_key
        self._models_key = key
        if before is not None and key != before:
            self.models_changed()

    def models_changed(self) -> None:
        if not hasattr(self, "scan_models"):
            return
        if self.isVisible() and self.job_id is None:
            self.scan_models()
        else:
            self._models_stale = True

    def fill_start_from(self, kind: str, new_model: str, fine_tune: str) -> None:
        """Offer every ``kind`` model found (shipped first, then the user's runs) in ``start_from``,
        after ``new_model``; each as "<fine_tune> <name> (shipped | your run)". The choice is kept."""
        from desktop.task_models import task_model_entries

        chosen = self.start_from.currentData()
        self.start_from.blockSignals(True)
        self.start_from.clear()
        self.start_from.addItem(new_model, "")
        for e in task_model_entries(kind, getattr(self.service, "data", None)):
            source = "shipped" if e["source"] == "shipped" else "your run"  # (name says "unfinished")
            self.start_from.addItem(f"{fine_tune} {e['name']} ({source})", e["folder"])
        i = self.start_from.findData(chosen) if chosen else 0
        self.start_from.setCurrentIndex(max(i, 0))
        self.start_from.blockSignals(False)
        self._on_start_from()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override): a run finished meanwhile is offered
        super().showEvent(event)
        if hasattr(self, "scan_models"):
            self.scan_if_stale()  # only when a run ended or went (each showing read every config.json)

    def scan_if_stale(self) -> None:
        """(showEvent) Rescan the Start from list when a run ended or went since it was made."""
        if self._models_stale and self.job_id is None:
            self._models_stale = False
            self.scan_models()

    def after_delete(self, run: dict, result: dict) -> None:
        super().after_delete(run, result)
        if hasattr(self, "scan_models"):  # a deleted run is no model to start from: it failed
            self._models_stale = False  # with "model folder not found" when chosen
            self.scan_models()
        self._models_key = self._runs_key()

    def _on_runs_selected(self, runs) -> None:
        if self.job_id is None:
            self.resume_button.setEnabled(self.CAN_RESUME and any(resumable(r) for r in runs))
        if len(runs) == 1:
            self.show_run(runs[0])
