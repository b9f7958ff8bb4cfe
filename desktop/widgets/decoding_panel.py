"""Decoding settings for the current conversation: greedy, beam search or sampling.

Only the settings that matter for the chosen method are shown. ``changed(dict)`` carries a
``DecodeOptions.to_dict()``; the chat view saves it with the conversation.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.decoding import DecodeOptions

METHODS = (("greedy", "Greedy"), ("beam", "Beam"), ("sample", "Sample"))
HELP = {
    "greedy": "Always picks the most likely next word. Fast and steady; can be repetitive.",
    "beam": "Keeps several candidate replies and returns the best-scoring one.",
    "sample": "Draws words at random from the likely ones: more varied, less predictable.",
}
# field -> (label, kind, min, max, step, methods that use it, tooltip)
FIELDS = {
    "max_len": ("Max length", int, 1, 200, 1, ("greedy", "beam", "sample"), "Most word pieces in a reply"),
    "min_len": (
        "Min length",
        int,
        0,
        50,
        1,
        ("greedy", "beam", "sample"),
        "The reply cannot end before this",
    ),
    "beam_size": ("Beam size", int, 1, 16, 1, ("beam",), "Candidates kept at each step"),
    "length_penalty": (
        "Length penalty",
        float,
        0.0,
        2.0,
        0.1,
        ("beam",),
        "Higher values favour longer replies (GNMT alpha)",
    ),
    "block_ngram": (
        "Block repeats",
        int,
        0,
        6,
        1,
        ("greedy", "beam", "sample"),
        "Never repeat a run of this many pieces; 0 turns it off",
    ),
    "temperature": (
        "Temperature",
        float,
        0.1,
        2.0,
        0.05,
        ("sample",),
        "Lower is safer, higher is more surprising",
    ),
    "top_k": ("Top-k", int, 0, 500, 5, ("sample",), "Sample only from the k likeliest pieces; 0 = all"),
    "top_p": (
        "Top-p",
        float,
        0.05,
        1.0,
        0.05,
        ("sample",),
        "Sample from the smallest set holding this much probability",
    ),
    "repetition_penalty": (
        "Repetition penalty",
        float,
        1.0,
        2.0,
        0.05,
        ("greedy", "beam", "sample"),
        "Discourage pieces already used; 1.0 = off",
    ),
    "self_repeat_penalty": (
        "Avoid own repeats",
        float,
        0.0,
        5.0,
        0.5,
        ("greedy", "beam", "sample"),
        "Steer away from what the bot already said in this chat; 0 = off",
    ),
}


class DecodingPanel(QWidget):
    changed = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._defaults = DecodeOptions().to_dict()
        self._values = dict(self._defaults)
        self._quiet = False
        col = QVBoxLayout(self)
        col.setContentsMargins(14, 12, 14, 12)
        col.setSpacing(10)
        title = QLabel("How replies are chosen")
        title.setObjectName("PaneTitle")
        col.addWidget(title)
        seg = QHBoxLayout()
        seg.setSpacing(4)
        self.method_group = QButtonGroup(self)
        self.method_buttons: dict[str, QPushButton] = {}
        for key, label in METHODS:
            b = QPushButton(label)
            b.setCheckable(True)
            b.setObjectName("SegmentButton")
            b.clicked.connect(lambda _=False, k=key: self._set_method(k))
            self.method_group.addButton(b)
            self.method_buttons[key] = b
            seg.addWidget(b)
        col.addLayout(seg)
        self.help = QLabel()
        self.help.setObjectName("MutedLabel")
        self.help.setWordWrap(True)
        col.addWidget(self.help)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        self.inputs: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for name, (label, kind, lo, hi, step, _methods, tip) in FIELDS.items():
            box = QSpinBox() if kind is int else QDoubleSpinBox()
            box.setRange(lo, hi)
            box.setSingleStep(step)
            if kind is float:
                box.setDecimals(2)
            box.setToolTip(tip)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda v, n=name: self._set_value(n, v))
            self.inputs[name] = box
            self.form.addRow(label, box)
        col.addLayout(self.form)
        reset = QPushButton("Reset to the model's defaults")
        reset.clicked.connect(self.reset)
        col.addWidget(reset)
        note = QLabel("Saved with this conversation.")
        note.setObjectName("HintLabel")
        col.addWidget(note)
        col.addStretch(1)
        self.set_options(self._defaults)

    def set_defaults(self, defaults: dict) -> None:
        """The loaded model's own defaults (used by Reset)."""
        self._defaults = DecodeOptions.from_dict(defaults).to_dict()

    def set_options(self, options: dict | None) -> None:
        """Show ``options`` without emitting ``changed``."""
        values = DecodeOptions.from_dict({**self._defaults, **(options or {})}).to_dict()
        for name, (_label, kind, lo, hi, *_rest) in FIELDS.items():  # what is shown is what is used
            values[name] = kind(min(max(values[name], lo), hi))
        self._values = values
        self._quiet = True
        try:
            for name, box in self.inputs.items():
                box.setValue(self._values[name])
            self._show_method(self._values["method"])
        finally:
            self._quiet = False

    def options(self) -> dict:
        return dict(self._values)

    def reset(self) -> None:
        self.set_options(self._defaults)
        self.changed.emit(self.options())

    def _set_method(self, method: str) -> None:
        self._values["method"] = method
        self._show_method(method)
        if not self._quiet:
            self.changed.emit(self.options())

    def _show_method(self, method: str) -> None:
        for key, b in self.method_buttons.items():
            b.setChecked(key == method)
        self.help.setText(HELP[method])
        for name, spec in FIELDS.items():
            self.form.setRowVisible(self.inputs[name], method in spec[5])

    def _set_value(self, name: str, value) -> None:
        self._values[name] = value
        if not self._quiet:
            self.changed.emit(self.options())
