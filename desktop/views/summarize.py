"""The Summarize panel: paste or drop a text, get its key sentences beside it, or a headline-style
sentence written by the abstractive model.

Left, the source (a paste box and drop zone; after a summary, every sentence shaded by its
TextRank score and the chosen ones marked, or by the attention the abstractive summary paid to
it); right, the summary with keywords as chips, copy and export, and for the abstractive model the
copied words, the beams and the attention heat map. All work runs on the engine thread through
``service.submit`` (desktop/summarize_ops.py and desktop/abstractive_ops.py hold the jobs); this
widget only keeps view state. ``model_folder`` is the abstractive model's folder (the shipped one
unless set). Every summary is saved in the history, and ``show_history_item("summary", id)``
shows a saved one again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QVBoxLayout,
    QWidget,
)

from desktop import abstractive_ops as ab_ops
from desktop import summarize_ops as ops
from desktop.paths import RESOURCES
from desktop.task_models import SUMMARIZER_KIND
from desktop.widgets.model_picker import TaskModelPicker
from desktop.widgets.panel_parts import add_banner, listen_to_jobs, min_width_for_text, side_by_side
from desktop.widgets.source_view import SourceView
from desktop.widgets.summarize_controls import VARIANTS
from desktop.widgets.summarize_header import SummarizeHeader
from desktop.widgets.summary_view import SummaryView

OPEN_FILTER = "Texts (*.txt *.md *.markdown *.html *.htm *.text);;All files (*)"
DEMO_SAMPLE = "article_ferry.txt"
BUSY_REOPEN = "A summary is still being made: stop it first or wait, then open this again."
STAGES = {
    "reading": "Reading {file}…",
    "saving": "Saving to the history…",
    "loading": "Loading the abstractive model…",
}


class SummarizePanel(QWidget):
    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatArea")
        self.service = service
        self.job_id: int | None = None  # the summary job whose answer is awaited
        self.export_jobs: dict[int, str] = {}  # job id -> path being written
        self.result: dict | None = None  # what the summary view shows
        self.origin = ""  # file name the source came from ("" for a paste)
        self._sample = -1  # which shipped sample article "Try a sample" opened last
        self._model_folder = ab_ops.MODEL_FOLDER
        self._method = "textrank"  # the method chosen last (to notice a switch)
        self._applying = False  # showing a result's settings (a saved summary's method is no choice)
        self._changed_while_busy = False  # the settings were changed while a summary was made
        self._build()
        self._connect()
        self.check_model()

    @property
    def model_folder(self) -> Path:
        """The abstractive model's folder; setting it checks the model again."""
        return self._model_folder

    @model_folder.setter
    def model_folder(self, folder) -> None:
        self._model_folder = Path(folder)
        self.model_picker.set_current(str(self._model_folder))
        self.check_model()

    def check_model(self) -> str | None:
        """Look for the abstractive model again (cheap: files only); what is wrong, or None."""
        problem = ab_ops.model_problem(self._model_folder)
        self.controls.set_abstractive_problem(problem)
        self._update_can_run()
        return problem

    # ================================================================== construction
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.header = SummarizeHeader()
        self.controls, self.origin_label = self.header.controls, self.header.origin_label
        self.open_button, self.clear_button = self.header.open_button, self.header.clear_button
        data = getattr(self.service, "data", None)
        self.model_picker = TaskModelPicker(SUMMARIZER_KIND, "summarizer model", data)
        self.model_picker.setVisible(False)  # shown with the Abstractive method
        self.header.row.insertWidget(2, self.model_picker)
        col.addWidget(self.header)
        add_banner(self, col)
        self.splitter = side_by_side()
        left = QWidget()
        left_col = QVBoxLayout(left)
        left_col.setContentsMargins(24, 14, 16, 16)
        self.source = SourceView()
        left_col.addWidget(self.source)
        min_width_for_text(left, 260)  # the text box keeps a readable width (97 px at 18 pt before)
        self.splitter.addWidget(left)
        self.summary = SummaryView()
        min_width_for_text(self.summary, 310)  # its legends and buttons wrap: 287 px fits at 10 pt
        self.splitter.addWidget(self.summary)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([700, 480])
        col.addWidget(self.splitter, 1)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence(QKeySequence.StandardKey.Open), self, self.ask_open, context=context)

    def _connect(self) -> None:
        listen_to_jobs(self)
        self.model_picker.model_chosen.connect(self._on_model_chosen)
        self.controls.submit_requested.connect(self.summarize)
        self.controls.changed.connect(self._on_settings_changed)
        self.controls.cancel_requested.connect(self.cancel)
        self.source.submit_requested.connect(self.summarize)
        self.source.files_dropped.connect(self.handle_drop)
        self.source.edited.connect(self._on_edited)
        self.open_button.clicked.connect(self.ask_open)
        self.clear_button.clicked.connect(self.clear)
        self.summary.sentence_clicked.connect(self.source.show_sentence)
        self.summary.keyword_chosen.connect(self._find_keyword)
        self.summary.copy_requested.connect(self.copy_summary)
        self.summary.export_requested.connect(self.ask_export)
        self.summary.sample_requested.connect(self.open_sample)

    # ================================================================== user actions
    @property
    def busy(self) -> bool:
        return self.job_id is not None

    def summarize(self) -> None:
        """Summarise the text in the box with the current settings (on the engine thread)."""
        if self.busy:
            return
        text = self.source.text()
        if not text.strip():
            self.show_message("Nothing to summarize: the text is empty. Paste a text or open a file.")
            return
        settings = self.controls.settings()
        kwargs = {"text": text, "settings": settings, "origin": self.origin}
        if settings["method"] == "abstractive":
            kwargs["model"] = str(self._model_folder)
        fn = ab_ops.summarize_text if settings["method"] == "abstractive" else ops.summarize_text
        self._start(fn, kwargs, f"Summarizing {_amount(text)}…")

    def open_file(self, path: str) -> None:
        """Read ``path`` on the engine thread and summarise it; the text then fills the box."""
        if self.busy:
            self.show_message("A summary is being made; wait for it or cancel it first.", "info")
            return
        settings = self.controls.settings()
        kwargs = {"path": str(path), "settings": settings}
        if settings["method"] == "abstractive":
            kwargs["model"] = str(self._model_folder)
        fn = ab_ops.summarize_file if settings["method"] == "abstractive" else ops.summarize_file
        self._start(fn, kwargs, f"Reading {Path(path).name}…")

    def open_sample(self) -> None:
        """Summarise the next of the sample articles that ship in resources/samples."""
        samples = sorted((RESOURCES / "samples").glob("article_*.txt"))
        if samples:
            self._sample = (self._sample + 1) % len(samples)
            self.open_file(str(samples[self._sample]))

    def handle_drop(self, paths: list[str]) -> None:
        """Files dropped on the window or the text box: the first one is summarised."""
        files = [p for p in paths if p]
        if not files:
            return
        was_busy = self.busy
        self.open_file(files[0])
        if len(files) > 1 and self.busy and not was_busy:  # (busy before: the drop was refused)
            self.show_message(
                f"{len(files)} files were dropped; summarizing the first, {Path(files[0]).name}.", "info"
            )

    def show_history_item(self, kind: str, item_id: int) -> None:
        """A summary chosen in the history search: show it with its source again."""
        if kind != ops.SUMMARY_KIND:
            return
        if self.busy:  # never stop a summary silently: the person asks again when it is done
            self.show_message(BUSY_REOPEN, "info")
            return
        self._start(ops.open_summary, {"item_id": int(item_id)}, "Opening the saved summary…")

    def cancel(self) -> None:
        if self.job_id is not None:
            self.service.cancel(self.job_id)
            self.job_id = None
        self._set_busy(False)
        self._show_previous()
        self.show_message("Cancelled. Nothing was changed.", "info")

    def clear(self) -> None:
        if self.busy:
            self.cancel()
        self.source.set_text("")
        self.result = None
        self.origin = ""
        self.origin_label.setText("")
        self.message.hide()
        self.summary.show_empty()
        self._update_can_run()
        self.source.setFocus()

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a text to summarize", str(Path.home()), OPEN_FILTER)
        if path:
            self.open_file(path)

    def copy_summary(self) -> None:
        if self.result is not None:
            QGuiApplication.clipboard().setText(" ".join(self.result["sentences"]))
            self.show_message("The summary was copied to the clipboard.", "info")

    def ask_export(self, fmt: str) -> None:
        if self.result is None:
            return
        stem = Path(self.origin or self.result.get("title") or "summary").stem
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in stem).strip()[:60] or "summary"
        labels = {"txt": "Text (*.txt)", "md": "Markdown (*.md)", "json": "JSON (*.json)"}
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the summary", str(Path.home() / f"{safe}-summary.{fmt}"), labels[fmt]
        )
        if path:
            self.export_to(path, fmt)

    def export_to(self, path: str, fmt: str) -> int | None:
        """Write the shown summary to ``path`` as ``fmt`` (on the engine thread); the job id."""
        if self.result is None:
            return None
        kwargs = {"path": path, "result": self.result, "fmt": fmt}
        job = self.service.submit("export", ops.write_export, kwargs)
        self.export_jobs[job] = path
        return job

    def _find_keyword(self, phrase: str) -> None:
        if not self.source.find_phrase(phrase):
            self.show_message(f"“{phrase}” does not occur in the text exactly as written.", "info")

    # ======================================================================= jobs
    def _start(self, fn, kwargs: dict, what: str) -> None:
        self._changed_while_busy = False
        self.message.hide()
        self._set_busy(True)
        self.summary.show_busy(what)
        self.job_id = self.service.submit("summarize", fn, kwargs)

    def _on_job_progress(self, job_id: int, info) -> None:
        if job_id != self.job_id or not isinstance(info, dict):
            return
        stage = info.get("stage")
        if stage == "summarizing":
            self.summary.show_busy(f"Summarizing {info.get('words', 0):,} words…")
        elif stage in STAGES:
            self.summary.show_busy(STAGES[stage].format(file=info.get("file", "the file")))

    def _on_job_finished(self, job_id: int, result) -> None:
        if job_id in self.export_jobs:
            self.show_message(f"Exported to {self.export_jobs.pop(job_id)}", "info")
        elif job_id == self.job_id:
            self.job_id = None
            self._set_busy(False)
            if isinstance(result, dict) and not result.get("cancelled"):
                self.show_result(result)
            else:
                self._show_previous()

    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id in self.export_jobs:
            self.show_message(f"Could not export to {self.export_jobs.pop(job_id)}: {message}")
        elif job_id == self.job_id:
            self.job_id = None
            self._set_busy(False)
            self._show_previous()
            self.show_message(message)

    # ====================================================================== showing
    def show_result(self, result: dict) -> None:
        """Show a result of desktop.summarize_ops: source shaded, summary, keywords."""
        if self.source.text() != result["text"]:
            self.source.set_text(result["text"])
        shade = result.get("shade") or ops.result_shading(result)
        self.source.score_name = "attention share" if result["method"] == "abstractive" else "score"
        self.source.set_shading(shade, result["scores"], result["indices"])
        if not self._changed_while_busy:  # a choice made while it ran is the person's newer one
            self._applying = True
            try:
                self.controls.set_settings(result["settings"])
            finally:
                self._applying = False
        self._changed_while_busy = False
        self.result = result
        self.origin = result.get("origin") or ""
        what = self.origin or "Pasted text"
        self.origin_label.setText(f"   {what} · {result.get('n_words', 0):,} words")
        self.summary.show_result(result, _stats(result))
        self._update_can_run()

    def _show_previous(self) -> None:
        if self.result is not None:
            self.summary.stack.setCurrentWidget(self.summary.result)
        else:
            self.summary.show_empty()

    def show_message(self, text: str, level: str = "warning") -> None:
        self.message.show_message(text, level)

    def _set_busy(self, busy: bool) -> None:
        self.controls.set_busy(busy)
        self.source.setReadOnly(busy)
        self.open_button.setEnabled(not busy)
        if not busy:
            self._update_can_run()

    def _on_edited(self) -> None:
        self.origin = ""
        if self.result is not None and self.source.text() != self.result["text"]:
            # the summary shown is of the text before the edit: Copy and Export would hand it on
            self.result = None
            self.summary.show_empty()
            self.show_message("The text changed: press Summarize for a summary of it.", "info")
        self._update_can_run()

    def _on_model_chosen(self, folder: str) -> None:
        self.model_folder = folder
        problem = self.check_model()
        if problem:
            self.show_message(problem)

    def rescan_models(self) -> None:
        """Look for summarizer models again (the shipped one and trained runs) and show the current."""
        self.model_picker.rescan()
        self.model_picker.set_current(str(self._model_folder))

    def _on_settings_changed(self, settings: dict) -> None:
        if self.busy and not self._applying:
            self._changed_while_busy = True
        self.model_picker.setVisible(settings["method"] == "abstractive")
        switched, self._method = settings["method"] != self._method, settings["method"]
        problem = self.check_model()
        if switched and problem and self._method == "abstractive" and not self._applying:
            self.show_message(problem)  # say at once why Summarize is off, not only in a tooltip
        elif switched and self._method == "textrank" and self.message_label.text() == problem:
            self.message.hide()

    def _update_can_run(self) -> None:
        if self.source.is_blank():
            self.controls.set_can_run(False, "Paste a text or open a file first")
        elif self.controls.method() == "abstractive" and self.controls.abstractive_problem:
            self.controls.set_can_run(False, self.controls.abstractive_problem)
        else:
            self.controls.set_can_run(True)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.rescan_models()  # a model trained meanwhile is found when the panel is shown again
        self.check_model()


def _amount(text: str) -> str:
    if len(text) > 1_000_000:
        return f"{len(text.encode('utf-8', 'replace')) / 2**20:.1f} MB of text"
    return f"{ops.count_words(text):,} words"


def _stats(result: dict) -> str:
    if result["method"] == "abstractive":
        return _abstractive_stats(result)
    n = len(result["spans"]) or len(result["sentences"])
    words, total = result.get("summary_words", 0), max(result.get("n_words", 0), 1)
    variant = VARIANTS.get(result["settings"].get("variant"), (result["settings"].get("variant"),))[0]
    share = f"{words / total:.0%}" if words / total >= 0.005 else "<1%"
    parts = [
        f"{len(result['sentences']):,} of {n:,} sentences",
        f"{words:,} of {total:,} words ({share})",
        f"{result['method'].replace('textrank', 'TextRank')} · {variant}",
    ]
    if result.get("elapsed_ms") is not None:
        parts.append(f"{result['elapsed_ms']:.0f} ms")
    if result.get("summary_id") is not None:
        parts.append("saved in history")
    return " · ".join(parts)


def _abstractive_stats(result: dict) -> str:
    extras = result.get("extras") or {}
    read = len((extras.get("attention") or {}).get("cols") or [])
    parts = [
        f"1 sentence written from {read:,} of {result.get('n_words', 0):,} words"
        if read
        else "1 sentence written",
        f"Abstractive · beam {result['settings'].get('beam', 4)}",
    ]
    if extras.get("log_prob") is not None:
        parts.append(f"log-prob {extras['log_prob']:.2f}")
    if result.get("elapsed_ms") is not None:
        parts.append(f"{result['elapsed_ms']:.0f} ms")
    if result.get("summary_id") is not None:
        parts.append("saved in history")
    return " · ".join(parts)


def create_panel(service, parent) -> QWidget:
    return SummarizePanel(service, parent)


def demo(panel: SummarizePanel, sample: str = DEMO_SAMPLE, method: str | None = None) -> None:
    """Fill ``panel`` with a shipped sample article and its summary, synchronously on this thread
    (for ``main.py --screenshot``; nothing is saved in the history). ``method``: "textrank" or
    "abstractive"; by default abstractive when the panel's model is installed."""
    if method is None:
        method = "textrank" if ab_ops.model_problem(panel.model_folder) else "abstractive"
    path = str(RESOURCES / "samples" / sample)
    settings = {**panel.controls.settings(), "method": method}
    if method == "abstractive":
        result = ab_ops.summarize_file(path, settings, str(panel.model_folder))
    else:
        result = ops.summarize_file(path, settings)
    result["notes"] = [n for n in result["notes"] if not n.startswith("History is off")]
    panel.show_result(result)
