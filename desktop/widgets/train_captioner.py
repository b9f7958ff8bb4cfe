"""Train an image captioner (EfficientNet-Lite0 regions + attention LSTM) from the app.

Data: a folder of images and a captions file in a format ``python -m engine train captioner``
reads (CSV ``image,caption``, Flickr8k ``name.jpg#i<TAB>caption`` or COCO JSON). The frozen
encoder runs once per image first (the feature cache, with its own progress bar), then the
decoder trains; validation scores BLEU-4 and CIDEr, and the best model by the chosen one is a model
folder under the user's models, shown in the runs table.

"Start from" a trained captioner (the shipped one or a finished run) instead fine-tunes its decoder
with self-critical CIDEr-D training (engine.caption.scst), the second stage of the shipped model:
the architecture comes from that model, and the form's cross-entropy-only fields are disabled.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from desktop.widgets.run_tab import model_ready
from desktop.widgets.spinboxes import dspin, spin
from desktop.widgets.train_task import PathRow, TaskTrainTab
from engine.caption.config import CaptionerConfig, CaptionTrainConfig, ScstConfig
from engine.lab import task_jobs

SELECT_BY = (("BLEU-4", "bleu_4"), ("CIDEr", "cider"), ("Validation loss", "val_loss"))
WORD_VECTORS = (("Random start", "none"), ("Word2Vec on the training captions", "captions"))


class CaptionerTrainTab(TaskTrainTab):
    TASK = "captioner"
    JOB = task_jobs.captioner_job
    METRICS = ("bleu_4", "cider")
    HINT = (
        "Choose a folder of images and a captions file (CSV image,caption; Flickr8k tokens; COCO JSON), "
        "then Start. Image features are extracted once and kept in the data folder's cache, shared "
        "by every run on the same images."
    )

    def build_form(self, form: QFormLayout) -> None:
        m, t, sc = CaptionerConfig(), CaptionTrainConfig(), ScstConfig()
        self._form = form
        self._own_sizes: dict | None = None  # the new-model sizes while a starting model's are shown
        self.images = PathRow("a folder of images", ("folder",), "Images folder")
        self.captions = PathRow(
            "captions.csv, Flickr8k.token.txt or captions.json", ("file",), "Captions file"
        )
        self.start_from = QComboBox()
        # a long run name must not widen the form and push the runs table's folder out of view
        self.start_from.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.start_from.setMinimumContentsLength(24)
        self.start_from.setToolTip(
            "A new captioner trained with cross-entropy, or a trained one fine-tuned with "
            "self-critical CIDEr-D training (how the shipped captioner's second stage was made)"
        )
        self.start_from.currentIndexChanged.connect(self._on_start_from)
        self.samples = spin(2, 20, sc.samples)
        self.scst_lr = dspin(1e-6, 1e-2, sc.lr, 6, 1e-5)
        self.region = spin(0, 2048, m.region_dim, 16)
        self.embed = spin(8, 1024, m.embed_dim, 8)
        self.hidden = spin(8, 2048, m.hidden_dim, 8)
        self.attn = spin(8, 1024, m.attn_dim, 8)
        self.attention = QCheckBox("Attend to image regions (off: their mean)")
        self.attention.setChecked(m.attention)
        self.fine_tune = spin(0, 6, m.fine_tune_blocks)
        self.epochs = spin(1, 1000, t.epochs)
        self.batch = spin(1, 512, t.images_per_batch, 4)
        self.per_image = spin(1, 10, t.captions_per_image)
        self.lr = dspin(1e-5, 1.0, t.lr, 5, 1e-4)
        self.clip = dspin(0.0, 100.0, t.clip_norm, 2, 0.5)
        self.min_count = spin(1, 100, t.min_count)
        self.vectors = QComboBox()
        for label, key in WORD_VECTORS:
            self.vectors.addItem(label, key)
        self.select_by = QComboBox()  # not "metric": that would hide QWidget.metric(), a Qt virtual
        for label, key in SELECT_BY:
            self.select_by.addItem(label, key)
        self.patience = spin(0, 1000, t.patience)
        self.beam = spin(1, 10, t.val_beam)
        self.max_steps = spin(0, 10_000_000, t.max_steps, 100)
        self.minutes = dspin(0.0, 10_000.0, t.max_minutes, 1, 5.0)
        for label, widget in (
            ("Images", self.images),
            ("Captions", self.captions),
            ("Start from", self.start_from),
            ("Sampled captions per image", self.samples),
            ("Self-critical learning rate", self.scst_lr),
            ("Region size (0 = 1280)", self.region),
            ("Word embedding size", self.embed),
            ("LSTM size", self.hidden),
            ("Attention size", self.attn),
            ("", self.attention),
            ("Encoder blocks to fine-tune", self.fine_tune),
            ("Epochs", self.epochs),
            ("Images per batch", self.batch),
            ("Captions per image", self.per_image),
            ("Learning rate", self.lr),
            ("Clip gradient norm", self.clip),
            ("Words seen at least", self.min_count),
            ("Word vectors", self.vectors),
            ("Keep the best by", self.select_by),
            ("Patience (epochs, 0 = off)", self.patience),
            ("Validation beam", self.beam),
            ("Max steps (0 = no limit)", self.max_steps),
            ("Minutes (0 = no limit)", self.minutes),
        ):
            form.addRow(label, widget)
        self.scan_models()

    # ---- self-critical fine-tuning ---------------------------------------------------------------
    def scan_models(self) -> None:
        """Offer every captioner found (shipped first, then the user's runs) as a starting point."""
        from desktop.task_models import CAPTIONER_KIND

        new_model = "A new model (cross-entropy training)"
        self.fill_start_from(CAPTIONER_KIND, new_model, "Self-critical fine-tuning of")

    def _scst(self) -> bool:
        return bool(self.start_from.currentData())

    def _size_boxes(self) -> dict:
        """CaptionerConfig field -> its spin box (the architecture a starting model fixes)."""
        return {
            "region_dim": self.region,
            "embed_dim": self.embed,
            "hidden_dim": self.hidden,
            "attn_dim": self.attn,
            "fine_tune_blocks": self.fine_tune,
        }

    def _sizes(self) -> dict:
        """The model part of the config, as the form shows it."""
        return {k: box.value() for k, box in self._size_boxes().items()} | {
            "attention": self.attention.isChecked()
        }

    def _set_sizes(self, values: dict) -> None:
        for key, box in self._size_boxes().items():
            if isinstance(values.get(key), int):
                box.setValue(values[key])
        self.attention.setChecked(bool(values.get("attention", True)))

    def _on_start_from(self, *_args) -> None:
        scst = self._scst()
        if scst:
            if self._own_sizes is None:  # the user's sizes for a new model, given back later
                self._own_sizes = self._sizes()
            self._show_architecture(self.start_from.currentData())
        elif self._own_sizes is not None:
            self._set_sizes(self._own_sizes)
            self._own_sizes = None
        label = self._form.labelForField(self.patience)
        if label is not None:
            label.setText("Patience (evals, 0 = off)" if scst else "Patience (epochs, 0 = off)")
        for w in (self.samples, self.scst_lr):
            w.setEnabled(scst)
        for w in (*self._size_boxes().values(), self.attention):
            w.setEnabled(not scst)  # the architecture is the starting model's
        for w in (self.per_image, self.lr, self.min_count, self.vectors):
            w.setEnabled(not scst)  # cross-entropy only

    def _show_architecture(self, folder: str) -> None:
        """Fill the (disabled) model fields with the starting model's own sizes."""
        from engine import checkpoint as ckpt

        try:
            cfg = ckpt.read_config(folder, kind="captioner")["config"]
        except (OSError, ValueError):  # an unreadable config.json raised in this slot
            return  # a damaged folder: the run will say so when started
        self._set_sizes(cfg)

    def build_extra(self) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        self.extract_label = QLabel("Image features: not extracted yet")
        self.extract_bar = QProgressBar()
        self.extract_bar.setRange(0, 1)
        self.extract_bar.setValue(0)
        col.addWidget(self.extract_label)
        col.addWidget(self.extract_bar)
        box.setMaximumHeight(70)
        return box

    def config(self) -> dict:
        scst_from = self.start_from.currentData() or ""
        scst = {
            "samples": self.samples.value(),
            "lr": self.scst_lr.value(),
            "images_per_batch": self.batch.value(),
            "clip_norm": self.clip.value(),
            "epochs": self.epochs.value(),
            "metric": self.select_by.currentData(),
            "patience": self.patience.value(),
            "val_beam": self.beam.value(),
            "max_steps": self.max_steps.value(),
            "max_minutes": self.minutes.value(),
        }
        return {
            "images": self.images.text(),
            "captions": self.captions.text(),
            **({"scst_from": scst_from, "scst": scst} if scst_from else {}),
            "train": {
                "epochs": self.epochs.value(),
                "images_per_batch": self.batch.value(),
                "captions_per_image": self.per_image.value(),
                "lr": self.lr.value(),
                "clip_norm": self.clip.value(),
                "min_count": self.min_count.value(),
                "word_vectors": self.vectors.currentData(),
                "metric": self.select_by.currentData(),
                "patience": self.patience.value(),
                "val_beam": self.beam.value(),
                "max_steps": self.max_steps.value(),
                "max_minutes": self.minutes.value(),
            },
            "model": self._sizes(),
        }

    def missing_extras(self) -> str | None:
        from engine import extras

        if extras.installed(extras.CAPTION_METRICS):
            return None
        # found out at the first validation, after every image was encoded and trained on
        return "Cannot start: " + extras.missing_words(
            "captioner training (its validation scores BLEU / CIDEr)", extras.CAPTION_METRICS
        )

    def problem(self, config: dict) -> str | None:
        missing = self.missing_extras()
        if missing:
            return missing
        if not config["images"] or not config["captions"]:
            return "Choose an images folder and a captions file first."
        if config.get("scst_from") and config["scst"]["metric"] == "val_loss":
            return "Self-critical runs keep the best model by BLEU-4 or CIDEr: choose one of them."
        return None

    def start_text(self, info: dict) -> str:
        text = super().start_text(info)
        if info.get("scst_from"):
            from pathlib import Path

            text += f"; self-critical fine-tuning of {Path(info['scst_from']).name}"
        return text

    def on_event(self, info: dict) -> None:
        if info.get("kind") == "extract":
            done, total = int(info["done"]), max(int(info["total"]), 1)
            self.extract_bar.setRange(0, total)
            self.extract_bar.setValue(done)
            split = f" ({info['split']} images)" if info.get("split") else ""
            self.extract_label.setText(f"Image features: {done}/{total}{split}")
            self._say(f"Run #{self.run_id}: extracting image features{split}: {done}/{total}…")

    def on_result(self, result: dict) -> str:
        if not model_ready(result):
            return ""
        return "Caption with it: python -m engine caption --model <that folder> IMAGES."

    def accept_drop(self, paths: list[str]) -> None:
        from pathlib import Path

        target = self.images if Path(paths[0]).is_dir() else self.captions
        target.setText(paths[0])
