"""Train the LSTM forecaster on a column of a CSV file, watching its curves, from the app.

The run is ``engine.lab.task_jobs.forecaster_job``: the same ``fit_forecast(..., "lstm")`` the
Forecast panel uses, with the network settings of this form. Curves: training and validation loss
per epoch (epochs of every ensemble member in a row). The result is a forecast preview; with the
holdout on, the last ``horizon`` points are kept out of training and the forecast is scored against
them. The forecaster is refitted on each series in seconds and keeps no model folder, so there is
no checkpoint to resume: a stopped run is started again.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.widgets.forecast_plot import ForecastPlot
from desktop.widgets.spinboxes import dspin, spin
from desktop.widgets.train_task import EXTRA_COLOR, PathRow, TaskTrainTab
from engine.lab import task_jobs

# engine.forecast.lstm_model.LSTMConfig's defaults, kept here so the panel opens without torch
LSTM_DEFAULTS = {
    "hidden": 16,
    "layers": 1,
    "epochs": 150,
    "patience": 15,
    "lr": 3e-3,
    "batch_size": 64,
    "seeds": 3,
}
CELLS = (("LSTM", "lstm"), ("GRU", "gru"), ("Peephole LSTM", "peephole_lstm"), ("CIFG LSTM", "cifg_lstm"))
DECODERS = (("Direct (all steps at once)", "direct"), ("Recurrent decoder (seq2seq)", "seq2seq"))
NO_RESUME = (
    "The forecaster is refitted on each series in seconds and keeps no model folder, so a run has no "
    "checkpoint to resume: start it again instead."
)
SCORE_NAMES = (("mae", "MAE"), ("rmse", "RMSE"), ("smape", "sMAPE"), ("mase", "MASE"), ("cov80", "80% cover"))


class ForecasterTrainTab(TaskTrainTab):
    TASK = "forecaster"
    STEP_UNIT = "epochs"  # of all ensemble members together
    KEEPS_MODEL = False  # every forecast trains on its series: the run measures the settings
    JOB = task_jobs.forecaster_job
    ITEMS = "windows"
    X_LABEL = "epoch (ensemble members in a row)"
    CAN_RESUME = False
    HINT = "Choose a CSV file and the column to forecast, then Start. " + NO_RESUME

    use_settings = Signal(object, str)  # LSTMConfig fields, where they come from ("run #3")

    def build_form(self, form: QFormLayout) -> None:
        self.columns_job: int | None = None
        self.last_config: dict = {}
        self.path = PathRow("a CSV, TSV or text file with a numeric column", ("file",), "Series file")
        self.path.edit.editingFinished.connect(self.load_columns)
        self.column = QComboBox()
        self.column.setEditable(True)
        self.column.setToolTip("The numeric column to forecast (empty: the first one)")
        self.horizon = spin(1, 10_000, 12)
        self.season = spin(0, 1000, 0)
        self.holdout = QCheckBox("Hold out the last horizon and score the forecast on it")
        self.holdout.setChecked(True)
        self.cell = QComboBox()
        for label, key in CELLS:
            self.cell.addItem(label, key)
        self.decoder = QComboBox()
        for label, key in DECODERS:
            self.decoder.addItem(label, key)
        d = LSTM_DEFAULTS
        self.hidden = spin(2, 1024, d["hidden"], 4)
        self.layers = spin(1, 4, d["layers"])
        self.epochs = spin(1, 5000, d["epochs"], 10)
        self.patience = spin(1, 1000, d["patience"])
        self.lr = dspin(1e-5, 1.0, d["lr"], 5, 1e-4)
        self.batch = spin(1, 4096, d["batch_size"], 8)
        self.seeds = spin(1, 10, d["seeds"])
        for label, widget in (
            ("Series file", self.path),
            ("Column", self.column),
            ("Horizon (steps)", self.horizon),
            ("Season (0 = detect)", self.season),
            ("", self.holdout),
            ("Cell", self.cell),
            ("Decoder", self.decoder),
            ("Hidden size", self.hidden),
            ("Layers", self.layers),
            ("Epochs (most)", self.epochs),
            ("Patience (epochs)", self.patience),
            ("Learning rate", self.lr),
            ("Batch (windows)", self.batch),
            ("Ensemble members", self.seeds),
        ):  # (no checkpoint to resume: the hint above the plots says so, once)
            form.addRow(label, widget)

    def build_extra(self) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        self.preview = ForecastPlot()
        self.scores = QLabel("")
        self.scores.setWordWrap(True)
        col.addWidget(self.preview, 1)
        col.addWidget(self.scores)
        self.use_button = QPushButton("Use these LSTM settings in the Forecast panel")
        self.use_button.setToolTip(
            "The Forecast panel's lstm, hybrid and auto forecasts then fit networks with this run's settings"
        )
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use_chosen)
        col.addWidget(self.use_button)
        self.chosen_run: dict | None = None  # the finished run whose settings the button passes on
        return box

    def _use_chosen(self) -> None:
        run = self.chosen_run
        if run is not None:
            origin = f"Train run #{run['id']}" if run.get("id") is not None else "the Train panel's last run"
            self.use_settings.emit(dict(run["config"].get("lstm") or {}), origin)

    def config(self) -> dict:
        return {
            "path": self.path.text(),
            "column": self.column.currentText().strip() or None,
            "horizon": self.horizon.value(),
            "season": self.season.value() or None,
            "holdout": self.holdout.isChecked(),
            "lstm": {
                "cell": self.cell.currentData(),
                "decoder": self.decoder.currentData(),
                "hidden": self.hidden.value(),
                "layers": self.layers.value(),
                "epochs": self.epochs.value(),
                "patience": self.patience.value(),
                "lr": self.lr.value(),
                "batch_size": self.batch.value(),
                "seeds": self.seeds.value(),
            },
        }

    def problem(self, config: dict) -> str | None:
        return None if config["path"] else "Choose a CSV file with the series first."

    def job_kwargs(self, config: dict) -> dict:
        self.last_config = config
        return {"config": config, "isolate": self.isolate}

    def _begin(self, text: str) -> None:
        super()._begin(text)
        self.preview.clear()
        self.scores.setText("")
        self.use_button.setEnabled(False)

    # ------------------------------------------------------------------ columns of the chosen file
    def load_columns(self) -> None:
        from desktop.forecast_ops import load_series

        if self.path.text():
            self.columns_job = self.service.submit("columns", load_series, {"path": self.path.text()})

    def _on_finished(self, job_id: int, result) -> None:
        if job_id == self.columns_job and job_id is not None:
            self.columns_job = None
            current = self.column.currentText()
            columns = list(result.get("columns") or [])
            self.column.clear()
            self.column.addItems(columns)
            # keep the chosen column only when the new file has it (the box is editable: its text
            # would otherwise stay and the run fail on "no column 'b'"); else the file's own pick
            pick = current if current in columns else result.get("column")
            if pick:
                self.column.setCurrentText(str(pick))
            return
        super()._on_finished(job_id, result)

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.columns_job and job_id is not None:
            self.columns_job = None
            self._say(f"That file cannot be read as a series: {message}")
            return
        super()._on_failed(job_id, message)

    # ------------------------------------------------------------------ results
    def start_text(self, info: dict) -> str:
        return (
            f"Run #{self.run_id}: fitting on {info['train_examples']} points, at most "
            f"{info['total_steps']} epochs over all ensemble members (early stopping on the latest windows)"
        )

    def add_loss(self, name: str, step, value, color: str, info: dict | None = None) -> None:
        """Each ensemble member gets its own curves (no line joins one member's last epoch to the
        next one's first), in the same colours, named once in the legend."""
        member = int((info or {}).get("member") or 0)
        key = name if member == 0 else f"{name} · member {member + 1}"
        new = key not in self.loss_plot.curves
        self.loss_plot.add_point(key, step, value, color=color, dashed=name.startswith("refit"))
        if new and member > 0 and key in self.loss_plot.curves:
            self.loss_plot.legend.removeItem(self.loss_plot.curves[key])

    def on_event(self, info: dict) -> None:
        if info.get("kind") == "refit":
            self.add_loss("refit on every window", info["step"], info["loss"], EXTRA_COLOR, info)

    def on_result(self, result: dict) -> str:
        m = result.get("metrics") or {}
        self._show(m)
        if m.get("reason") != "cancelled" and self.last_config:  # history off: no run id, same settings
            self.chosen_run = {"id": result.get("run_id"), "config": self.last_config, "status": "complete"}
            self.use_button.setEnabled(True)
        notes = " ".join(n.rstrip(". ") + "." for n in m.get("notes") or [] if n)
        return f"{self.scores.text()} {notes}".strip()

    def show_run(self, run: dict) -> None:
        if self.job_id is None:
            self._show(run.get("metrics") or {})
            ok = run.get("status") == "complete" and bool((run.get("config") or {}).get("lstm"))
            self.chosen_run = run if ok else None
            self.use_button.setEnabled(ok)

    def _show(self, m: dict) -> None:
        preview, scores = m.get("preview"), m.get("scores")
        self.preview.clear()
        if not preview:
            self.scores.setText("")
            return
        self.preview.set_history(preview["x"], preview["y"], preview["dated"], preview.get("name", ""))
        self.preview.set_forecast(preview)
        if preview.get("actual"):
            self.preview.set_backtest(preview["fx"], preview["actual"], "held out")
        self.preview.fit_view()
        shown = [f"{name} {_score(scores[k])}" for k, name in SCORE_NAMES if scores and k in scores]
        self.scores.setText(("On the held-out points: " + ", ".join(shown) + ".") if shown else "")

    def accept_drop(self, paths: list[str]) -> None:
        self.path.setText(paths[0])
        self.load_columns()


def _score(value) -> str:
    """A score for people: "n/a" where it is undefined (MASE of a constant series) or overflowed."""
    import math

    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "n/a"
    return f"{value:.3g}"
