""" "Why this reply": heat maps of a reply's attention, drawn with pyqtgraph ImageItems.

Two maps: utterance level (each generated word × each earlier turn) and word level (each
generated word × each context word). Rows are the generated words (top to bottom), columns what
they looked at; hovering a cell reads out the weight. pyqtgraph is imported on first use, so it
costs nothing at start-up.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop import theme

ROW_PX = 18  # height of one generated word's row
LABEL_CHARS = 24  # longer row and column labels are cut with an ellipsis


def one_line(label: str) -> str:
    """A row or column label on one line: a word of a reply with a line break in it ("here:\n```")
    was drawn on three lines over its neighbours' labels."""
    text = " ".join(str(label).replace("\n", " ⏎ ").split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


COL_PX = 11  # narrowest column of a context word (word level); wider when there is room
TURN_COL_PX = 30  # narrowest column of a turn (utterance level)
LABEL_MAX_PX = 210  # tallest rotated column label


SPEAKERS = {"<u1>": "you:", "<u2>": "bot:"}  # the chat model's turn markers (engine.dialogue.data)


def piece_labels(pieces: list[str], first_starts_word: bool = True) -> list[str]:
    """Tokenizer pieces as heat-map labels. Pieces come as the model's records keep them: a word's
    first piece with a leading space, the rest without; the tokenizer also emits a bare space
    piece before digits and rare characters, after which a piece starts a word too. A piece that
    continues a word is marked with a leading "-" ("w", "-eekend"; "25" is "2", "-5") so that it
    does not read as a word with its first letters cut off; the speaker markers ``<u1>`` and
    ``<u2>`` that open each turn read "you:" and "bot:" (as the turn labels do); punctuation and
    bytes are shown as they are, a bare space as "·"."""
    out = []
    starts = first_starts_word
    for piece in pieces:
        text = piece.strip()
        if text in SPEAKERS:
            out.append(SPEAKERS[text])
            starts = True
            continue
        if not text:
            out.append("·")
            starts = True
            continue
        starts = starts or piece[:1].isspace()
        out.append(text if starts or not text[:1].isalnum() else "-" + text)
        starts = False
    return out


def _make_classes():
    import pyqtgraph as pg

    class RotatedAxis(pg.AxisItem):
        """A bottom axis whose labels stand vertically (reading upwards), so every context word fits.

        pyqtgraph lays tick text out horizontally and drops labels wider than their slot; this axis
        draws ``labels`` itself, one per tick, at the tick positions pyqtgraph computed.
        """

        labels: list[str] = []

        def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
            p.setRenderHint(p.RenderHint.Antialiasing, False)
            p.setRenderHint(p.RenderHint.TextAntialiasing, True)
            pen, p1, p2 = axisSpec
            p.setPen(pen)
            p.drawLine(p1, p2)
            for tick_pen, a, b in tickSpecs:
                p.setPen(tick_pen)
                p.drawLine(a, b)
            if self.style["tickFont"] is not None:
                p.setFont(self.style["tickFont"])
            p.setPen(self.textPen())
            top = self.boundingRect().top() + 6
            room = self.boundingRect().height() - 8
            metrics = p.fontMetrics()
            for (_pen, a, _b), label in zip(tickSpecs, self.labels):
                text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(room))
                p.save()
                p.translate(a.x(), top)
                p.rotate(-90)
                p.drawText(
                    QRectF(-room, -8, room, 16),
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    text,
                )
                p.restore()

    return pg, RotatedAxis


class HeatMap(QWidget):
    """One labelled heat map: rows = generated words, columns = ``x_labels``."""

    def __init__(self, col_px: int, parent=None) -> None:
        super().__init__(parent)
        pg, RotatedAxis = _make_classes()
        self._pg = pg
        self.col_px = col_px
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setMinimumHeight(120)
        self.bottom = RotatedAxis("bottom")
        self.plot = self.canvas.addPlot(axisItems={"bottom": self.bottom})
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.getViewBox().setDefaultPadding(0)
        self.bottom.setStyle(autoExpandTextSpace=False, tickLength=0)
        self.plot.getAxis("left").setStyle(tickLength=0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.readout = QLabel(" ")
        self.readout.setObjectName("MutedLabel")
        self.scroll = QScrollArea()  # many context words: this map scrolls sideways on its own
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.canvas)
        lay.addWidget(self.scroll)
        lay.addWidget(self.readout)
        self.rows: list[str] = []
        self.cols: list[str] = []
        self.values: list[list[float]] = []
        self.canvas.scene().sigMouseMoved.connect(self._hover)

    def set_data(self, values: list[list[float]], rows: list[str], cols: list[str]) -> None:
        import numpy as np

        self.rows, self.cols, self.values = rows, cols, values
        c = theme.current_colors()
        self.canvas.setBackground(c["pane"])
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(c["text"])
            axis.setPen(c["border"])
        data = np.asarray(values, dtype=float) if values else np.zeros((1, 1))
        if data.ndim != 2 or data.size == 0:
            data = np.zeros((1, 1))
        self.image.setImage(data, levels=(0.0, max(float(data.max()), 1e-6)))
        self.image.setRect(QRectF(0, 0, data.shape[1], data.shape[0]))
        rows, cols = [one_line(r) for r in rows], [one_line(c) for c in cols]  # (what is drawn)
        self.plot.getAxis("left").setTicks([[(i + 0.5, r) for i, r in enumerate(rows)]])
        self.bottom.setTicks([[(j + 0.5, "") for j in range(len(cols))]])
        self.bottom.labels = list(cols)
        metrics = QFontMetrics(self.font())
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setStyle(tickFont=self.font())
        label_h = max([metrics.horizontalAdvance(s) for s in cols] + [20]) + 14
        self.bottom.setHeight(min(label_h, LABEL_MAX_PX))
        left_w = max([metrics.horizontalAdvance(r) for r in rows] + [20]) + 12
        self.plot.getAxis("left").setWidth(min(left_w, 140))
        self.plot.setXRange(0, data.shape[1], padding=0)
        self.plot.setYRange(0, data.shape[0], padding=0)
        height = len(rows) * ROW_PX + min(label_h, LABEL_MAX_PX) + 24
        self.canvas.setFixedHeight(height)
        self.canvas.setMinimumWidth(min(left_w, 140) + max(len(cols), 1) * self.col_px + 24)
        self.scroll.setFixedHeight(height + 12)

    def retheme(self) -> None:
        """Draw the map shown again in the theme's colours and at the text size."""
        if self.rows or self.cols or self.values:
            self.set_data(self.values, self.rows, self.cols)

    def _hover(self, pos) -> None:
        if not self.values:
            return
        point = self.plot.getViewBox().mapSceneToView(pos)
        i, j = int(point.y()), int(point.x())
        if 0 <= i < len(self.rows) and 0 <= j < len(self.cols) and j < len(self.values[i]):
            self.readout.setText(f"“{self.rows[i]}” → “{self.cols[j]}”: {self.values[i][j]:.3f}")
        else:
            self.readout.setText(" ")


class AttentionView(QWidget):
    """The 'Why this reply' tab (and the larger window it opens)."""

    def __init__(self, parent=None, large: bool = False) -> None:
        super().__init__(parent)
        self.record: dict | None = None
        self._large = large
        col = QVBoxLayout(self)
        col.setContentsMargins(14, 12, 14, 12)
        col.setSpacing(8)
        head = QHBoxLayout()
        title = QLabel("Why this reply")
        title.setObjectName("PaneTitle")
        head.addWidget(title)
        head.addStretch(1)
        self.expand_button = QPushButton("Open larger")
        self.expand_button.clicked.connect(self.open_large)
        self.expand_button.setVisible(not large)
        head.addWidget(self.expand_button)
        col.addLayout(head)
        self.quote = QLabel()
        self.quote.setWordWrap(True)
        col.addWidget(self.quote)
        self.legend = QLabel(
            "Each row is a word of the reply; brighter cells are what it paid most attention "
            "to while being written. Hover a cell for its weight."
        )
        self.legend.setWordWrap(True)
        self.legend.setObjectName("MutedLabel")
        col.addWidget(self.legend)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(6)
        scroll.setWidget(self.body)
        col.addWidget(scroll, 1)
        self.empty = QLabel(
            "Click a reply to see which earlier turns and which words the model "
            "looked at while writing each word."
        )
        self.empty.setWordWrap(True)
        self.empty.setObjectName("EmptyText")
        self.body_layout.addWidget(self.empty)
        self.turn_title = QLabel("Which turns it looked at (utterance attention)")
        self.word_title = QLabel("Which words it looked at (word attention)")
        self.turn_map: HeatMap | None = None
        self.word_map: HeatMap | None = None
        self.body_layout.addStretch(1)
        self.expand_button.setEnabled(False)
        self.legend.hide()

    def _ensure_maps(self) -> None:
        if self.turn_map is not None:
            return
        self.turn_map = HeatMap(TURN_COL_PX)
        self.word_map = HeatMap(COL_PX)
        for i, w in enumerate((self.turn_title, self.turn_map, self.word_title, self.word_map)):
            self.body_layout.insertWidget(1 + i, w)

    def set_record(self, record: dict | None) -> None:
        self.record = record
        has = bool(record and record.get("out_tokens"))
        self.expand_button.setEnabled(has)
        self.empty.setVisible(not has)
        if not has:
            if record is not None:
                self.empty.setText(
                    "This reply has no attention recorded (it was stopped before its first "
                    "word, or came from an import without it)."
                )
            for w in (self.turn_title, self.word_title, self.turn_map, self.word_map):
                if w is not None:
                    w.hide()
            self.quote.setText("")
            self.legend.hide()
            return
        self.legend.show()
        self._ensure_maps()
        text = record.get("text") or ""
        self.quote.setText(f"“{text[:300]}{'…' if len(text) > 300 else ''}”")
        rows = piece_labels(record["out_tokens"])  # a reply's first piece starts a word
        self.turn_map.set_data(record.get("turn_attention") or [], rows, record.get("turn_labels") or [])
        words = piece_labels(record.get("context_tokens") or [], first_starts_word=False)
        self.word_map.set_data(record.get("word_attention") or [], rows, words)
        for w in (self.turn_title, self.word_title, self.turn_map, self.word_map):
            w.show()

    def open_large(self) -> None:
        if not self.record:
            return
        dialog = QDialog(self.window())
        dialog.setWindowTitle("Why this reply — attention")
        dialog.resize(1100, 760)
        lay = QVBoxLayout(dialog)
        view = AttentionView(dialog, large=True)
        lay.addWidget(view)
        view.set_record(self.record)
        dialog.open()
