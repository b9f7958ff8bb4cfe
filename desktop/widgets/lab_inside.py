"""Look inside: gate activations over time as heat maps, and embeddings (neighbours, 2-D PCA).

* :class:`GatesTab`: GRU update/reset or LSTM input/forget/output gates (and the others each cell
  has) for a bit string through a parity model, or a sentence through a language model folder or
  a chat model (its utterance encoder, forward direction).
  One heat map per gate: rows are hidden units, columns are time steps (labelled by input).
* :class:`EmbeddingsTab`: a word's nearest neighbours in a language model's (or the chat model's)
  embedding and in gensim word vectors trained on the same text; a PCA scatter of chosen words.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.paths import SHIPPED_MODELS
from desktop.widgets.lab_experiments import _JobTab
from desktop.widgets.live_plot import style_plot
from desktop.widgets.train_dialogue import CELL_CHOICES
from engine.lab import jobs

MAIN_GATES = ("update", "reset", "input", "forget", "output")  # shown first, in this order
CHAT_MODEL = SHIPPED_MODELS / "dialogue"


def _model_row(field: QLineEdit, use_chat_model) -> QHBoxLayout:
    """The model folder field with a button that fills in the shipped chat model."""
    row = QHBoxLayout()
    row.addWidget(field, 1)
    button = QPushButton("Chat model")
    button.setToolTip("Look inside the shipped chat model (HRED): its utterance encoder and embedding")
    button.clicked.connect(use_chat_model)
    row.addWidget(button)
    return row


class GateMaps(QWidget):
    """Heat maps, one per gate, stacked; values in [0, 1] for sigmoid gates (viridis)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(theme.current_colors()["pane"])
        lay.addWidget(self.canvas)
        self.images: dict[str, object] = {}
        self.shown: tuple[dict, list] | None = None  # (gates, tokens) drawn

    def retheme(self) -> None:
        """Draw the maps shown again in the theme's colours and at the text size."""
        self.canvas.setBackground(theme.current_colors()["pane"])
        if self.shown is not None:
            self.set_gates(*self.shown)

    def set_gates(self, gates: dict[str, list], tokens: list[str]) -> None:
        import numpy as np

        self.shown = (gates, tokens)
        c, pt = theme.current_colors(), theme.font_pt()
        self.canvas.setBackground(c["pane"])
        self.canvas.clear()
        self.images = {}
        names = [g for g in MAIN_GATES if g in gates] + [g for g in gates if g not in MAIN_GATES]
        for row, name in enumerate(names):
            data = np.asarray(gates[name], dtype=float).T  # (H, T): units down, time across
            plot = self.canvas.addPlot(row=row, col=0)
            plot.setTitle(name, color=c["text"], size=f"{pt:g}pt")
            style_plot(plot, c, pt)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.invertY(True)
            image = self._pg.ImageItem(axisOrder="row-major")
            image.setColorMap(self._pg.colormap.get("viridis"))
            lo, hi = float(data.min()), float(data.max())
            levels = (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi if hi > lo else lo + 1.0)
            image.setImage(data, levels=levels)
            image.setRect(QRectF(0, 0, data.shape[1], data.shape[0]))
            plot.addItem(image)
            plot.getAxis("bottom").setTicks([[(j + 0.5, t) for j, t in enumerate(tokens)]])
            self.images[name] = image


class GatesTab(_JobTab):
    def __init__(self, service, parent=None) -> None:
        super().__init__(service, parent)
        self.run_button.setText("Show gates")
        form = QFormLayout()
        self.source = QComboBox()
        self.source.addItem("Bits through a parity model", "bits")
        self.source.addItem("A sentence through a model (language or chat model)", "text")
        self.cell = QComboBox()
        for label, key in CELL_CHOICES:
            self.cell.addItem(label, key)
        self.cell.setCurrentIndex(self.cell.findData("gru"))
        self.bits = QLineEdit("1000010101")
        self.steps = QSpinBox()
        self.steps.setRange(0, 10_000)
        self.steps.setValue(0)
        self.model = QLineEdit()
        self.model.setPlaceholderText("a language model folder (Language model tab) or a chat model")
        self.text = QLineEdit("the cat sat on the mat")
        model_row = _model_row(self.model, self._use_chat_model)
        for label, w in (
            ("Input", self.source),
            ("Cell (parity model)", self.cell),
            ("Bits", self.bits),
            ("Train the parity model first (steps)", self.steps),
            ("Model folder", model_row),
            ("Sentence", self.text),
        ):
            form.addRow(label, w)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        self.maps = GateMaps()
        self._arrange(form, right=((self.maps, 1),))

    def _use_chat_model(self) -> None:
        self.model.setText(str(CHAT_MODEL))
        self.source.setCurrentIndex(self.source.findData("text"))

    def run(self) -> None:
        if self.source.currentData() == "text":
            kwargs = {"model": self.model.text().strip(), "text": self.text.text()}
            if not kwargs["model"]:
                self.status.setText("Train a language model first, or choose its folder.")
                return
        else:
            kwargs = {"cell": self.cell.currentData(), "bits": self.bits.text(), "steps": self.steps.value()}
        self.status.setText("Running…")
        self._submit("gates", jobs.gates_job, kwargs)

    def finished(self, result) -> None:
        layer = result["layers"][-1]
        self.maps.set_gates(layer, result["tokens"])
        self.status.setText(
            f"{result['cell']}: {len(result['tokens'])} steps, gates {', '.join(layer)} "
            "(rows: hidden units, columns: time steps)"
        )


class EmbeddingsTab(_JobTab):
    def __init__(self, service, parent=None) -> None:
        super().__init__(service, parent)
        self.run_button.setText("Look up")
        form = QFormLayout()
        self.model = QLineEdit()
        self.model.setPlaceholderText("a language model folder (Language model tab) or a chat model")
        self.text_path = QLineEdit()
        self.text_path.setPlaceholderText("its training text, for gensim word vectors (optional)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.text_path, 1)
        path_row.addWidget(browse)
        self.word = QLineEdit("cat")
        self.words = QLineEdit("cat, dog, park, tree, sat, ran")
        form.addRow("Model folder", _model_row(self.model, self._use_chat_model))
        form.addRow("Text", path_row)
        form.addRow("Word", self.word)
        form.addRow("Words to project", self.words)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        import pyqtgraph as pg

        lists = QHBoxLayout()
        self.model_list, self.gensim_list = QListWidget(), QListWidget()
        lists.addWidget(self.model_list)
        lists.addWidget(self.gensim_list)
        self.scatter = pg.PlotWidget()
        self.projection: dict | None = None  # the words drawn in the scatter (and where)
        self._arrange(form, right=((lists, 1), (self.scatter, 2)))
        self.retheme()

    def retheme(self) -> None:
        """The scatter (background, title, axes, points, words) in the theme's colours and text size."""
        import pyqtgraph as pg

        c, pt = theme.current_colors(), theme.font_pt()
        self.scatter.setBackground(c["pane"])
        plot = self.scatter.getPlotItem()
        plot.setTitle("PCA of the chosen words", color=c["text"], size=f"{pt:g}pt")
        style_plot(plot, c, pt)
        self.scatter.clear()
        proj = self.projection
        if proj:
            xs = [p[0] for p in proj["xy"]]
            ys = [p[1] for p in proj["xy"]]
            self.scatter.plot(xs, ys, pen=None, symbol="o", symbolBrush=c["accent"])
            for w, x, y in zip(proj["words"], xs, ys):
                label = pg.TextItem(w, color=c["text"])
                label.setFont(QApplication.font())
                label.setPos(x, y)
                self.scatter.addItem(label)

    def _use_chat_model(self) -> None:
        """The shipped chat model, with gensim vectors trained on a sample of its corpus."""
        self.model.setText(str(CHAT_MODEL))
        self.text_path.setText("chitchat")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the model's training text")
        if path:
            self.text_path.setText(path)

    def run(self) -> None:
        if not self.model.text().strip():
            self.status.setText("Train a language model first, choose its folder, or take the chat model.")
            return
        words = [w.strip() for w in self.words.text().split(",") if w.strip()]
        kwargs = {
            "folder": self.model.text().strip(),
            "word": self.word.text().strip(),
            "words": words,
            "text_path": self.text_path.text().strip(),
        }
        self.status.setText("Looking…")
        self._submit("embeddings", jobs.embeddings_job, kwargs)

    def finished(self, result) -> None:
        self.model_list.clear()
        self.gensim_list.clear()
        word = result.get("word") or ""
        if word:
            self.model_list.addItem(f"Model embedding, neighbours of {word!r}:")
        for w, s in result.get("model", []):
            self.model_list.addItem(f"{w}   {s:.2f}")
        if "gensim_word" in result:
            self.gensim_list.addItem(f"gensim Word2Vec, neighbours of {result['gensim_word']!r}:")
        elif word:
            self.gensim_list.addItem("gensim: choose a text file to compare with")
        if result.get("gensim_error"):
            self.gensim_list.addItem(f"(no gensim vectors: {result['gensim_error']})")
        for w, s in result.get("gensim", []):
            self.gensim_list.addItem(f"{w}   {s:.2f}")
        self.projection = result.get("projection") or None
        self.retheme()
        said = [f"Neighbours of {word!r}." if word else "No word given: the projection only."]
        if result.get("projection_error"):
            said.append(f"Projection: {result['projection_error']}")
        self.status.setText(" ".join(said))
