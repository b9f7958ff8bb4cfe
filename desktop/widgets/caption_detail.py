"""The selected picture, large: its caption as clickable words (a word's attention map is drawn
over the picture), the log-probability, the other beams, and for a video the timeline of scenes
(each with its frame and caption; "Whole clip" is the caption of the mean of all frames)."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets.attention_image import AttentionImage, jpeg_qimage
from desktop.widgets.caption_grid import thumb_icon
from desktop.widgets.keyword_chips import FlowLayout
from desktop.widgets.notice import plain_tip

HINT = "Click a word to see where the model looked while writing it."
CLIP_HINT = "The clip caption comes from the mean of all sampled frames; its maps are drawn on the first."


def clock(seconds: float) -> str:
    m, s = divmod(round(max(0.0, float(seconds))), 60)
    return f"{m}:{s:02d}"


def shown_name(name: str) -> str:
    """A file name for one line, left to right: a tab or newline in it as a space (the newline wrapped
    the title), other control characters as �, and a left-to-right mark first (a Hebrew name took
    the line's direction from its first letter and read "png.…")."""
    return "\u200e" + "".join(
        " " if c in "\t\n\r\v\f" else "\ufffd" if c < " " or c == "\x7f" else c for c in name
    )


def _label(name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class CaptionDetail(QWidget):
    copy_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.item: dict | None = None  # the caption item shown
        self.view: dict | None = None  # what the words belong to: the item, or one of its scenes
        self.word: int | None = None  # the word whose map is shown
        self.chips: list[QToolButton] = []
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 14, 24, 16)
        col.setSpacing(8)
        head = QHBoxLayout()
        self.title = QLabel("Caption")
        self.title.setObjectName("PaneTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # a file name, not HTML
        self.title.setMinimumWidth(40)  # a long name is elided, not a reason to widen the pane
        self._title = "Caption"
        head.addWidget(self.title, 1)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the caption to the clipboard")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        theme.set_icon(self.copy_button, "copy", "text", 16)
        self.copy_button.clicked.connect(self.copy_requested)
        head.addWidget(self.copy_button)
        col.addLayout(head)
        self.meta = _label("MutedLabel")
        col.addWidget(self.meta)
        self.image = AttentionImage()
        col.addWidget(self.image)
        self.timeline = QListWidget()
        self.timeline.setObjectName("SceneTimeline")
        self.timeline.setViewMode(QListView.ViewMode.IconMode)
        self.timeline.setFlow(QListView.Flow.LeftToRight)
        self.timeline.setWrapping(False)
        self.timeline.setMovement(QListView.Movement.Static)
        self.timeline.setIconSize(QSize(112, 64))
        self.timeline.setGridSize(QSize(150, 126))
        self.timeline.setWordWrap(True)
        self.timeline.setFixedHeight(146)
        self.timeline.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.timeline.currentRowChanged.connect(self.select_scene)
        col.addWidget(self.timeline)
        self.words = QWidget()
        self.flow = FlowLayout(self.words, spacing=5)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.words.setSizePolicy(policy)
        col.addWidget(self.words)
        self.hint = _label("MutedLabel")
        col.addWidget(self.hint)
        self.score = _label("MutedLabel")
        col.addWidget(self.score)
        self.beams_title = QLabel("Other beams")
        self.beams_title.setObjectName("SectionLabel")
        self.beams_title.setContentsMargins(-12, 0, 0, 0)
        col.addWidget(self.beams_title)
        self.beams = _label()
        self.beams.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.beams)
        self.note = _label("MutedLabel")
        col.addWidget(self.note)
        col.addStretch(1)
        self.show_empty()

    # ------------------------------------------------------------------------------- showing
    def show_empty(
        self, text: str = "Select a picture to see its caption and where the model looked."
    ) -> None:
        self.item = self.view = None
        self._set_title("Caption")
        self.meta.setText("")
        self.timeline.clear()
        self.timeline.hide()
        self._show_view(None, None, text)
        self.note.hide()
        self.copy_button.setEnabled(False)

    def show_item(self, item: dict) -> None:
        self.item = item
        self._set_title(item["name"])
        self.meta.setText(_describe(item))
        self.meta.setToolTip(item["path"] + (f"\nSHA-256 {item['sha256']}" if item.get("sha256") else ""))
        self.note.setText(item.get("note") or "")
        self.note.setVisible(bool(item.get("note")))
        self.timeline.blockSignals(True)
        self.timeline.clear()
        scenes = item.get("scenes") or []
        if item["media"] == "video" and scenes and not item.get("error"):
            self._add_scene("Whole clip", item.get("thumb"), item["caption"])
            for s in scenes:
                until = s.get("until_s", s["end_s"])
                self._add_scene(f"{clock(s['start_s'])}–{clock(until)}", s.get("thumb"), s["caption"])
            self.timeline.setCurrentRow(0)
        self.timeline.blockSignals(False)
        self.timeline.setVisible(self.timeline.count() > 0)
        self.copy_button.setEnabled(not item.get("error"))
        if item.get("error"):
            self._show_view(None, None, f"This file could not be used.\n\n{item['error']}")
        else:
            self._show_view(item, jpeg_qimage(item.get("preview")), _no_picture(item))

    def _set_title(self, name: str) -> None:
        self._title = name
        self.title.setToolTip("" if name == "Caption" else plain_tip(name))
        self._elide_title()

    def _elide_title(self) -> None:
        """The name cut with "…" to the label's width (the whole name is the tooltip)."""
        metrics = self.title.fontMetrics()
        width = max(self.title.width(), 40)
        self.title.setText(metrics.elidedText(shown_name(self._title), Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide_title()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange and hasattr(self, "_title"):  # a new text size
            self._elide_title()

    def _add_scene(self, when: str, thumb, caption: str) -> None:
        entry = QListWidgetItem(f"{when}\n{caption}")
        entry.setToolTip(f"{when}: {caption}")
        if thumb is not None:
            entry.setIcon(thumb_icon(thumb))
        self.timeline.addItem(entry)

    def _thumbs(self) -> list:
        """The timeline's thumbnails, row by row: the whole clip's, then each scene's."""
        item = self.item or {}
        return [item.get("thumb")] + [s.get("thumb") for s in item.get("scenes") or []]

    def retheme(self) -> None:
        """The timeline's tiles and the beams' log-probabilities again in the theme's colours."""
        if self.timeline.count():
            for row, thumb in enumerate(self._thumbs()[: self.timeline.count()]):
                if thumb is not None:
                    self.timeline.item(row).setIcon(thumb_icon(thumb))
        if self.view is not None:
            self._show_beams(self.view)

    def select_scene(self, row: int) -> None:
        """Row 0: the whole clip (on its first frame); row k: scene k, on its own frame."""
        item = self.item
        if item is None or row < 0:
            return
        if row == 0:
            self._show_view(item, jpeg_qimage(item.get("preview")), _no_picture(item))
        else:
            scene = item["scenes"][row - 1]
            self._show_view(scene, jpeg_qimage(scene.get("frame")), _no_picture(item))

    def _show_view(self, view: dict | None, image, placeholder: str) -> None:
        self.view = view
        self.word = None
        self.image.set_image(image, placeholder)
        for chip in self.chips:
            self.flow.removeWidget(chip)
            chip.hide()  # gone from the screen now; deleted when the event loop gets to it
            chip.deleteLater()
        self.chips = []
        words = view["words"] if view else []
        has_maps = view is not None and len(view["attention"]) == len(words) > 0
        for i, word in enumerate(words):
            chip = QToolButton(self.words)
            chip.setObjectName("WordChip")
            chip.setText(word)
            chip.setCheckable(has_maps)
            chip.setEnabled(has_maps)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(f"Where the model looked while writing “{word}”")
            chip.clicked.connect(lambda _=False, n=i: self.select_word(n))
            self.flow.addWidget(chip)
            self.chips.append(chip)
        self.words.setVisible(bool(words))
        self.words.updateGeometry()
        clip = self.item is not None and self.item["media"] == "video" and view is self.item
        self.hint.setText((CLIP_HINT + " " if clip and has_maps else "") + (HINT if has_maps else ""))
        self.hint.setVisible(has_maps)
        if view is None:
            self.score.hide()
            self.beams_title.hide()
            self.beams.hide()
            return
        n = max(len(words), 1)
        self.score.setText(f"log-probability {view['logprob']:.2f} · {view['logprob'] / n:.2f} per word")
        self.score.show()
        self._show_beams(view)

    def _show_beams(self, view: dict) -> None:
        alts = view.get("alternatives") or []
        muted = theme.current_colors()["muted"]
        self.beams.setText(
            "<br>".join(
                f"<span style='color:{muted}'>{lp:7.2f}</span>&nbsp;&nbsp;{html.escape(text)}"
                for text, lp in alts
            )
        )
        self.beams_title.setVisible(bool(alts))
        self.beams.setVisible(bool(alts))

    def select_word(self, index: int | None) -> None:
        """Draw the map of word ``index`` over the picture (the same word again, or None: remove it)."""
        view = self.view
        if index is not None and (view is None or not 0 <= index < len(view["attention"])):
            return
        self.word = None if index == self.word else index
        for i, chip in enumerate(self.chips):
            chip.setChecked(i == self.word)
        self.image.set_attention(None if self.word is None else np.asarray(view["attention"][self.word]))

    def caption_text(self) -> str:
        return "" if self.view is None else " ".join(self.view["words"]) or self.view.get("caption", "")


def _describe(item: dict) -> str:
    if item.get("error"):
        return f"{item['media']} · could not be used"
    parts = [item["media"]]
    if item["media"] == "video":
        parts.append(f"{item.get('duration_s', 0.0):.1f} s")
        n = len(item.get("scenes") or [])
        parts.append(f"{n} scene{'s' if n != 1 else ''}")
    if item.get("beam"):
        parts.append(f"beam {item['beam']}")
    if item.get("caption_id") is not None:
        parts.append("saved in history")
    return " · ".join(parts)


def _no_picture(item: dict) -> str:
    return "The picture is not available." if item.get("source") == "history" else "No picture."
