"""A language model on any text (the lecture's next-word prediction), text generation from a seed
phrase, and a small "human or model?" game with a real and a generated sentence.

Training is ``engine.lab.jobs.lm_train_job`` (recorded in the runs table as task ``lm``; a
cancelled or failed run can be resumed from its last checkpoint under "Stopped runs"); generation
and the game are quick jobs on the same engine thread.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.lab_experiments import LEFT_MAX_PX
from desktop.widgets.live_plot import LivePlot
from desktop.widgets.run_tab import ended_words, model_ready, quick, resumable, runs_request
from desktop.widgets.spinboxes import dspin
from desktop.widgets.spinboxes import spin as _spin
from desktop.widgets.train_dialogue import CELL_CHOICES
from engine.lab import jobs


class LanguageModelTab(QWidget):
    model_ready = Signal(str, str)  # model folder, training text path

    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.service = service
        self.train_job: int | None = None
        self.gen_job: int | None = None
        self.game_job: int | None = None
        self.folder = ""
        self.round: dict | None = None
        self.score = [0, 0]  # right, played
        data = getattr(service, "data", None)
        if data is not None and data.writable:
            self.out_root = str(data.path / "lab")
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="parlance-lm-")
            self.out_root = self._tmp.name
        form = QFormLayout()
        self.text_path = QLineEdit()
        self.text_path.setPlaceholderText("any UTF-8 text: a book, articles, your notes")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.text_path, 1)
        path_row.addWidget(browse)
        self.cell = QComboBox()
        for label, key in CELL_CHOICES:
            self.cell.addItem(label, key)
        self.cell.setCurrentIndex(self.cell.findData("lstm"))
        self.emb, self.hidden = _spin(8, 1024, 64), _spin(8, 2048, 128)
        self.epochs, self.vocab = _spin(1, 1000, 5), _spin(300, 32_000, 2000)
        for label, w in (
            ("Text", path_row),
            ("Cell", self.cell),
            ("Embedding size", self.emb),
            ("Hidden size", self.hidden),
            ("Epochs", self.epochs),
            ("Vocabulary", self.vocab),
        ):
            form.addRow(label, w)
        self.train_button, self.cancel_button = QPushButton("Train"), QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.train_button.clicked.connect(self.train)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        # a run that was cancelled (or failed) goes on from its last checkpoint
        self.runs_job: int | None = None
        self.resume_choice = QComboBox()
        self.resume_choice.setToolTip("Language-model runs that stopped before the end: resume one")
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        resume_row = QHBoxLayout()
        resume_row.addWidget(self.resume_choice, 1)
        resume_row.addWidget(self.resume_button)
        form.addRow("Stopped runs", resume_row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.plot = LivePlot("Language model", "step", "loss")
        self.seed = QLineEdit("the")
        self.gen_button = QPushButton("Generate")
        self.gen_button.clicked.connect(self.generate)
        # the shared decoding options (engine.decoding), as the chat panel and `inspect generate` use
        self.gen_method = QComboBox()
        for label, key in (("Sampling", "sample"), ("Greedy", "greedy"), ("Beam search", "beam")):
            self.gen_method.addItem(label, key)
        self.gen_temperature = QDoubleSpinBox()
        self.gen_temperature.setRange(0.05, 3.0)
        self.gen_temperature.setSingleStep(0.1)
        self.gen_temperature.setValue(0.8)
        self.gen_temperature.setToolTip("Sampling temperature: lower is safer, higher is more varied")
        self.gen_top_k = _spin(0, 10_000, 0)
        self.gen_top_k.setToolTip("Sampling: keep only the k most likely pieces (0 = off)")
        self.gen_top_p = dspin(0.05, 1.0, 0.9, 2, 0.05)
        self.gen_top_p.setToolTip(
            "Sampling: keep the smallest set of pieces with this much probability (1 = off)"
        )
        self.gen_beam = _spin(1, 16, 4)
        self.gen_beam.setToolTip("Beams kept (beam search)")
        self.gen_len = _spin(1, 200, 40)
        self.gen_len.setToolTip("Longest continuation, in pieces")
        gen_row = QHBoxLayout()
        gen_row.addWidget(QLabel("Seed phrase"))
        gen_row.addWidget(self.seed, 1)
        for label, w in (
            ("", self.gen_method),
            ("temp.", self.gen_temperature),
            ("top-k", self.gen_top_k),
            ("top-p", self.gen_top_p),
            ("beams", self.gen_beam),
            ("max", self.gen_len),
        ):
            if label:
                gen_row.addWidget(QLabel(label))
            gen_row.addWidget(w)
        gen_row.addWidget(self.gen_button)
        self.generated = QLabel("")
        self.generated.setWordWrap(True)
        self.game_button = QPushButton("Human or model? New round")
        self.game_button.clicked.connect(self.new_round)
        self.a_label, self.b_label = QLabel(""), QLabel("")
        for lab in (self.a_label, self.b_label):
            lab.setWordWrap(True)
        self.pick_a, self.pick_b = QPushButton("A is the model"), QPushButton("B is the model")
        self.pick_a.clicked.connect(self.guess_a)
        self.pick_b.clicked.connect(self.guess_b)
        self.verdict = QLabel("")
        picks = QHBoxLayout()
        for w in (self.game_button, self.pick_a, self.pick_b):
            picks.addWidget(w)
        picks.addStretch(1)
        row = QHBoxLayout(self)
        side = QWidget()
        side.setFixedWidth(LEFT_MAX_PX)  # status text changes must not resize the plot beside it
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(form)
        col.addWidget(self.status)
        col.addStretch(1)
        row.addWidget(side)
        main = QVBoxLayout()
        main.addWidget(self.plot, 2)
        main.addLayout(gen_row)
        main.addWidget(self.generated)
        main.addLayout(picks)
        for w in (self.a_label, self.b_label, self.verdict):
            main.addWidget(w)
        main.addStretch(1)
        row.addLayout(main, 1)
        self._enable_model_actions()
        service.job_progress.connect(self._on_progress)
        service.job_finished.connect(self._on_finished)
        service.job_failed.connect(self._on_failed)
        self._fill_resumable([])
        self.refresh_runs()

    def refresh_runs(self) -> None:
        self.runs_job = self.service.submit("runs", runs_request(self.service), {}, **quick(self.service))

    def _fill_resumable(self, runs: list[dict]) -> None:
        self.resume_choice.clear()
        self._resumable = {}
        for r in runs:
            if r.get("task") == "lm" and resumable(r) and r.get("checkpoint"):
                self._resumable[r["id"]] = r
                steps = (r.get("metrics") or {}).get("steps")
                name = Path(str(r.get("data") or "")).name
                self.resume_choice.addItem(
                    f"#{r['id']} {name}" + (f" (step {steps})" if steps else ""), r["id"]
                )
        if not self.resume_choice.count():
            self.resume_choice.addItem("None", None)
        self._enable_model_actions()

    def resume(self) -> None:
        run_id = self.resume_choice.currentData()
        if run_id is None or self.train_job is not None:
            return
        self.plot.clear()
        self.text_path.setText(str(self._resumable[run_id].get("data") or ""))  # the run's own text
        self.status.setText(f"Resuming run #{run_id} from its last checkpoint…")
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        kwargs = {"text_path": "", "out_root": self.out_root, "run_id": int(run_id)}
        self.train_job = self.service.submit("train", jobs.lm_train_job, kwargs)
        self._fill_resumable([])  # it runs now; listed again (from the history) if it stops early

    # ================================================================== actions
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a text file")
        if path:
            self.text_path.setText(path)

    def _enable_model_actions(self) -> None:
        ready = bool(self.folder) and self.train_job is None
        self.resume_button.setEnabled(self.train_job is None and self.resume_choice.currentData() is not None)
        for w in (self.gen_button, self.game_button):
            w.setEnabled(ready)
        self.pick_a.setEnabled(self.round is not None)
        self.pick_b.setEnabled(self.round is not None)

    def train(self) -> None:
        path = self.text_path.text().strip()
        if not path:
            self.status.setText("Choose a text file first.")
            return
        model = {
            "cell": self.cell.currentData(),
            "emb_dim": self.emb.value(),
            "hidden_size": self.hidden.value(),
        }
        train = {"epochs": self.epochs.value(), "vocab_size": self.vocab.value()}
        self.plot.clear()
        self.status.setText("Training the tokenizer and the model…")
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        kwargs = {"text_path": path, "out_root": self.out_root, "model": model, "train": train}
        self.train_job = self.service.submit("train", jobs.lm_train_job, kwargs)
        self._enable_model_actions()

    def cancel(self) -> None:
        if self.train_job is not None:
            self.service.cancel(self.train_job)

    def generate(self) -> None:
        self.generated.setText("…")
        self.gen_job = self.service.submit(
            "generate",
            jobs.lm_generate_job,
            {"folder": self.folder, "seed_text": self.seed.text(), "options": self.decoding_options()},
        )

    def decoding_options(self) -> dict:
        """The chosen decoding options, as ``engine.decoding.DecodeOptions`` fields."""
        return {
            "method": self.gen_method.currentData(),
            "temperature": float(self.gen_temperature.value()),
            "top_k": int(self.gen_top_k.value()),
            "top_p": float(self.gen_top_p.value()),
            "beam_size": int(self.gen_beam.value()),
            "max_len": int(self.gen_len.value()),
        }

    def new_round(self) -> None:
        self.verdict.setText("")
        self.game_job = self.service.submit(
            "game",
            jobs.human_or_model_job,
            {"folder": self.folder, "text_path": self.text_path.text().strip()},
        )

    def guess_a(self) -> None:
        self._guess("a")

    def guess_b(self) -> None:
        self._guess("b")

    def _guess(self, pick: str) -> None:
        if self.round is None:
            return
        right = pick == self.round["model_is"]
        self.score[0] += int(right)
        self.score[1] += 1
        other = "B" if self.round["model_is"] == "a" else "A"
        self.verdict.setText(
            f"{'Right' if right else 'Wrong'}: {self.round['model_is'].upper()} was the model, {other} was "
            f"written by a person. Score {self.score[0]}/{self.score[1]}."
        )
        self.round = None
        self._enable_model_actions()

    # ================================================================== service signals
    def _on_progress(self, job_id: int, info) -> None:
        if job_id != self.train_job or not isinstance(info, dict):
            return
        if info.get("kind") == "start":  # a resumed run: its earlier curve first
            curves = info.get("curves") or {}
            for name, key in (("training", "train_loss"), ("validation", "val_loss")):
                for point in curves.get(key) or []:
                    self.plot.add_point(name, point[0], point[1])
        elif info.get("kind") == "progress":
            self.plot.add_point("training", info["step"], info["loss"])
            self.status.setText(f"step {info['step']}/{info['total_steps']}: loss {info['loss']:.3f}")
        elif info.get("kind") == "eval" and "val_loss" in info.get("metrics", {}):
            self.plot.add_point("validation", info["step"], info["metrics"]["val_loss"])

    def _on_finished(self, job_id: int, result) -> None:
        if job_id == self.runs_job:
            self.runs_job = None
            self._fill_resumable(result or [])
            return
        if job_id == self.train_job:
            self.train_job = None
            self.train_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            m = result.get("metrics") or {}
            ppl = m.get("best_val_ppl")
            ready = model_ready(result)
            self.status.setText(
                ended_words(result)
                + (f": validation perplexity {ppl:.1f}" if ppl else "")
                + (f". Model: {result['folder']}" if ready else ". No model yet: resume the run to train on")
            )
            if ready:  # a run cancelled before its first validation has only its checkpoint
                self.folder = result["folder"]
                self.model_ready.emit(self.folder, self.text_path.text().strip())
            self.refresh_runs()  # a cancelled run can be resumed; a finished one leaves the list
        elif job_id == self.gen_job:
            self.generated.setText(result["text"])
        elif job_id == self.game_job:
            self.round = result
            self.a_label.setText(f"A: {result['a']}")
            self.b_label.setText(f"B: {result['b']}")
        else:
            return
        self._enable_model_actions()

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.train_job:
            self.train_job = None
            self.train_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.status.setText(f"Training stopped: {message}")
            self.refresh_runs()
        elif job_id in (self.gen_job, self.game_job):
            self.generated.setText(message)
        else:
            return
        self._enable_model_actions()
