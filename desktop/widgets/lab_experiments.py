"""The lecture's experiments: cells compared on synthetic tasks, and gradient flow watched live.

* :class:`CompareTab`: pick a task, cells and lengths; one click trains every (cell, length) and
  plots accuracy against sequence length, each point as soon as it is measured.
* :class:`FlowTab`: ``||dLoss/dh_t||`` over time steps for one cell while it trains, redrawn at
  every probe, with clipping and identity initialisation to toggle.

Both run engine.lab.jobs functions on the engine thread and listen to job signals by job id.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.live_plot import PALETTE, LivePlot
from desktop.widgets.spinboxes import spin as _spin
from desktop.widgets.train_dialogue import CELL_CHOICES
from engine.lab import jobs

TASK_CHOICES = (
    ("Adding problem", "adding"),
    ('Parity ("YES if the number of 1s is even")', "parity"),
    ("Copy task", "copy"),
)
DEFAULT_LENGTHS = {"adding": "5, 10, 20, 40", "parity": "2, 3, 4, 6, 8", "copy": "8, 12, 20, 30"}
LECTURE_CELLS = ("rnn", "irnn", "gru", "lstm", "peephole_lstm", "cifg_lstm")
LEFT_MAX_PX = 420  # width of the settings column


class _JobTab(QWidget):
    """Shared plumbing: one job at a time, filtered by id, with Run / Cancel buttons."""

    done = Signal(object)  # the job's result

    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.service = service
        self.job_id: int | None = None
        self.result = None
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        service.job_progress.connect(self._on_progress)
        service.job_finished.connect(self._on_finished)
        service.job_failed.connect(self._on_failed)

    def _arrange(self, form, left: tuple = (), right: tuple = ()) -> None:
        """Settings (and ``left`` widgets) in a column on the left, ``right`` (widget, stretch) beside it."""
        row = QHBoxLayout(self)
        side = QWidget()
        side.setFixedWidth(LEFT_MAX_PX)  # status text changes must not resize the plots beside it
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(form)
        for w in (*left, self.status):
            col.addWidget(w)
        col.addStretch(1)
        row.addWidget(side)
        main = QVBoxLayout()
        for w, stretch in right:
            if isinstance(w, QWidget):
                main.addWidget(w, stretch)
            else:
                main.addLayout(w, stretch)
        row.addLayout(main, 1)

    def _submit(self, kind: str, fn, kwargs: dict) -> None:
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job_id = self.service.submit(kind, fn, kwargs)

    def run(self) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        if self.job_id is not None:
            self.service.cancel(self.job_id)

    def _end(self) -> None:
        self.job_id = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_progress(self, job_id: int, info) -> None:
        if job_id == self.job_id and isinstance(info, dict):
            self.progress(info)

    def _on_finished(self, job_id: int, result) -> None:
        if job_id == self.job_id:
            self._end()
            self.result = result
            self.finished(result)
            self.done.emit(result)

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.job_id:
            self._end()
            self.status.setText(message)
            bar = getattr(self, "bar", None)
            if bar is not None and bar.maximum() == 0:  # not left in Qt's "busy" animation
                bar.setRange(0, 1)
                bar.setValue(0)

    def progress(self, info: dict) -> None:
        pass

    def finished(self, result) -> None:
        pass


class CompareTab(_JobTab):
    def __init__(self, service, parent=None) -> None:
        super().__init__(service, parent)
        form = QFormLayout()
        self.task = QComboBox()
        for label, key in TASK_CHOICES:
            self.task.addItem(label, key)
        self.task.currentIndexChanged.connect(self._on_task)
        self.lengths = QLineEdit(DEFAULT_LENGTHS["adding"])
        self.steps = _spin(1, 100_000, 300)
        self.hidden = _spin(2, 512, 32)
        self.cell_boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, (label, key) in enumerate(CELL_CHOICES):
            box = QCheckBox(label)
            box.setChecked(key in LECTURE_CELLS)
            self.cell_boxes[key] = box
            grid.addWidget(box, i, 0)
        form.addRow("Task", self.task)
        form.addRow("Cells", grid)
        form.addRow("Sequence lengths", self.lengths)
        form.addRow("Training steps per point", self.steps)
        form.addRow("Hidden size", self.hidden)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.plot = LivePlot(
            "Accuracy against sequence length", "sequence length T", "held-out accuracy", markers=True
        )
        self.plot.plot.setYRange(0.0, 1.05)
        self.earlier = QComboBox()  # comparisons kept in the history, to show again
        self.earlier.setToolTip("Comparisons run before (kept in the history): choose one to plot it again")
        self.earlier.activated.connect(self._on_earlier)
        self.earlier_job: int | None = None
        earlier_row = QHBoxLayout()
        earlier_row.addWidget(QLabel("Earlier comparisons"))
        earlier_row.addWidget(self.earlier, 1)
        self._arrange(form, left=(self.bar,), right=((earlier_row, 0), (self.plot, 1)))
        self.refresh_earlier()

    def refresh_earlier(self) -> None:
        self.earlier_job = self.service.submit("compare runs", jobs.compare_runs_job, {})

    def _on_finished(self, job_id: int, result) -> None:
        if job_id == self.earlier_job:
            self.earlier_job = None
            self._fill_earlier(result or [])
            return
        super()._on_finished(job_id, result)

    def _fill_earlier(self, runs: list[dict]) -> None:
        self.earlier.clear()
        if not runs:
            self.earlier.addItem("None yet")
        for r in runs:
            res = r["result"]
            cells = ", ".join(res.get("cells", []))
            when = str(r.get("started_at") or "")[:16].replace("T", " ")
            stopped = " (cancelled)" if r["status"] != "complete" else ""
            self.earlier.addItem(f"#{r['id']} {res.get('task', '')}: {cells} — {when}{stopped}", res)
        self.earlier.setEnabled(bool(runs))

    def _on_earlier(self, index: int) -> None:
        result = self.earlier.itemData(index)
        if isinstance(result, dict) and self.job_id is None:
            self.show_result(result)

    def show_result(self, result: dict) -> None:
        """Plot a finished (or kept) comparison: one curve per cell, the measured lengths only."""
        self.plot.clear()
        lengths = result["lengths"]
        for cell in result["cells"]:
            for length, acc in zip(lengths, result["accuracy"].get(cell, [])):
                if acc is not None:
                    self.plot.add_point(cell, length, acc)
        self.finished(result)

    def _on_task(self) -> None:
        self.lengths.setText(DEFAULT_LENGTHS[self.task.currentData()])

    def config(self) -> dict:
        try:
            lengths = [int(v) for v in self.lengths.text().replace(" ", "").split(",") if v]
        except ValueError:
            raise ValueError(
                "sequence lengths are whole numbers separated by commas, e.g. 5, 10, 20"
            ) from None
        cells = [k for k, box in self.cell_boxes.items() if box.isChecked()]
        if not cells:
            raise ValueError("tick at least one cell to compare")
        if not lengths:
            raise ValueError("give at least one sequence length, e.g. 5, 10, 20")
        return {
            "task": self.task.currentData(),
            "cells": cells,
            "lengths": sorted(set(lengths)),  # a curve over increasing T; a repeated length trains once
            "steps": self.steps.value(),
            "hidden_size": self.hidden.value(),
        }

    def run(self) -> None:
        try:
            cfg = self.config()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self.plot.clear()
        self.bar.setRange(0, len(cfg["cells"]) * len(cfg["lengths"]) * cfg["steps"])
        self.bar.setValue(0)
        self.status.setText("Training…")
        self._submit("compare", jobs.compare_job, {"config": cfg})

    def progress(self, info: dict) -> None:
        done_before = (info["run"] - 1) * info.get("steps", self.steps.value())
        if info["kind"] == "progress":
            self.bar.setValue(done_before + info["step"])
            self.status.setText(
                f"{info['cell']} at T={info['length']}: step {info['step']}/{info['steps']}, "
                f"loss {info['loss']:.3f} (run {info['run']} of {info['runs']})"
            )
        elif info["kind"] == "point":
            self.plot.add_point(info["cell"], info["length"], info["accuracy"])

    def finished(self, result) -> None:
        if not result["cancelled"]:  # a cancelled run's bar stays where it stopped
            self.bar.setValue(self.bar.maximum())
        lengths = result["lengths"]
        self.plot.set_curve(
            "chance", lengths, [result["chance"]] * len(lengths), color="#9aa0a6", dashed=True
        )
        state = "cancelled: partial results" if result["cancelled"] else "done"
        self.status.setText(f"{result['description']}: {state}.")
        if result.get("run_id") is not None and self.earlier_job is None:
            self.refresh_earlier()  # the comparison just run is kept: list it


class FlowTab(_JobTab):
    def __init__(self, service, parent=None) -> None:
        super().__init__(service, parent)
        form = QFormLayout()
        self.cell = QComboBox()
        for label, key in CELL_CHOICES:
            self.cell.addItem(label, key)
        self.cell.setCurrentIndex(self.cell.findData("rnn"))
        self.cell.currentIndexChanged.connect(self._on_cell)
        self.task = QComboBox()
        for label, key in TASK_CHOICES:
            self.task.addItem(label, key)
        self.length = _spin(7, 1000, 30)
        self.steps = _spin(0, 100_000, 200)
        self.every = _spin(1, 10_000, 10)
        self.layers = _spin(1, 3, 1)
        self.clip_on = QCheckBox("Clip the gradient norm at")
        self.clip = QDoubleSpinBox()
        self.clip.setRange(0.01, 100.0)
        self.clip.setValue(1.0)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip_on)
        clip_row.addWidget(self.clip)
        self.identity = QCheckBox("Identity initialisation (W = I, zero biases)")
        for label, w in (
            ("Cell", self.cell),
            ("Task", self.task),
            ("Sequence length", self.length),
            ("Training steps", self.steps),
            ("Probe every (steps)", self.every),
            ("Layers", self.layers),
        ):
            form.addRow(label, w)
        form.addRow(clip_row)
        form.addRow(self.identity)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        self.plot = LivePlot(
            "Gradient flow: ||dLoss/dh_t|| at each time step", "time step t", "gradient norm", log_y=True
        )
        self.grad_plot = LivePlot("Parameter gradient norm while training", "step", "norm", log_y=True)
        self._arrange(form, right=((self.plot, 2), (self.grad_plot, 1)))
        self.probes = 0

    def _on_cell(self) -> None:
        elman = self.cell.currentData() == "rnn"
        self.identity.setEnabled(elman)
        if not elman:
            self.identity.setChecked(False)

    def config(self) -> dict:
        return {
            "cell": self.cell.currentData(),
            "task": self.task.currentData(),
            "length": self.length.value(),
            "steps": self.steps.value(),
            "probe_every": self.every.value(),
            "num_layers": self.layers.value(),
            "clip_norm": self.clip.value() if self.clip_on.isChecked() else 0.0,
            "identity_init": self.identity.isChecked() and self.cell.currentData() == "rnn",
        }

    def run(self) -> None:
        self.plot.clear()
        self.grad_plot.clear()
        self.probes = 0
        self.status.setText("Training…")
        self.run_cfg = self.config()  # what is drawn (the clip level) is the run's, not the form's now
        self._submit("gradient flow", jobs.flow_job, {"config": self.run_cfg})

    def progress(self, info: dict) -> None:
        if info.get("kind") != "flow":
            return
        self.probes += 1
        layers = info["h"]
        for i, norms in enumerate(layers):
            suffix = f" (layer {i + 1})" if len(layers) > 1 else ""
            ts = list(range(1, len(norms) + 1))
            color = PALETTE[i % len(PALETTE)]  # one colour per layer; dashed = before training
            if info["step"] == 0:
                self.plot.set_curve("before training" + suffix, ts, norms, color=color, dashed=True)
            else:
                self.plot.set_curve(f"at the latest step{suffix}", ts, norms, color=color)
        self.grad_plot.add_point("parameters", info["step"], info["param_grad_norm"])
        clip = getattr(self, "run_cfg", {}).get("clip_norm", 0.0)
        if clip:
            self.grad_plot.set_curve("clip level", [0, max(info["steps"], 1)], [clip, clip], "#9aa0a6", True)
        first, last = layers[-1][0], layers[-1][-1]
        ratio = f"; first/last step ratio {first / last:.1e}" if last > 0 else ""
        clipped = " (clipped)" if info.get("clipped") else ""
        loss = f"loss {info['loss']:.4f}, " if info.get("loss") is not None else ""
        self.status.setText(
            f"step {info['step']}/{info['steps']}: {loss}parameter gradient "
            f"norm {info['param_grad_norm']:.3g}{clipped}{ratio}"
        )

    def finished(self, result) -> None:
        self.status.setText(self.status.text() + f" — {result['reason']}.")
