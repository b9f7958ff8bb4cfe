"""Train the abstractive summarizer (pointer-generator with coverage) from the app.

Data: a BBC News Summary folder (``News Articles/`` + ``Summaries/``) or a ``.jsonl`` file of
``{"text", "summary"}`` objects, the formats ``python -m engine train summarizer`` reads. The run is
``engine.lab.task_jobs.summarizer_job`` (the CLI's ``train_summarizer``) in a child process; the
best model by validation ROUGE-L is a model folder under the user's models, shown in the runs table.

"Start from" a trained summarizer (the shipped one or a finished run) fine-tunes it on the data
(``init_from``): its architecture, tokenizer and weights are kept, so the size, vocabulary and
word-vector fields show that model's values and are disabled.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout

from desktop.widgets.run_tab import model_ready
from desktop.widgets.spinboxes import dspin, spin
from desktop.widgets.train_task import PathRow, TaskTrainTab
from engine.lab import task_jobs
from engine.summarize.train import SummarizerTrainConfig

NEW_MODEL = "A new model"

# engine.summarize.pointer.PointerConfig's defaults, kept here so the panel opens without torch
MODEL_DEFAULTS = {"emb_dim": 128, "enc_hidden": 192, "dec_hidden": 256, "attn_dim": 256}
FORMATS = (
    ("Detect from the path", "auto"),
    ("BBC News Summary folder", "bbc"),
    ("JSON Lines (.jsonl)", "jsonl"),
)
# "auto" first: the headline default failed on the documented .jsonl format ({"text", "summary"})
TARGETS = (
    ("Detect: headline (BBC folder), summary (.jsonl)", "auto"),
    ("Headline (the title line)", "title"),
    ("Reference summary (first sentences)", "summary"),
)


class SummarizerTrainTab(TaskTrainTab):
    TASK = "summarizer"
    JOB = task_jobs.summarizer_job
    VAL_LOSS = "val_nll"
    METRICS = ("rouge_l",)
    HINT = (
        'Choose a BBC News Summary folder or a .jsonl file of {"text", "summary"} lines, then Start. '
        "The model that scores the best validation ROUGE-L is kept. Start from a trained summarizer to "
        "fine-tune it."
    )

    def build_form(self, form: QFormLayout) -> None:
        d = SummarizerTrainConfig()
        self._own_sizes: dict | None = None  # the new-model fields while a starting model's are shown
        self.data = PathRow("BBC News Summary folder or a .jsonl file", ("folder", "file"), "Summarizer data")
        self.start_from = QComboBox()
        # a long run name must not widen the form and push the runs table's folder out of view
        self.start_from.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.start_from.setMinimumContentsLength(24)
        self.start_from.setToolTip(
            "A new summarizer, or a trained one (the shipped model or a finished run) fine-tuned on "
            "this data: its architecture, tokenizer and weights are kept"
        )
        self.start_from.currentIndexChanged.connect(self._on_start_from)
        self.fmt = QComboBox()
        for label, key in FORMATS:
            self.fmt.addItem(label, key)
        self.target = QComboBox()
        for label, key in TARGETS:
            self.target.addItem(label, key)
        self.emb = spin(8, 1024, MODEL_DEFAULTS["emb_dim"], 8)
        self.enc = spin(8, 2048, MODEL_DEFAULTS["enc_hidden"], 8)
        self.dec = spin(8, 2048, MODEL_DEFAULTS["dec_hidden"], 8)
        self.attn = spin(8, 2048, MODEL_DEFAULTS["attn_dim"], 8)
        self.pointer = QCheckBox("Copy words from the article (pointer)")
        self.pointer.setChecked(True)
        self.coverage = QCheckBox("Coverage (discourage repeating)")
        self.coverage.setChecked(True)
        self.max_source = spin(16, 2000, 160, 16)
        self.max_target = spin(4, 400, 24, 4)
        self.epochs = spin(1, 1000, d.epochs)
        self.max_steps = spin(0, 10_000_000, d.max_steps, 100)
        self.batch = spin(1, 1024, d.batch_size, 8)
        self.lr = dspin(1e-5, 1.0, d.lr, 5, 1e-4)
        self.clip = dspin(0.0, 100.0, d.clip, 2, 0.5)
        self.eval_every = spin(0, 100_000, d.eval_every, 50)
        self.patience = spin(0, 1000, d.patience)
        self.vocab = spin(300, 64_000, d.vocab_size, 500)
        self.word_vectors = QCheckBox("Start the embedding from Word2Vec")
        self.word_vectors.setChecked(d.word_vectors)
        self.limit = spin(0, 10_000_000, d.limit, 100)
        for label, widget in (
            ("Data", self.data),
            ("Start from", self.start_from),
            ("Format", self.fmt),
            ("Learn to write", self.target),
            ("Embedding size", self.emb),
            ("Encoder size", self.enc),
            ("Decoder size", self.dec),
            ("Attention size", self.attn),
            ("", self.pointer),
            ("", self.coverage),
            ("Article pieces read", self.max_source),
            ("Longest summary (pieces)", self.max_target),
            ("Epochs", self.epochs),
            ("Max steps (0 = no limit)", self.max_steps),
            ("Batch size", self.batch),
            ("Learning rate", self.lr),
            ("Clip gradient norm", self.clip),
            ("Validate every (steps, 0 = epoch)", self.eval_every),
            ("Patience (validations, 0 = off)", self.patience),
            ("Vocabulary", self.vocab),
            ("", self.word_vectors),
            ("Training pairs (0 = all)", self.limit),
        ):
            form.addRow(label, widget)
        self.scan_models()

    # ---- fine-tuning ----------------------------------------------------------------------------
    def scan_models(self) -> None:
        """Offer every summarizer found (shipped first, then the user's runs) as a starting point."""
        from desktop.task_models import SUMMARIZER_KIND

        self.fill_start_from(SUMMARIZER_KIND, NEW_MODEL, "Fine-tune")

    def _size_boxes(self) -> dict:
        """PointerConfig field -> its spin box (what a starting model fixes)."""
        return {
            "emb_dim": self.emb,
            "enc_hidden": self.enc,
            "dec_hidden": self.dec,
            "attn_dim": self.attn,
            "max_source": self.max_source,
            "max_target": self.max_target,
            "vocab_size": self.vocab,
        }

    def _checks(self) -> dict:
        return {"pointer": self.pointer, "coverage": self.coverage}

    def _sizes(self) -> dict:
        return {k: box.value() for k, box in self._size_boxes().items()} | {
            k: box.isChecked() for k, box in self._checks().items()
        }

    def _set_sizes(self, values: dict) -> None:
        for key, box in self._size_boxes().items():
            value = values.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                box.setValue(value)
        for key, box in self._checks().items():
            if isinstance(values.get(key), bool):
                box.setChecked(values[key])

    def _on_start_from(self, *_args) -> None:
        folder = self.start_from.currentData()
        if folder:
            if self._own_sizes is None:  # the user's fields for a new model, given back later
                self._own_sizes = self._sizes()
            self._show_architecture(folder)
        elif self._own_sizes is not None:
            self._set_sizes(self._own_sizes)
            self._own_sizes = None
        for w in (*self._size_boxes().values(), *self._checks().values(), self.word_vectors):
            w.setEnabled(not folder)  # the starting model's architecture, tokenizer and embedding

    def _show_architecture(self, folder: str) -> None:
        """Fill the (disabled) model fields with the starting model's own values."""
        from desktop.task_models import SUMMARIZER_KIND
        from engine import checkpoint as ckpt

        try:
            cfg = ckpt.read_config(folder, kind=SUMMARIZER_KIND)["config"]
        except (OSError, ValueError):  # an unreadable config.json raised in this slot
            return  # a damaged folder: the run will say so when started
        self._set_sizes(cfg)

    def config(self) -> dict:
        return {
            "data": self.data.text(),
            "init_from": self.start_from.currentData() or "",
            "fmt": self.fmt.currentData(),
            "target": self.target.currentData(),
            "epochs": self.epochs.value(),
            "max_steps": self.max_steps.value(),
            "batch_size": self.batch.value(),
            "lr": self.lr.value(),
            "clip": self.clip.value(),
            "patience": self.patience.value(),
            "eval_every": self.eval_every.value(),
            "vocab_size": self.vocab.value(),
            "word_vectors": self.word_vectors.isChecked(),
            "limit": self.limit.value(),
            "model": {
                "emb_dim": self.emb.value(),
                "enc_hidden": self.enc.value(),
                "dec_hidden": self.dec.value(),
                "attn_dim": self.attn.value(),
                "pointer": self.pointer.isChecked(),
                "coverage": self.coverage.isChecked(),
                "max_source": self.max_source.value(),
                "max_target": self.max_target.value(),
            },
        }

    def problem(self, config: dict) -> str | None:
        return None if config["data"] else "Choose the training data first (a folder or a .jsonl file)."

    def start_text(self, info: dict) -> str:
        text = super().start_text(info)
        if info.get("init_from"):
            from pathlib import Path

            text += f"; fine-tuning {Path(info['init_from']).name}"
        return text

    def on_result(self, result: dict) -> str:
        if not model_ready(result):
            return ""
        return "Summarize with it: python -m engine summarize --method abstractive --model <that folder>."

    def accept_drop(self, paths: list[str]) -> None:
        self.data.setText(paths[0])
