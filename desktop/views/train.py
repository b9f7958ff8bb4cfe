"""The Train panel: train and compare models from the app, and see inside them.

Tabs: the chat model (dialogue runs with live curves, a runs table and overlaid comparisons), the
summarizer, the captioner and the forecaster (each with its data, config, curves and runs), the
lecture's experiments (cells compared on synthetic tasks; gradient flow live while training),
gates and embeddings as pictures, and a small language model with generation and a "human or
model?" game. Every tab runs its work as engine-service jobs (engine.lab.jobs) and listens to the
job signals with its own bound methods, keeping only the job ids it submitted.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from desktop.widgets.lab_experiments import CompareTab, FlowTab
from desktop.widgets.lab_inside import EmbeddingsTab, GatesTab
from desktop.widgets.lab_lm import LanguageModelTab
from desktop.widgets.model_picker import give_way
from desktop.widgets.train_captioner import CaptionerTrainTab
from desktop.widgets.train_dialogue import DialogueTrainTab
from desktop.widgets.train_forecaster import ForecasterTrainTab
from desktop.widgets.train_summarizer import SummarizerTrainTab
from engine.lab import jobs

# what each tab is for, under the panel's title (the other panels' headers say what they show)
TAB_HINTS = {
    "Chat model": "Train or fine-tune the chat model on chitchat, your own chat history or a chat export",
    "Summarizer": "Train the summarizer on a BBC News Summary folder or a .jsonl file",
    "Captioner": "Train or fine-tune the captioner on a folder of images and a captions file",
    "Forecaster": "Fit the LSTM forecaster to a CSV column and use its settings in Forecast",
    "Compare cells": "Compare recurrent cells on the parity, adding and copy tasks",
    "Gradient flow": "Watch the gradient flow back through time while a cell learns",
    "Gates": "See the gate activations of a trained language model over a text",
    "Language model": "Train a small language model, let it write, and guess: human or model?",
    "Embeddings": "See a trained model's word embeddings as a scatter",
}


class TrainPanel(QWidget):
    forecaster_settings = Signal(object, str)  # a forecaster run's LSTM settings for the Forecast panel

    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.service = service
        self.setObjectName("ChatArea")
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        header = QFrame()
        header.setObjectName("ChatHeader")
        header.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(header)
        row.setContentsMargins(24, 10, 14, 8)
        title = QLabel("Train")
        title.setObjectName("ChatTitle")
        row.addWidget(title)
        self.hint = QLabel()
        self.hint.setObjectName("MutedLabel")
        give_way(self.hint)  # elided in a narrow window, never widening it
        row.addWidget(self.hint, 1)
        col.addWidget(header)
        body = QVBoxLayout()
        body.setContentsMargins(12, 8, 12, 8)
        col.addLayout(body, 1)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # built with a parent: a parentless tab's setVisible(True) showed its buttons and plots as
        # windows of their own for a moment, and the main window lost the keyboard focus
        self.dialogue = DialogueTrainTab(service, self.tabs)
        self.summarizer = SummarizerTrainTab(service, self.tabs)
        self.captioner = CaptionerTrainTab(service, self.tabs)
        self.forecaster = ForecasterTrainTab(service, self.tabs)
        self.compare = CompareTab(service, self.tabs)
        self.flow = FlowTab(service, self.tabs)
        self.gates = GatesTab(service, self.tabs)
        self.lm = LanguageModelTab(service, self.tabs)
        self.embeddings = EmbeddingsTab(service, self.tabs)
        for widget, label in (
            (self.dialogue, "Chat model"),
            (self.summarizer, "Summarizer"),
            (self.captioner, "Captioner"),
            (self.forecaster, "Forecaster"),
            (self.compare, "Compare cells"),
            (self.flow, "Gradient flow"),
            (self.gates, "Gates"),
            (self.lm, "Language model"),
            (self.embeddings, "Embeddings"),
        ):
            self.tabs.addTab(widget, label)
        body.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._show_hint)
        self._show_hint(self.tabs.currentIndex())
        self.lm.model_ready.connect(self._on_lm_ready)
        self.forecaster.use_settings.connect(self.forecaster_settings)
        self.warm = False  # True once the training libraries are imported (see jobs.warm_up)
        service.job_finished.connect(self._on_job_finished)  # before submitting: it may finish at once
        self._warm_job = service.submit("prepare", jobs.warm_up, {})

    def _show_hint(self, index: int) -> None:
        self.hint.setText(TAB_HINTS.get(self.tabs.tabText(index), ""))

    def _on_job_finished(self, job_id: int, _result) -> None:
        if job_id == self._warm_job:
            self.warm = True

    def _on_lm_ready(self, folder: str, text_path: str) -> None:
        """A trained language model feeds the gates and embeddings views."""
        self.gates.model.setText(folder)
        self.embeddings.model.setText(folder)
        self.embeddings.text_path.setText(text_path)

    def handle_drop(self, paths: list[str]) -> None:
        """A dropped file becomes the data of the tab that is showing (the chat model's otherwise)."""
        if not paths:
            return
        current = self.tabs.currentWidget()
        if current in (self.summarizer, self.captioner, self.forecaster):
            current.accept_drop(paths)
        elif current is self.lm:
            self.lm.text_path.setText(paths[0])
        else:
            self.tabs.setCurrentWidget(self.dialogue)
            self.dialogue.path.setText(paths[0])
            self.dialogue.source.setCurrentIndex(self.dialogue.source.findData("file"))


def create_panel(service, parent: QWidget) -> QWidget:
    return TrainPanel(service, parent)


def demo(panel: TrainPanel) -> None:
    """Fill the panel for ``main.py --screenshot … --panel train``: a real, small cell comparison on
    the adding problem, computed here and now (a few seconds), shown in the Compare cells tab."""
    from engine.lab.compare import CompareConfig, run_comparison

    tab = panel.compare
    panel.tabs.setCurrentWidget(tab)
    cells = ("rnn", "irnn", "gru", "lstm")
    for key, box in tab.cell_boxes.items():
        box.setChecked(key in cells)
    tab.lengths.setText("5, 10, 20, 30")
    tab.steps.setValue(200)
    tab.hidden.setValue(16)
    cfg = CompareConfig(
        task="adding", cells=cells, lengths=(5, 10, 20, 30), steps=200, hidden_size=16, batch_size=32, lr=1e-2
    )
    result = run_comparison(cfg, on_event=lambda e: tab.progress(e) if e["kind"] == "point" else None)
    tab.finished(result)
    tab.bar.setRange(0, 1)
    tab.bar.setValue(1)
    tab.plot.flush()
