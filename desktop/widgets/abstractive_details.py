"""What the Summarize panel shows under an abstractive summary: which words were copied, the other
beams with their log-probabilities, and the attention heat map (summary words × source words).

The summary sentence itself is drawn by the summary view with :func:`copy_html`: each word tinted by
how much of it the model copied from the source (1 - p_gen) and underlined when mostly copied;
hovering a word says how much. The heat map is the chat panel's :class:`HeatMap` (it scrolls
sideways when the source has many words); "Only the attended words" crops it to the window the
summary looked at (``desktop.abstractive_ops.attended_window``). pyqtgraph loads on first use.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.abstractive_ops import attended_window
from desktop.widgets.attention_view import COL_PX
from desktop.widgets.keyword_chips import FlowLayout

COPIED = 0.5  # a word whose copy share is at least this is underlined as copied
MAX_TINT_ALPHA = 150  # alpha of the tint under a fully copied word
HEAT_HINT = (
    "Each row is a word of the summary, each column a word of the source the model read; brighter "
    "cells are where it looked while writing that word. Hover a cell for its weight."
)


def copy_html(sentence: str, copy: list[float]) -> str:
    """``sentence`` as rich text, each word tinted by its copy share (a link ``w:i`` for its tooltip).
    Plain text when the words do not line up with the shares (e.g. a summary from elsewhere)."""
    words = sentence.split()
    if not words or len(words) != len(copy):
        return html.escape(sentence)
    c = theme.current_colors()
    parts = []
    for i, (word, share) in enumerate(zip(words, copy)):
        tint = QColor(c["accent"])
        tint.setAlpha(int(MAX_TINT_ALPHA * max(0.0, min(1.0, share))))
        line = "underline" if share >= COPIED else "none"
        parts.append(
            f"<a href='w:{i}' style='color:{c['text']}; text-decoration:{line}; "
            f"background-color:rgba({tint.red()},{tint.green()},{tint.blue()},{tint.alpha()})'>"
            f"{html.escape(word)}</a>"
        )
    return " ".join(parts)


LEGEND_ROW = 22  # height of one line of a legend


class WrappingLegend(QWidget):
    """A legend of entries (a swatch and its label each) side by side, wrapping onto more lines in a
    narrow pane rather than being cut; subclasses list the entries in :meth:`entries`."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        policy = self.sizePolicy()
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def entries(self, fm) -> list[tuple[int, object]]:
        """``(width, draw(painter, x, top, colours))`` per entry, in order."""
        raise NotImplementedError

    def _rows(self, width: int) -> list[list[tuple[int, object]]]:
        rows: list[list[tuple[int, object]]] = [[]]
        x = 0
        for w, draw in self.entries(self.fontMetrics()):
            if rows[-1] and x + w > width:
                rows.append([])
                x = 0
            rows[-1].append((x, draw))
            x += w
        return rows

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        return LEGEND_ROW * len(self._rows(width))

    def sizeHint(self):  # noqa: N802 (Qt override)
        widths = [w for w, _ in self.entries(self.fontMetrics())]
        return QSize(sum(widths), LEGEND_ROW)

    def minimumSizeHint(self):  # noqa: N802 (Qt override)
        widths = [w for w, _ in self.entries(self.fontMetrics())] or [0]
        return QSize(max(widths), LEGEND_ROW)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # the number of lines may change

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        c = theme.current_colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for r, row in enumerate(self._rows(self.width())):
            for x, draw in row:
                draw(p, x, r * LEGEND_ROW, c)
        p.end()


class CopyLegend(WrappingLegend):
    """A tinted, underlined swatch 'copied from the source', then a plain one 'written by the model'."""

    def entries(self, fm) -> list[tuple[int, object]]:
        out = []
        for label, alpha in (("copied from the source", MAX_TINT_ALPHA), ("written from the vocabulary", 0)):

            def draw(p, x, top, c, label=label, alpha=alpha) -> None:
                tint = QColor(c["accent"])
                tint.setAlpha(alpha)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(tint)
                p.drawRoundedRect(x, top + 4, 26, 14, 3, 3)
                p.setPen(QColor(c["text"]))
                base = top + 4 + fm.ascent()
                p.drawText(x + 5, base, "ab")
                if alpha:
                    p.drawLine(x + 5, base + 2, x + 5 + fm.horizontalAdvance("ab"), base + 2)
                p.setPen(QColor(c["muted"]))
                p.drawText(x + 34, base, label)

            out.append((34 + fm.horizontalAdvance(label) + 20, draw))
        return out


class AbstractiveDetails(QWidget):
    """Copy legend, other beams and the collapsible attention map of one abstractive summary."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(8)
        self.copy_legend = CopyLegend()
        col.addWidget(self.copy_legend)
        self.beams_title = _section("BEAMS")
        col.addWidget(self.beams_title)
        self.beams = QLabel()
        self.beams.setWordWrap(True)
        self.beams.setTextFormat(Qt.TextFormat.RichText)
        self.beams.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.beams.setToolTip(
            "The candidates beam search kept, best first by their score: the log-probability divided by a "
            "length penalty, so a longer candidate is not ruled out by its longer sum; the total "
            "log-probability in brackets"
        )
        col.addWidget(self.beams)
        self.toggle = QToolButton()
        self.toggle.setText("Attention map")  # short: the pane can be narrow (the tooltip says more)
        self.toggle.setToolTip("Show or hide the attention map: summary words × source words")
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._on_toggle)
        col.addWidget(self.toggle)
        self.section = QWidget()
        inner = QVBoxLayout(self.section)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(6)
        hint = QLabel(HEAT_HINT)
        hint.setObjectName("MutedLabel")
        hint.setWordWrap(True)
        inner.addWidget(hint)
        buttons = QWidget()
        row = FlowLayout(buttons, spacing=12)  # one line, or two in a narrow pane
        self.crop = QCheckBox("Only the attended words")
        self.crop.setToolTip("Crop the map to the source words the summary looked at")
        self.crop.toggled.connect(self._draw)
        row.addWidget(self.crop)
        self.larger_button = QPushButton("Open larger")
        self.larger_button.clicked.connect(self.open_large)
        row.addWidget(self.larger_button)
        inner.addWidget(buttons)
        self.heat_layout = inner
        self.heat = None  # HeatMap, made on first use (imports pyqtgraph)
        col.addWidget(self.section)
        self.extras: dict = {}
        self.beam_rows: list[tuple] = []  # (text, log-probability, score or None), best first
        self.shown_cols: tuple[int, int] = (0, 0)  # source-word columns the map shows

    def set_result(self, sentence: str, extras: dict) -> None:
        self.extras = extras or {}
        best = (sentence, float(self.extras.get("log_prob", 0.0)), self.extras.get("score"))
        alternatives = self.extras.get("alternatives") or []
        others = [(a["text"], float(a["log_prob"]), a.get("score")) for a in alternatives]
        self.beam_rows = [best, *others]
        self._show_beams()
        scored = all(score is not None for *_, score in self.beam_rows)  # (summaries saved before: no score)
        what = "SCORE (LOG-PROBABILITY)" if scored else "LOG-PROBABILITY"
        self.beams_title.setText(f"BEAMS · {what}{'' if len(self.beam_rows) > 1 else ' (BEAM 1)'}")
        attention = self.extras.get("attention") or {}
        has_map = bool(attention.get("rows") and attention.get("cols"))
        self.toggle.setVisible(has_map)
        self.section.setVisible(has_map and self.toggle.isChecked())
        if has_map:
            self._draw()

    def _show_beams(self) -> None:
        c = theme.current_colors()
        rows = "".join(
            f"<tr><td style='padding:2px 10px 2px 0; color:{c['muted']}'>{k + 1}</td>"
            f"<td style='padding:2px 12px 2px 0'>{'<b>' if k == 0 else ''}{html.escape(text)}"
            f"{'</b>' if k == 0 else ''}</td>"
            f"<td style='padding:2px 0; color:{c['muted']}' align='right'>"
            f"{f'{score:.2f} ({lp:.2f})' if score is not None else f'{lp:.2f}'}</td></tr>"
            for k, (text, lp, score) in enumerate(self.beam_rows)
        )
        self.beams.setText(f"<table cellspacing='0'>{rows}</table>")

    def retheme(self) -> None:
        """The beams again in the theme's colours (the heat map redraws itself)."""
        if self.beam_rows:
            self._show_beams()

    def _ensure_heat(self):
        if self.heat is None:
            from desktop.widgets.attention_view import HeatMap

            self.heat = HeatMap(COL_PX)
            self.heat_layout.addWidget(self.heat)
        return self.heat

    def map_data(self) -> tuple[list[list[float]], list[str], list[str]]:
        """(values, summary words, source words) as the map shows them (cropped or whole)."""
        attention = self.extras.get("attention") or {}
        values, rows = attention.get("values") or [], attention.get("rows") or []
        cols = attention.get("cols") or []
        lo, hi = attended_window(values) if self.crop.isChecked() else (0, len(cols))
        self.shown_cols = (lo, hi)
        return [list(r[lo:hi]) for r in values], list(rows), list(cols[lo:hi])

    def _draw(self, *_args) -> None:
        if self.toggle.isChecked() and self.extras.get("attention"):
            values, rows, cols = self.map_data()
            self._ensure_heat().set_data(values, rows, [w or "·" for w in cols])

    def _on_toggle(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.section.setVisible(on)
        self._draw()

    def open_large(self) -> QDialog | None:
        if not self.extras.get("attention"):
            return None
        from desktop.widgets.attention_view import HeatMap

        dialog = QDialog(self.window())
        dialog.setWindowTitle("Abstractive summary — attention")
        dialog.resize(1100, 520)
        lay = QVBoxLayout(dialog)
        hint = QLabel(HEAT_HINT)
        hint.setWordWrap(True)
        lay.addWidget(hint)
        heat = HeatMap(COL_PX + 5)
        values, rows, cols = self.map_data()
        heat.set_data(values, rows, [w or "·" for w in cols])
        lay.addWidget(heat)
        lay.addStretch(1)
        dialog.open()
        return dialog


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("SectionLabel")
    return label
