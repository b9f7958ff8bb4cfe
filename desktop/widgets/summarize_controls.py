"""The Summarize panel's settings bar: method (TextRank, with its variant, or Abstractive, with its
beam size), length (sentences, ratio or words; TextRank only) and the number of keywords, in groups
that wrap onto a second line in a narrow window; plus the Summarize / Cancel button, which the
panel places in its header.

The variant names mirror ``engine.summarize.textrank.VARIANTS`` (a test keeps them in step); they
are listed here so that opening the panel does not import numpy and scipy on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.widgets.keyword_chips import FlowLayout
from desktop.widgets.panel_parts import min_width_for_text

# variant name -> (label, what it does)
VARIANTS = {
    "default": (
        "Best for news",
        "TextRank with a lead bias and redundancy removal (MMR): the variant that scored best on the "
        "BBC tuning set",
    ),
    "plain": ("Plain TextRank", "The lecture's method: TF-IDF sentence graph, PageRank, top sentences"),
    "lead": (
        "Lead-biased",
        "PageRank whose random jumps favour the first sentences (news leads with the gist)",
    ),
    "title": ("Title-aware", "PageRank whose random jumps favour sentences similar to the title line"),
    "mmr": ("Less repetition (MMR)", "Maximal Marginal Relevance: skips sentences that repeat a chosen one"),
    "stem": ("Stemmed words", "Plain TextRank comparing word stems (profits = profit)"),
}
# mode -> (button label, spin range, default, suffix, tooltip)
LENGTHS = {
    "sentences": ("Sentences", (1, 200), 3, " sentences", "Summary length as a number of sentences"),
    "ratio": ("Ratio", (1, 100), 20, " %", "Summary length as a share of the text's sentences"),
    "words": ("Words", (10, 5000), 100, " words", "Summary length as a word budget"),
}
ABSTRACTIVE_TIP = (
    "Abstractive, headline-style: a recurrent sequence-to-sequence model with attention and a copy "
    "mechanism writes one new sentence from the lead of the text. The length settings do not apply."
)
METHODS = ("textrank", "abstractive")
BEAM_RANGE, BEAM_DEFAULT = (1, 10), 4


class SummarizeControls(QFrame):
    changed = Signal(object)  # settings dict (see settings())
    submit_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("SummarizeControls")
        flow = FlowLayout(self, spacing=10)
        flow.setContentsMargins(24, 2, 14, 10)
        self._values = {mode: spec[2] for mode, spec in LENGTHS.items()}
        self._busy = False
        self.abstractive_problem: str | None = None  # why the abstractive model cannot run

        method = _group(flow)
        self.method_group = QButtonGroup(self)
        self.textrank_button = self._segment("TextRank", "Extractive: picks the text's own key sentences")
        self.textrank_button.setChecked(True)
        self.abstractive_button = self._segment("Abstractive", ABSTRACTIVE_TIP)
        for b in (self.textrank_button, self.abstractive_button):
            self.method_group.addButton(b)
            method.addWidget(b)
        self.method_group.buttonToggled.connect(self._on_method)
        self.variant = QComboBox()
        self.variant.setToolTip("Which TextRank variant ranks the sentences")
        for name, (label, tip) in VARIANTS.items():
            self.variant.addItem(label, name)
            self.variant.setItemData(self.variant.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.variant.currentIndexChanged.connect(self._emit)
        method.addWidget(self.variant)
        self.beam = QSpinBox()
        self.beam.setRange(*BEAM_RANGE)
        self.beam.setValue(BEAM_DEFAULT)
        self.beam.setPrefix("Beam ")
        self.beam.setAccessibleName("Beam size")
        min_width_for_text(self.beam, 90)
        self.beam.setToolTip(
            "Beam search width: how many candidate sentences the model keeps while writing "
            "(1 = greedy). The runners-up are shown under the summary."
        )
        self.beam.valueChanged.connect(self._emit)
        self.beam.hide()
        method.addWidget(self.beam)

        length = _group(flow)
        self.length_box = length.parentWidget()
        self._faded = QGraphicsOpacityEffect(self.length_box)
        self._faded.setOpacity(0.4)
        self._faded.setEnabled(False)
        self.length_box.setGraphicsEffect(self._faded)
        length_label = self._muted("Length")
        length.addWidget(length_label)
        self.length_group = QButtonGroup(self)
        self.length_buttons: dict[str, QPushButton] = {}
        for mode, (label, _range, _default, _suffix, tip) in LENGTHS.items():
            b = self._segment(label, tip)
            b.setProperty("mode", mode)
            self.length_group.addButton(b)
            self.length_buttons[mode] = b
            length.addWidget(b)
        self.length_buttons["sentences"].setChecked(True)
        self.length_group.buttonToggled.connect(self._on_mode)
        self.amount = QSpinBox()
        length_label.setBuddy(self.amount)
        self.amount.setAccessibleName("Summary length")
        min_width_for_text(self.amount, 128)
        self.amount.valueChanged.connect(self._on_amount)
        length.addWidget(self.amount)

        keywords = _group(flow)
        keywords_label = self._muted("Keywords")
        keywords.addWidget(keywords_label)
        self.keywords = QSpinBox()
        keywords_label.setBuddy(self.keywords)
        self.keywords.setAccessibleName("Number of keywords")
        self.keywords.setRange(0, 30)
        self.keywords.setValue(8)
        min_width_for_text(self.keywords, 70)
        self.keywords.setToolTip("How many key words and phrases to extract (0: none)")
        self.keywords.valueChanged.connect(self._emit)
        keywords.addWidget(self.keywords)

        # placed by the panel (in its header row); created here because the bar drives its state
        self.run_button = QPushButton("Summarize")
        self.run_button.setObjectName("PrimaryButton")
        min_width_for_text(self.run_button, 118)
        self.run_button.clicked.connect(self._on_run)
        self._apply_mode("sentences")
        self.set_can_run(False, "Paste a text or open a file first")

    @staticmethod
    def _segment(text: str, tip: str) -> QPushButton:
        b = SegmentButton(text)
        b.setToolTip(tip)
        return b

    @staticmethod
    def _muted(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("MutedLabel")
        return label

    # ------------------------------------------------------------------ settings
    def mode(self) -> str:
        return next(m for m, b in self.length_buttons.items() if b.isChecked())

    def method(self) -> str:
        return "abstractive" if self.abstractive_button.isChecked() else "textrank"

    def settings(self) -> dict:
        mode = self.mode()
        value = self.amount.value()
        return {
            "method": self.method(),
            "variant": self.variant.currentData(),
            "length": mode,
            "value": value / 100 if mode == "ratio" else value,
            "keywords": self.keywords.value(),
            "beam": self.beam.value(),
        }

    def set_settings(self, settings: dict) -> None:
        """Show ``settings`` (as saved with a summary); unknown values are left as they are."""
        if settings.get("method") in METHODS:
            button = self.abstractive_button if settings["method"] == "abstractive" else self.textrank_button
            button.setChecked(True)
        if isinstance(settings.get("beam"), int):
            self.beam.setValue(settings["beam"])
        i = self.variant.findData(settings.get("variant"))
        if i >= 0:
            self.variant.setCurrentIndex(i)
        mode = settings.get("length")
        if mode in LENGTHS:
            value = settings.get("value", LENGTHS[mode][2])
            self._values[mode] = round(value * 100) if mode == "ratio" else int(value)
            self.length_buttons[mode].setChecked(True)
            self._apply_mode(mode)
        if isinstance(settings.get("keywords"), int):
            self.keywords.setValue(settings["keywords"])

    def set_abstractive_problem(self, problem: str | None) -> None:
        """Why the abstractive model cannot run (None: it can); shown in the button's tooltip."""
        self.abstractive_problem = problem
        tip = ABSTRACTIVE_TIP + (f"\n\n{problem}" if problem else "")
        self.abstractive_button.setToolTip(tip)

    def _on_method(self, _button, checked: bool) -> None:
        if checked:
            abstractive = self.method() == "abstractive"
            self.variant.setVisible(not abstractive)
            self.beam.setVisible(abstractive)
            self.length_box.setEnabled(not abstractive)
            self._faded.setEnabled(abstractive)  # the style marks few disabled controls: fade the group
            self.length_box.setToolTip(
                "The abstractive model writes one sentence: the length settings apply to TextRank"
                if abstractive
                else ""
            )
            self._emit()

    def _on_mode(self, button, checked: bool) -> None:
        if checked:
            self._apply_mode(button.property("mode"))
            self._emit()

    def _apply_mode(self, mode: str) -> None:
        _label, (lo, hi), _default, suffix, tip = LENGTHS[mode]
        self.amount.blockSignals(True)
        self.amount.setRange(lo, hi)
        self.amount.setSuffix(suffix)
        self.amount.setSingleStep(10 if mode == "words" else 1 if mode == "sentences" else 5)
        self.amount.setValue(self._values[mode])
        self.amount.setToolTip(tip)
        self.amount.blockSignals(False)

    def _on_amount(self, value: int) -> None:
        self._values[self.mode()] = value
        self._emit()

    def _emit(self, *_args) -> None:
        self.changed.emit(self.settings())

    # -------------------------------------------------------------------- running
    def set_can_run(self, ok: bool, why: str = "") -> None:
        if not self._busy:
            self.run_button.setEnabled(ok)
            self.run_button.setToolTip("Summarize the text (Ctrl+Enter)" if ok else why)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.run_button.setText("Cancel" if busy else "Summarize")
        self.run_button.setObjectName("CancelButton" if busy else "PrimaryButton")
        self.run_button.setEnabled(True)
        self.run_button.setToolTip("Stop waiting for this summary" if busy else "Summarize (Ctrl+Enter)")
        self.run_button.style().unpolish(self.run_button)
        self.run_button.style().polish(self.run_button)

    def _on_run(self) -> None:
        if self._busy:
            self.cancel_requested.emit()
        else:
            self.submit_requested.emit()


class SegmentButton(QPushButton):
    """A checkable button of a segmented control, wide enough for its text in bold (the checked look)
    at the text size in effect: measured again when the text size changes."""

    def __init__(self, text: str, parent=None) -> None:
        super().__init__(text, parent)
        self.setObjectName("SegmentButton")
        self.setCheckable(True)
        self._fit()

    def _fit(self) -> None:
        bold = self.font()
        bold.setWeight(bold.Weight.DemiBold)
        self.setMinimumWidth(QFontMetrics(bold).horizontalAdvance(self.text()) + 26)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit()


def _group(flow: FlowLayout) -> QHBoxLayout:
    """A row of controls that stays together when the bar wraps onto a second line."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(6)
    flow.addWidget(box)
    return row
