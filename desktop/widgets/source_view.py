"""The Summarize panel's source text: a paste box and drop zone that, once a summary is shown,
shades every sentence by its score and marks the sentences chosen for the summary.

Shading is painted under the text for the visible lines only (no character formats), so a
text of many megabytes with a hundred thousand sentences scrolls as fast as plain text. The
sentence positions (UTF-16, as Qt counts) and shade levels come ready-made from the job
(``desktop.summarize_ops.shading``), so showing a huge result costs this thread little.
Editing the text drops the shading, which described the text as it was.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QToolTip

from desktop import theme

CHOSEN_LIGHT = QColor(255, 196, 0, 118)  # highlighter yellow under chosen sentences (light theme)
CHOSEN_DARK = QColor(255, 190, 60, 92)  # the same, softer on a dark background
MIN_SHADE_ALPHA = 6  # alpha of the accent colour under the least important sentence
MAX_SHADE_ALPHA = 110  # ... and under the most important one
FLASH_MS = 1400
HINT = "Paste or type a text here\nor drop a file: .txt, .md, .html\n\nCtrl+Enter summarizes"


class SourceView(QPlainTextEdit):
    files_dropped = Signal(object)  # list[str] of local paths dropped on the box
    submit_requested = Signal()  # Ctrl+Enter
    edited = Signal()  # the person changed the text (not set_text)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("SourceView")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTabChangesFocus(True)
        self.setAccessibleName("Text to summarize")  # the hint is painted: a screen reader gets this
        self.setAccessibleDescription(" ".join(HINT.split()))
        self.document().setDocumentMargin(10)
        self._starts: list[int] = []  # UTF-16 start of each sentence, ascending
        self._ends: list[int] = []
        self._levels: list[float] = []  # shade level per sentence, 0..1
        self._chosen: set[int] = set()
        self._scores: list[float] = []  # score per sentence
        self._sorted: list[float] | None = None  # negated scores, ascending (for ranks)
        self._flash: int | None = None
        self._setting = False
        self.score_name = "score"  # what the scores are, for the tooltip ("attention share": a fraction)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flash)
        self.textChanged.connect(self._on_text_changed)

    # ------------------------------------------------------------------ content
    def set_text(self, text: str) -> None:
        """Replace the text (drops any shading) without counting as an edit. Over a text the person
        typed or pasted (an unsaved draft) the replacement is one undo step, so Ctrl+Z brings the
        draft back; otherwise ``setPlainText`` (fast for megabytes, and nothing to undo)."""
        self._setting = True
        try:
            self.clear_shading()
            if self.document().isUndoAvailable() and not self.is_blank():
                cursor = QTextCursor(self.document())
                cursor.beginEditBlock()
                cursor.select(QTextCursor.SelectionType.Document)
                cursor.insertText(text)
                cursor.endEditBlock()
                cursor.movePosition(QTextCursor.MoveOperation.Start)
                self.setTextCursor(cursor)
            else:
                self.setPlainText(text)
        finally:
            self._setting = False

    def text(self) -> str:
        return self.toPlainText()

    def is_blank(self) -> bool:
        n = self.document().characterCount()
        return n <= 1 or (n < 100_000 and not self.toPlainText().strip())

    def set_shading(self, shade: dict, scores: list[float], chosen: list[int]) -> None:
        """Shade the text shown: ``shade`` is ``summarize_ops.shading(text, spans, scores)`` (UTF-16
        ``starts``/``ends`` and ``levels`` in [0, 1] per sentence); ``chosen`` sentences are marked."""
        n = min(len(shade["starts"]), len(scores))
        self._starts = list(shade["starts"][:n])
        self._ends = list(shade["ends"][:n])
        self._levels = list(shade["levels"][:n])
        self._chosen = {i for i in chosen if 0 <= i < n}
        self._scores = list(scores[:n])
        self._sorted = None  # scores sorted descending, made when a tooltip first asks for a rank
        self.viewport().update()

    def clear_shading(self) -> None:
        self._starts, self._ends, self._levels, self._chosen, self._scores = [], [], [], set(), []
        self._flash = None
        self.viewport().update()

    @property
    def shaded(self) -> bool:
        return bool(self._starts)

    @property
    def chosen(self) -> list[int]:
        return sorted(self._chosen)

    def sentence_at(self, position: int) -> int | None:
        """The sentence holding document position ``position`` (UTF-16), or None."""
        k = bisect.bisect_right(self._starts, position) - 1
        if 0 <= k < len(self._ends) and position < self._ends[k]:
            return k
        return None

    def show_sentence(self, i: int) -> None:
        """Scroll sentence ``i`` into view and flash it briefly."""
        if not 0 <= i < len(self._starts):
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._ends[i])
        self.setTextCursor(cursor)
        cursor.setPosition(self._starts[i])
        self.setTextCursor(cursor)
        self.centerCursor()
        self._flash = i
        self._flash_timer.start(FLASH_MS)
        self.viewport().update()

    def find_phrase(self, phrase: str) -> bool:
        """Select the next occurrence of ``phrase`` (wrapping around); False when there is none."""
        if self.find(phrase):
            self.centerCursor()
            return True
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Start)
        self.setTextCursor(cursor)
        found = self.find(phrase)
        if found:
            self.centerCursor()
        return found

    def describe(self, k: int) -> str:
        """What the tooltip over sentence ``k`` says: its place, score, rank and whether it was chosen."""
        if self._sorted is None:
            self._sorted = sorted(-s for s in self._scores)
        n, score = len(self._scores), self._scores[k]
        rank = bisect.bisect_left(self._sorted, -score) + 1
        chosen = " · in the summary" if k in self._chosen else ""
        value = f"{score:.1%}" if self.score_name == "attention share" else f"{score:.4f}"
        return f"Sentence {k + 1} of {n:,} · {self.score_name} {value} · rank {rank:,} of {n:,}{chosen}"

    def _end_flash(self) -> None:
        self._flash = None
        self.viewport().update()

    def _on_text_changed(self) -> None:
        if self._setting:
            return
        if self._starts:
            self.clear_shading()
        self.edited.emit()

    # ----------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:
        painter = QPainter(self.viewport())
        try:
            if self._starts:
                self._paint_shading(painter, event.rect())
            elif self.document().isEmpty():
                self._paint_drop_zone(painter)
        finally:
            painter.end()
        super().paintEvent(event)

    def _colors(self) -> tuple[QColor, QColor, QColor]:
        c = theme.current_colors()
        dark = QColor(c["window"]).lightness() < 128
        return QColor(c["accent"]), CHOSEN_DARK if dark else CHOSEN_LIGHT, QColor(c["accent"])

    def _paint_shading(self, painter: QPainter, area) -> None:
        accent, chosen_color, flash_color = self._colors()
        painter.setPen(Qt.PenStyle.NoPen)
        offset = self.contentOffset()
        block = self.firstVisibleBlock()
        n = len(self._starts)
        while block.isValid():
            geo = self.blockBoundingGeometry(block).translated(offset)
            if geo.top() > area.bottom():
                break
            layout = block.layout()
            if block.isVisible() and geo.bottom() >= area.top() and layout is not None:
                base = block.position()
                origin = geo.topLeft() + layout.position()
                for li in range(layout.lineCount()):
                    line = layout.lineAt(li)
                    a = base + line.textStart()
                    b = a + line.textLength()
                    k = bisect.bisect_right(self._ends, a)
                    while k < n and self._starts[k] < b:
                        s, e = max(self._starts[k], a), min(self._ends[k], b)
                        if e > s:
                            x1 = line.cursorToX(s - base)[0]
                            x2 = line.cursorToX(e - base)[0]
                            rect = QRectF(origin + QPointF(x1, line.y()), origin + QPointF(x2, line.y()))
                            rect.setHeight(line.height())
                            painter.setBrush(self._brush(k, accent, chosen_color))
                            painter.drawRoundedRect(rect.adjusted(-1, 0, 1, 0), 3, 3)
                            if k == self._flash:
                                painter.setPen(QPen(flash_color, 1.5))
                                painter.setBrush(Qt.BrushStyle.NoBrush)
                                painter.drawRoundedRect(rect.adjusted(-1, 0.5, 1, -0.5), 3, 3)
                                painter.setPen(Qt.PenStyle.NoPen)
                        k += 1
            block = block.next()

    def _brush(self, k: int, accent: QColor, chosen_color: QColor) -> QColor:
        if k in self._chosen:
            return chosen_color
        color = QColor(accent)
        color.setAlpha(int(MIN_SHADE_ALPHA + (MAX_SHADE_ALPHA - MIN_SHADE_ALPHA) * self._levels[k]))
        return color

    def _paint_drop_zone(self, painter: QPainter) -> None:
        c = theme.current_colors()
        rect = QRectF(self.viewport().rect()).adjusted(14, 14, -14, -14)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(c["border"]), 1.6, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 12, 12)
        size = 44
        icon = theme.icon("import", c["muted"], size).pixmap(size, size)
        top = rect.center().y() - 70
        painter.drawPixmap(int(rect.center().x() - size / 2), int(top), icon)
        painter.setPen(QColor(c["muted"]))
        lines = HINT.count("\n") + 1  # tall enough for the hint at any text size (90 px cut it at 16 pt)
        text_rect = QRectF(
            rect.left(), top + size + 12, rect.width(), lines * painter.fontMetrics().lineSpacing() + 8
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, HINT)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.document().isEmpty():
            self.viewport().update()

    # -------------------------------------------------------------- tooltips, drops, keys
    def viewportEvent(self, event) -> bool:
        if event.type() == event.Type.ToolTip and self._starts:
            k = self.sentence_at(self.cursorForPosition(event.pos()).position())
            if k is not None:
                QToolTip.showText(event.globalPos(), self.describe(k), self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def canInsertFromMimeData(self, source) -> bool:
        if source.hasUrls() and any(u.isLocalFile() for u in source.urls()):
            return True
        return super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source) -> None:
        paths = [u.toLocalFile() for u in source.urls() if u.isLocalFile()] if source.hasUrls() else []
        if paths:
            self.files_dropped.emit(paths)
            return
        super().insertFromMimeData(source)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submit_requested.emit()
            return
        super().keyPressEvent(event)
