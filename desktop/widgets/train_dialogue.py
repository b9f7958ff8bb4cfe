"""Train or fine-tune the chat model from the app: data, config, start / cancel / resume, live curves
and the table of recorded runs.

The run itself is ``engine.lab.jobs.dialogue_job`` on the engine thread (the same pipeline as
``python -m engine train dialogue``). Progress arrives as ``job_progress`` dicts; the curves are
redrawn on a throttle timer. A finished run's folder sits in the user's model folder, so the Chat
panel's model picker offers it after ``service.refresh_models()``.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
from desktop.widgets.runs_table import TASK_COL, RunsTable
from desktop.widgets.spinboxes import dspin as _dspin
from desktop.widgets.spinboxes import spin as _spin
from engine.dialogue.config import HREDConfig
from engine.lab import jobs

# the cell registry (engine.nn.cells.CELLS), kept here so the panel opens without importing torch
CELL_CHOICES = (
    ("GRU", "gru"),
    ("LSTM", "lstm"),
    ("Elman RNN (tanh)", "rnn"),
    ("IRNN (ReLU, identity init)", "irnn"),
    ("GRU, Cho et al. form", "gru_cho"),
    ("Peephole LSTM", "peephole_lstm"),
    ("CIFG LSTM", "cifg_lstm"),
)
ATTENTION_CHOICES = ("general", "dot", "concat", "additive", "none")  # engine.nn.attention.SCORES + none
# "(shipped)" was wrong: these corpora are packages of the training extras (source_label)
SOURCES = (
    ("Chitchat corpus", "chitchat"),
    ("Chatterbot corpus", "chatterbot"),
    ("A corpus file…", "file"),
    ("My chat history", "history"),
    ("My replies rated up", "history-liked"),
)


def source_label(label: str, key: str) -> str:
    """A built-in corpus whose package is not installed says so in the Data list."""
    from engine import extras

    package = extras.CORPUS_PACKAGES.get(key)
    return f"{label} (needs the training extras)" if package and not extras.installed(package) else label


def missing_corpus(corpus: str) -> str | None:
    """Why a built-in corpus cannot be trained on (its package is missing), or None."""
    from engine import extras

    package = extras.CORPUS_PACKAGES.get(corpus)
    if package is None or extras.installed(package):
        return None
    return "Cannot start: " + extras.missing_words(f"the {corpus} corpus", package)


# the task tabs' colours (train_task.TRAIN_COLOR / VAL_COLOR): the first curve to arrive took the first
# colour, so a new run drew validation blue and training red, and the same run resumed the other way
TRAIN_COLOR, VAL_COLOR = PALETTE[0], PALETTE[1]
CURVE_COLORS = {"train_loss": TRAIN_COLOR, "val_loss": VAL_COLOR}


class DialogueTrainTab(RunTab):
    TASK = "dialogue"
    RUN_WORDS = "chat-model run"
    REFRESHES_MODELS = True
    run_finished = Signal(object)  # the job's result dict

    def __init__(self, service, parent=None) -> None:
        super().__init__(service, parent)
        self.live: dict[str, list] = {}
        self._build()
        self.listen()

    # ================================================================== construction
    def _build(self) -> None:
        d = HREDConfig()
        row = QHBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        row.addWidget(split)
        form_box = QWidget()
        form = QFormLayout(form_box)
        self.source = QComboBox()
        for label, key in SOURCES:
            self.source.addItem(source_label(label, key), key)
        self.path = QLineEdit()
        self.path.setPlaceholderText("chitchat JSON, chatterbot YAML, DailyDialog, text, JSON or CSV chats")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.start_from = QComboBox()
        # a long run name must not widen the form and push the runs table's folder out of view
        self.start_from.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.start_from.setMinimumContentsLength(24)
        self.start_from.addItem("A new model", "")
        self.cell = QComboBox()
        for label, key in CELL_CHOICES:
            self.cell.addItem(label, key)
        self.emb = _spin(8, 1024, d.emb_dim, 8)
        self.enc = _spin(8, 2048, d.utt_hidden, 8)
        self.dec = _spin(8, 2048, d.dec_hidden, 8)
        self.layers = _spin(1, 4, d.dec_layers)
        self.attention = QComboBox()
        self.attention.addItems(ATTENTION_CHOICES)
        self.turns = _spin(1, 12, d.context_turns)
        self.history = _spin(0, 128, 32)
        self.history.setToolTip(
            "Earlier turns the context encoder reads (the whole recent dialogue); training then runs "
            "once per dialogue. 0: only the context turns, each marked with its speaker."
        )
        self.copy = QCheckBox("Copy words from the last context turns")
        self.copy.setChecked(True)
        self.copy.setToolTip("A pointer mechanism: the reply can take pieces straight from what was said.")
        self.history.valueChanged.connect(self._sync_copy)
        self.attention.currentTextChanged.connect(self._sync_copy)
        self.epochs = _spin(1, 1000, 10)
        self.max_steps = _spin(0, 10_000_000, 0, 100)
        self.batch = _spin(1, 1024, 64, 8)
        self.lr = _dspin(1e-5, 1.0, 2e-3, 5, 1e-4)
        self.clip = _dspin(0.0, 100.0, 1.0, 2, 0.5)
        self.eval_every = _spin(1, 100_000, 500, 50)
        self.patience = _spin(0, 1000, 3)
        self.vocab = _spin(300, 64_000, 8000, 500)
        self.vectors = QComboBox()
        self.vectors.addItems(("word2vec", "fasttext", "none"))
        self.against_time = QCheckBox("Plot against minutes instead of steps")
        self.against_time.toggled.connect(self._redraw_live)
        self.show_ppl = QCheckBox("Plot perplexity (e^loss) instead of loss")
        self.show_ppl.toggled.connect(self._redraw_live)
        for label, widget in (
            ("Data", self.source),
            ("File", path_row),
            ("Start from", self.start_from),
            ("Cell", self.cell),
            ("Embedding size", self.emb),
            ("Encoder size", self.enc),
            ("Decoder size", self.dec),
            ("Decoder layers", self.layers),
            ("Attention", self.attention),
            ("Context turns", self.turns),
            ("Dialogue history (turns, 0 = off)", self.history),
            ("", self.copy),
            ("Epochs", self.epochs),
            ("Max steps (0 = no limit)", self.max_steps),
            ("Batch size", self.batch),
            ("Learning rate", self.lr),
            ("Clip gradient norm (0 = off)", self.clip),
            ("Validate every (steps)", self.eval_every),
            ("Patience (validations, 0 = off)", self.patience),
            ("Vocabulary", self.vocab),
            ("Word vectors", self.vectors),
        ):
            form.addRow(label, widget)
        self.start_from.currentIndexChanged.connect(self._sync_architecture)
        form.addRow(self.against_time)
        form.addRow(self.show_ppl)
        split.addWidget(self.form_column(form_box))
        right = QWidget()
        col = QVBoxLayout(right)
        col.addWidget(self.status_line())
        self.loss_plot = LivePlot("This run", "step", "loss")  # one plot: each redraw costs the window
        col.addWidget(self.loss_plot, 3)
        self.runs = RunsTable()
        self.runs.table.setColumnHidden(TASK_COL, True)  # every row is a dialogue run: room for the folder
        self.runs.selection_changed.connect(self._on_runs_selected)
        col.addWidget(self.runs, 3)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        self._set_running(False)

    # ================================================================== actions
    def config(self) -> dict:
        source = self.source.currentData()
        corpus = self.path.text().strip() if source == "file" else source
        attention = self.attention.currentText()
        model = {
            "cell": self.cell.currentData(),
            "emb_dim": self.emb.value(),
            "utt_hidden": self.enc.value(),
            "ctx_hidden": self.dec.value(),
            "dec_hidden": self.dec.value(),
            "dec_layers": self.layers.value(),
            "context_turns": self.turns.value(),
            "history_turns": self.history.value(),
            "copy": self.copy.isEnabled() and self.copy.isChecked(),
            "word_attention": attention != "none",
            "turn_attention": attention != "none",
            "attention": "general" if attention == "none" else attention,
        }
        return {
            "corpus": corpus,
            "epochs": self.epochs.value(),
            "max_steps": self.max_steps.value(),
            "batch_size": self.batch.value(),
            "lr": self.lr.value(),
            "clip": self.clip.value(),
            "eval_every": self.eval_every.value(),
            "patience": self.patience.value(),
            "vocab_size": self.vocab.value(),
            "word_vectors": self.vectors.currentText(),
            "init_from": self.start_from.currentData() or "",
            "model": model,
        }

    def _architecture(self) -> tuple:
        return (
            self.cell,
            self.emb,
            self.enc,
            self.dec,
            self.layers,
            self.attention,
            self.turns,
            self.history,
            self.copy,
            self.vocab,
            self.vectors,
        )

    def _sync_architecture(self, *_args) -> None:
        """Fine-tuning keeps the starting model's cell, sizes, attention and tokenizer: their fields
        are greyed out then (they were silently ignored)."""
        new = not self.start_from.currentData()
        for widget in self._architecture():
            widget.setEnabled(new)
        if new:
            self._sync_copy()

    def _sync_copy(self, *_args) -> None:
        """Copying needs the dialogue history and word attention."""
        self.copy.setEnabled(self.history.value() > 0 and self.attention.currentText() != "none")

    def start(self) -> None:
        cfg = self.config()
        if not cfg["corpus"]:
            self._say("Choose a corpus file first.")
            return
        missing = missing_corpus(cfg["corpus"])  # said here: no job, no recorded run, no log traceback
        if missing:
            self._say(missing)
            return
        base = self.start_from.currentText() if cfg["init_from"] else ""
        self._begin(f"Starting to fine-tune {base}…" if base else f"Starting a {cfg['model']['cell']} run…")
        self.submit_run(jobs.dialogue_job, {"config": cfg, "out_root": self.out_root})

    def resume(self) -> None:
        chosen = [r for r in self.runs.selected() if r["task"] == "dialogue" and resumable(r)]
        if not chosen:
            self._say("Select a stopped dialogue run in the table to resume it.")
            return
        run = chosen[0]
        missing = missing_corpus(str((run.get("config") or {}).get("corpus", "")))
        if missing:
            self._say(missing)
            return
        self._begin(f"Resuming run #{run['id']}…")
        self.submit_run(jobs.dialogue_job, {"config": {}, "out_root": self.out_root, "run_id": run["id"]})

    def _begin(self, text: str) -> None:
        self.live = {"train_loss": [], "val_loss": []}
        self.loss_plot.clear()
        self._set_running(True)
        self._say(text)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a dialogue corpus")
        if path:
            self.path.setText(path)
            self.source.setCurrentIndex(self.source.findData("file"))

    # ================================================================== curves
    def _x(self, point: list) -> float:
        return point[2] / 60 if self.against_time.isChecked() and len(point) > 2 else point[0]

    def _y(self, loss: float) -> float:
        return math.exp(min(loss, 50.0)) if self.show_ppl.isChecked() else loss

    def _add(self, key: str, point: list) -> None:
        """Record a point of curve ``key`` (train_loss | val_loss): [step, loss, elapsed_s]."""
        self.live.setdefault(key, []).append(point)
        name = "training" if key == "train_loss" else "validation"
        self.loss_plot.add_point(name, self._x(point), self._y(point[1]), color=CURVE_COLORS.get(key))

    def _redraw_live(self) -> None:
        ppl = self.show_ppl.isChecked()
        self.loss_plot.set_log_y(ppl)
        self.loss_plot.plot.setLabel("bottom", "minutes" if self.against_time.isChecked() else "step")
        self.loss_plot.plot.setLabel("left", "perplexity" if ppl else "loss")
        for key, name in (("train_loss", "training"), ("val_loss", "validation")):
            pts = self.live.get(key, [])
            if pts:
                xs, ys = [self._x(p) for p in pts], [self._y(p[1]) for p in pts]
                self.loss_plot.set_curve(name, xs, ys, CURVE_COLORS[key])

    # ================================================================== service signals
    def _on_progress(self, job_id: int, info) -> None:
        if job_id != self.job_id or not isinstance(info, dict):
            return
        kind = info.get("kind")
        if kind == "start":
            self.run_id = info.get("run_id")
            for key in ("train_loss", "val_loss"):
                for p in (info.get("curves") or {}).get(key, []):
                    self._add(key, p)
            before = info.get("before_val_ppl")
            held = info.get("valid_dialogues")
            extra = f"; {held} dialogue{'s' if held != 1 else ''} held out" if held else ""
            extra += f"; before training: held-out perplexity {before:.2f}" if before else ""
            self._say(
                f"Run #{self.run_id}: {info['train_examples']} training pairs, {info['params'] / 1e6:.2f} M "
                f"parameters, {info['steps_per_epoch']} steps per epoch{extra}"
            )
        elif kind == "progress":
            self._add("train_loss", [info["step"], info["loss"], info["elapsed_s"]])
            eta = info.get("eta_s")
            eta_text = f", about {eta / 60:.1f} min left" if eta == eta and eta is not None else ""
            self._say(
                f"Run #{self.run_id}: step {info['step']}/{info['total_steps'] or '?'}, loss "
                f"{info['loss']:.3f}, {info['items_per_s']:.0f} tokens/s{eta_text}"
            )
        elif kind == "eval":
            m = info.get("metrics") or {}
            if "val_loss" in m:
                self._add("val_loss", [info["step"], m["val_loss"], info["elapsed_s"]])

    def _on_finished(self, job_id: int, result) -> None:
        if job_id == self.runs_job:
            if self.fresh_runs(job_id):  # a shared runs job arrives twice
                # the other tasks have their tabs
                runs = [r for r in result or [] if r.get("task") == "dialogue"]
                self.runs.set_runs(runs)
                self._fill_start_from(runs)
            return
        if job_id != self.job_id:
            return
        self.job_id = None
        self._set_running(False)
        m = result.get("metrics") or {}
        ppl = m.get("best_val_ppl")
        ppl_text = f"best validation perplexity {ppl:.2f}" if ppl else "no validation yet"
        before = m.get("before_val_ppl")
        if ppl and before:  # fine-tuning: the same held-out chats before and after
            ppl_text = f"held-out perplexity {before:.2f} before, {ppl:.2f} after"
        ready = model_ready(result)
        folder = f"Model folder: {result.get('folder')}" if ready else "No model yet"
        self._say(f"{ended_words(result)}: {ppl_text}. {folder}")
        self.refresh_runs()
        # the finished model becomes selectable in Chat; a cancelled run's too when it has one (it
        # appeared there only after a rescan or a restart)
        if (m.get("reason") != "cancelled" or ready) and hasattr(self.service, "refresh_models"):
            self.service.refresh_models()
        self.run_finished.emit(result)

    def after_delete(self, run: dict, result: dict) -> None:
        super().after_delete(run, result)
        self._fill_start_from(self.runs.runs)  # a deleted run is no model to start from

    def _on_runs_selected(self, runs) -> None:
        if self.job_id is None:
            self.resume_button.setEnabled(any(resumable(r) and r.get("task") == "dialogue" for r in runs))

    def _fill_start_from(self, runs: list[dict]) -> None:
        from desktop.paths import SHIPPED_MODELS

        current = self.start_from.currentData()
        self.start_from.clear()
        self.start_from.addItem("A new model", "")
        shipped = SHIPPED_MODELS / "dialogue"
        if (shipped / "config.json").is_file():
            self.start_from.addItem("The shipped chat model (fine-tune)", str(shipped))
        for run in runs:
            folder = run.get("folder") or run.get("checkpoint")
            if run.get("folder_exists") is False:
                continue  # gone: no file-system look at it
            if run["task"] == "dialogue" and folder and (Path(folder) / "config.json").is_file():
                # a stopped run's model looked finished: say it is not
                unfinished = ", unfinished" if run.get("status") != "complete" else ""
                self.start_from.addItem(f"Run #{run['id']} ({Path(folder).name}{unfinished})", folder)
        index = self.start_from.findData(current)
        self.start_from.setCurrentIndex(max(index, 0))
