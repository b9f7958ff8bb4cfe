"""The summary beside the source: title, figures, notes, the chosen sentences (each links back to
its place in the source), keywords as chips, a legend for the source shading, copy and export.
An abstractive summary shows its one written sentence with the copied words marked, and under it
the beams and the attention map (desktop/widgets/abstractive_details.py).

Three states: empty (what to do), busy (a summary is being made) and the result.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QCursor, QLinearGradient
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets.abstractive_details import AbstractiveDetails, WrappingLegend, copy_html
from desktop.widgets.keyword_chips import KeywordChips
from desktop.widgets.source_view import CHOSEN_DARK, CHOSEN_LIGHT, MAX_SHADE_ALPHA, MIN_SHADE_ALPHA

MAX_SHOWN_SENTENCES = 400  # a longer summary is shown in part; copy and export hold all of it


class ShadeLegend(WrappingLegend):
    """'in the summary' swatch, then a low -> high importance gradient, as the source is shaded
    (for an abstractive summary: only the gradient, of the attention each sentence got)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.attention = False  # shading by attention share (abstractive), not by importance

    def entries(self, fm) -> list[tuple[int, object]]:
        out = []
        if not self.attention:
            label = "in the summary"

            def chosen(p, x, top, c) -> None:
                dark = QColor(c["window"]).lightness() < 128
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(CHOSEN_DARK if dark else CHOSEN_LIGHT)
                p.drawRoundedRect(x, top + 4, 26, 14, 3, 3)
                p.setPen(QColor(c["muted"]))
                p.drawText(x + 34, top + 4 + fm.ascent(), label)

            out.append((34 + fm.horizontalAdvance(label) + 18, chosen))
        low_label = "attention: none" if self.attention else "importance: low"
        low_w = fm.horizontalAdvance(low_label) + 6

        def scale(p, x, top, c) -> None:
            p.setPen(QColor(c["muted"]))
            p.drawText(x, top + 4 + fm.ascent(), low_label)
            g = x + low_w
            grad = QLinearGradient(g, 0, g + 70, 0)
            low, high = QColor(c["accent"]), QColor(c["accent"])
            low.setAlpha(MIN_SHADE_ALPHA)
            high.setAlpha(MAX_SHADE_ALPHA)
            grad.setColorAt(0, low)
            grad.setColorAt(1, high)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(grad)
            p.drawRoundedRect(g, top + 4, 70, 14, 3, 3)
            p.setPen(QColor(c["muted"]))
            p.drawText(g + 76, top + 4 + fm.ascent(), "high")

        out.append((low_w + 76 + fm.horizontalAdvance("high") + 4, scale))
        return out


class FittedBrowser(QTextBrowser):
    """A text browser exactly as tall as its text (the page around it scrolls instead)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)

    def _fit(self, *_args) -> None:
        margins = self.contentsMargins()
        height = int(self.document().size().height()) + margins.top() + margins.bottom() + 2
        if height != self.height():
            self.setFixedHeight(max(height, 48))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()


class SummaryView(QFrame):
    sentence_clicked = Signal(int)  # index of a source sentence
    keyword_chosen = Signal(str)
    copy_requested = Signal()
    export_requested = Signal(str)  # "txt" | "md" | "json"
    sample_requested = Signal()  # "Try a sample article" on the empty page

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("SidePanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        col.addWidget(self.stack)
        self.empty = self._empty_page()
        self.busy = self._busy_page()
        self.result = self._result_page()
        for page in (self.empty, self.busy, self.result):
            self.stack.addWidget(page)
        self.sentences: list[str] = []
        self.copy_shares: list[float] = []  # per word of an abstractive summary: the share copied
        self._text_of: tuple[list[str], list[int], bool] = ([], [], False)  # shown, indices, abstractive

    # ------------------------------------------------------------------ pages
    def _empty_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.addStretch(2)
        icon = QLabel()
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_icon(icon, "summarize", "muted", 44)
        col.addWidget(icon)
        title = QLabel("Your summary appears here")
        title.setObjectName("EmptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)  # (a narrow pane cut it to "our summary appears her")
        col.addWidget(title)
        self.empty_text = QLabel(
            "Paste an article on the left or drop a file, choose a length and press Summarize. "
            "The key sentences are marked in the text, and every sentence is shaded by how central it is."
        )
        self.empty_text.setObjectName("EmptyText")
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setContentsMargins(40, 0, 40, 0)
        col.addWidget(self.empty_text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.sample_button = QPushButton("Try a sample article")
        self.sample_button.setToolTip("Summarize one of the short news articles that ship with Parlance")
        self.sample_button.clicked.connect(self.sample_requested)
        row.addWidget(self.sample_button)
        row.addStretch(1)
        col.addSpacing(8)
        col.addLayout(row)
        col.addStretch(3)
        return page

    def _busy_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(40, 0, 40, 0)
        col.addStretch(2)
        self.busy_label = QLabel("Summarizing…")
        self.busy_label.setObjectName("EmptyText")
        self.busy_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.busy_label.setWordWrap(True)
        col.addWidget(self.busy_label)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        col.addWidget(self.bar)
        col.addStretch(3)
        return page

    def _result_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(0, 14, 0, 0)
        outer.setSpacing(6)
        top = QHBoxLayout()
        top.setContentsMargins(20, 0, 18, 0)
        heading = QLabel("Summary")
        heading.setObjectName("PaneTitle")
        top.addWidget(heading)
        top.addStretch(1)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.setToolTip("Copy the summary to the clipboard")
        theme.set_icon(self.copy_button, "copy", "muted", 16)
        self.copy_button.clicked.connect(self.copy_requested)
        top.addWidget(self.copy_button)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolTip("Save the summary as a file")
        theme.set_icon(self.export_button, "export", "muted", 16)
        menu = QMenu(self.export_button)
        formats = (("txt", "Plain text (.txt)…"), ("md", "Markdown (.md)…"), ("json", "JSON (.json)…"))
        for fmt, label in formats:
            menu.addAction(label, lambda f=fmt: self.export_requested.emit(f))
        self.export_button.setMenu(menu)
        self.export_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        top.addWidget(self.export_button)
        outer.addLayout(top)
        scroll = QScrollArea()  # title, figures, summary and keywords scroll together
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setObjectName("SummaryScroll")
        scroll.setStyleSheet(
            "#SummaryScroll, #SummaryScroll > QWidget, #SummaryBody { background: transparent; }"
        )
        body = QWidget()
        body.setObjectName("SummaryBody")
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        col = QVBoxLayout(body)
        col.setContentsMargins(20, 0, 18, 12)
        col.setSpacing(8)
        self.title = QLabel()  # the source's own title, small: set large, it read as the summary
        self.title.setObjectName("MutedLabel")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.title)
        self.stats = QLabel()
        self.stats.setObjectName("MutedLabel")
        self.stats.setWordWrap(True)
        col.addWidget(self.stats)
        self.notes = QLabel()
        self.notes.setObjectName("Banner")
        self.notes.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.notes.setWordWrap(True)
        self.notes.setContentsMargins(12, 8, 12, 8)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.notes)
        self.text = FittedBrowser()
        self.text.setOpenLinks(False)
        self.text.anchorClicked.connect(self._on_anchor)
        self.text.highlighted.connect(self._on_hover_link)
        col.addWidget(self.text)
        self.abstractive = AbstractiveDetails()
        self.abstractive.hide()
        col.addWidget(self.abstractive)
        self.keywords_label = QLabel("KEYWORDS")
        self.keywords_label.setObjectName("SectionLabel")
        self.keywords_label.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.keywords_label)
        self.chips = KeywordChips()
        self.chips.chosen.connect(self.keyword_chosen)
        col.addWidget(self.chips)
        self.legend_label = legend_label = QLabel("SOURCE SHADING")
        legend_label.setObjectName("SectionLabel")
        col.addWidget(legend_label)
        self.legend = ShadeLegend()
        col.addWidget(self.legend)
        col.addStretch(1)
        return page

    # ------------------------------------------------------------------ states
    def show_empty(self) -> None:
        self.stack.setCurrentWidget(self.empty)

    def show_busy(self, what: str) -> None:
        self.busy_label.setText(what)
        self.stack.setCurrentWidget(self.busy)

    def show_result(self, result: dict, stats: str) -> None:
        """Show a result dict from desktop.summarize_ops (sentences, indices, keywords, title, notes)."""
        self.sentences = list(result["sentences"])
        self.title.setText(f"Of “{result['title']}”" if result.get("title") else "")
        self.title.setVisible(bool(result.get("title")))
        self.stats.setText(stats)
        notes = list(result.get("notes") or [])
        shown = self.sentences[:MAX_SHOWN_SENTENCES]
        if len(shown) < len(self.sentences):
            notes.append(
                f"Showing the first {len(shown):,} of {len(self.sentences):,} summary sentences; "
                "Copy and Export include all of them."
            )
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))
        abstractive = result.get("method") == "abstractive"
        self.copy_shares = list((result.get("extras") or {}).get("copy") or []) if abstractive else []
        self._text_of = (shown, list(result.get("indices") or []), abstractive)
        self._show_text()
        if abstractive:
            self.abstractive.set_result(shown[0] if shown else "", result.get("extras") or {})
        self.abstractive.setVisible(abstractive)
        self.legend.attention = abstractive
        self.legend_label.setText("SOURCE SHADED BY ATTENTION" if abstractive else "SOURCE SHADING")
        self.legend.updateGeometry()  # its entries (and so its lines) changed
        self.legend.update()
        keywords = list(result.get("keywords") or [])
        self.chips.set_keywords(keywords)
        self.keywords_label.setVisible(bool(keywords))
        self.chips.setVisible(bool(keywords))
        self.stack.setCurrentWidget(self.result)

    def _show_text(self) -> None:
        """The summary's sentences (or its one abstractive sentence) in the theme's colours."""
        shown, indices, abstractive = self._text_of
        if abstractive:
            words = copy_html(shown[0] if shown else "", self.copy_shares)
            self.text.setHtml(f"<p style='margin:0 0 6px 0; line-height:150%'>{words}</p>")
        else:
            self.text.setHtml(self._html(shown, indices))

    def retheme(self) -> None:
        """Draw the summary shown again in the theme's colours (its text holds them)."""
        if self.sentences:
            self._show_text()

    def _html(self, sentences: list[str], indices: list[int]) -> str:
        c = theme.current_colors()
        linked = len(indices) >= len(sentences)
        parts = []
        for k, sentence in enumerate(sentences):
            badge = (
                f"<a href='s:{indices[k]}' style='color:{c['accent']}; text-decoration:none'>"
                f"<b>{indices[k] + 1}</b></a>"
                if linked
                else f"<b style='color:{c['muted']}'>{k + 1}</b>"
            )
            parts.append(
                f"<p style='margin:0 0 12px 0; line-height:140%'>"
                f"<span style='font-size:small'>{badge}</span>&nbsp;&nbsp;{html.escape(sentence)}</p>"
            )
        return "".join(parts)

    def _on_hover_link(self, url) -> None:
        target = url.toString()
        words = self.sentences[0].split() if self.sentences else []
        if target.startswith("w:") and target[2:].isdigit() and int(target[2:]) < len(self.copy_shares):
            i = int(target[2:])
            share = self.copy_shares[i]
            tip = f"“{words[i]}”: {share:.0%} copied from the source, {1 - share:.0%} written by the model"
            QToolTip.showText(QCursor.pos(), tip, self)
        else:
            QToolTip.hideText()

    def _on_anchor(self, url) -> None:
        target = url.toString()
        if target.startswith("s:") and target[2:].isdigit():
            self.sentence_clicked.emit(int(target[2:]))

    def summary_text(self) -> str:
        return " ".join(self.sentences)
