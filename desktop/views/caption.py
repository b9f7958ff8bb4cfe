"""The Caption panel: drop photos, folders or videos and read what the model sees in them.

Left, a grid of thumbnails with their captions (a drop zone while it is empty); right, the
selected picture large with its caption as words to click (the word's attention map is drawn over
the picture), the other beams and, for a video, the timeline of scene captions. Captioning runs on
the engine thread in batches (desktop/caption_ops.py): the grid fills batch by batch, a file that
cannot be used says why in its own cell while the rest goes on, and Cancel stops between batches.
Every caption is saved in the history; ``show_history_item("caption", id)`` shows a saved one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import caption_export
from desktop import caption_ops as ops
from desktop.task_models import CAPTIONER_KIND
from desktop.widgets.caption_detail import CaptionDetail
from desktop.widgets.caption_grid import CaptionGrid
from desktop.widgets.caption_header import CaptionHeader, ProgressRow
from desktop.widgets.drop_zone import DropZone
from desktop.widgets.model_picker import TaskModelPicker
from desktop.widgets.panel_parts import add_banner, listen_to_jobs, min_width_for_text, side_by_side
from engine.caption.images import IMAGE_EXTENSIONS
from engine.caption.video import VIDEO_EXTENSIONS

MEDIA_GLOBS = " ".join(f"*{ext}" for ext in (*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS))
OPEN_FILTER = f"Images and videos ({MEDIA_GLOBS});;All files (*)"
EXPORT_LABELS = {"csv": "CSV (*.csv)", "json": "JSON (*.json)"}
BUSY_REOPEN = "Captioning is still running: stop it first or wait, then open this again."


class CaptionPanel(QWidget):
    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatArea")
        self.setAcceptDrops(True)
        self.service = service
        self.model_folder = ops.MODEL_FOLDER
        self.job_id: int | None = None  # the captioning (or reopening) job whose answer is awaited
        self.cancelling: set[int] = set()  # cancelled jobs: a batch reported before the cancel still counts
        self._cancel_note = ""  # what the cancel message adds about queued files
        self.export_jobs: dict[int, str] = {}
        self.items: dict[str, dict] = {}  # grid key -> caption item (desktop/caption_ops.py)
        self.sources: list[str] = []  # what was dropped or opened, for "Caption again"
        self.queued: list[str] = []  # dropped or opened while a job ran: captioned when it ends
        self.last_result: dict | None = None  # the last finished job's summary
        self._build()
        self._connect()
        problem = ops.model_problem(self.model_folder)
        if problem:
            self.show_message(problem)
        self._update_enabled()

    # ================================================================== construction
    def _build(self) -> None:
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.header = h = CaptionHeader()
        self.origin_label, self.beam, self.run_button = h.origin_label, h.beam, h.run_button
        self.open_button, self.folder_button = h.open_button, h.folder_button
        self.export_button, self.clear_button = h.export_button, h.clear_button
        data = getattr(self.service, "data", None)
        self.model_picker = TaskModelPicker(CAPTIONER_KIND, "caption model", data)
        h.row.insertWidget(2, self.model_picker)
        col.addWidget(h)
        add_banner(self, col)
        self.progress_row = ProgressRow()
        col.addWidget(self.progress_row)
        self.splitter = side_by_side()
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(20, 12, 8, 12)
        self.stack = QStackedWidget()
        self.drop_zone = DropZone(
            "Drop photos, folders or videos",
            "Each picture gets a caption from a CNN encoder and an attention LSTM; click a word of it "
            "to see where the model looked. Videos get a caption per scene.",
        )
        self.grid = CaptionGrid()
        self.stack.addWidget(self.drop_zone)
        self.stack.addWidget(self.grid)
        lcol.addWidget(self.stack)
        min_width_for_text(left, 220)  # one grid cell (they grow with the text size) and its margins
        self.splitter.addWidget(left)
        self.detail = CaptionDetail()
        min_width_for_text(self.detail, 380)
        # in a scroll area: in a short window the picture, timeline and word chips scroll rather
        # than being squeezed on top of each other
        self.detail_scroll = QScrollArea()
        self.detail_scroll.setWidgetResizable(True)
        self.detail_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.detail_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.detail_scroll.setWidget(self.detail)
        self.detail_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its words and buttons take focus
        min_width_for_text(self.detail_scroll, 380 + 20)  # the pane and a vertical scroll bar
        self.splitter.addWidget(self.detail_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([700, 520])
        col.addWidget(self.splitter, 1)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence(QKeySequence.StandardKey.Open), self, self.ask_open, context=context)
        # Tab goes through the header in the order shown: the picker (made last) before Open…
        # (set once everything is built: with nothing after it the chain wraps, and Qt sees no change)
        p = self.model_picker
        chain = [p.combo, p.info_button, p.rescan_button, h.open_button, h.folder_button]
        chain += [h.export_button, h.clear_button, h.beam, h.run_button]
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)

    def _connect(self) -> None:
        listen_to_jobs(self)
        self.model_picker.model_chosen.connect(self._on_model_chosen)
        self.header.export_requested.connect(self.ask_export)
        self.open_button.clicked.connect(self.ask_open)
        self.folder_button.clicked.connect(self.ask_open_folder)
        self.clear_button.clicked.connect(self.clear)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.drop_zone.files_dropped.connect(self.handle_drop)
        self.drop_zone.open_files.connect(self.ask_open)
        self.drop_zone.open_folder.connect(self.ask_open_folder)
        self.grid.currentItemChanged.connect(self._on_current)
        self.detail.copy_requested.connect(self.copy_caption)

    # ================================================================== user actions
    @property
    def busy(self) -> bool:
        return self.job_id is not None

    def caption_files(self, paths: list[str], replace: bool = False) -> int | None:
        """Caption ``paths`` (files and folders) on the engine thread; the job id."""
        paths = [str(p) for p in paths if p]
        if not paths:
            return None
        if self.busy:
            self.queued.extend(p for p in paths if p not in self.queued)
            self.show_message(
                f"Queued {_items(len(self.queued))}: captioned when the current ones are done.", "info"
            )
            return None
        if replace:
            self._clear_grid()
        self.sources = list(dict.fromkeys([*self.sources, *paths]))
        kwargs = {"paths": paths, "beam": self.beam.value(), "model": str(self.model_folder)}
        return self._start(ops.caption_paths, kwargs, "Loading the caption model…")

    def handle_drop(self, paths: list[str]) -> None:
        """Files or folders dropped on the window or the panel."""
        self.caption_files(paths)

    def recaption(self) -> int | None:
        """Caption everything opened so far again, with the beam size now set."""
        if not self.sources or self.busy:
            return None
        sources = list(self.sources)
        self.sources = []
        return self.caption_files(sources, replace=True)

    def show_history_item(self, kind: str, item_id: int) -> None:
        """A caption chosen in the history search: show it (with its picture when the file is there)."""
        if kind != ops.CAPTION_KIND:
            return
        if self.busy:  # never stop a batch silently: the person asks again when it is done
            self.show_message(BUSY_REOPEN, "info")
            return
        self._start(ops.open_caption, {"item_id": int(item_id)}, "Opening the saved caption…")

    def cancel(self) -> None:
        """Stop between batches: what is captioned stays (and is saved), files not reached leave the grid."""
        job = self.job_id
        if job is None:
            return
        self.service.cancel(job)
        self.cancelling.add(job)
        self.job_id = None
        self.grid.remove(self.grid.waiting(f"{job}:"))
        dropped, self.queued = len(self.queued), []
        self._set_busy(False)
        self._cancel_note = f" The {_items(dropped)} queued will not be captioned." if dropped else ""
        self._say_cancelled(job)

    def _say_cancelled(self, job: int) -> None:
        """The cancel message, counted again when a batch made before the cancel arrives late."""
        kept = sum(1 for k, it in self.items.items() if k.startswith(f"{job}:") and not it.get("error"))
        made = f"{kept} caption{'s' if kept != 1 else ''}"
        self.show_message(f"Cancelled. {made} made before that are kept.{self._cancel_note}", "info")
        self._after_change()

    def clear(self) -> None:
        if self.busy:
            self.cancel()
        self.cancelling.clear()  # a batch still on its way (saved in the history) stays off the grid
        self._clear_grid()
        self.sources = []
        self.message.hide()
        self._after_change()

    def ask_open(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images or videos", str(Path.home()), OPEN_FILTER)
        if paths:
            self.caption_files(paths)

    def ask_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Caption every image and video in a folder", str(Path.home())
        )
        if folder:
            self.caption_files([folder])

    def copy_caption(self) -> None:
        text = self.detail.caption_text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.show_message("The caption was copied to the clipboard.", "info")

    def shown_items(self) -> list[dict]:
        """Caption items in grid order (errors included)."""
        return [self.items[k] for k in self.grid.ordered_keys() if k in self.items]

    def ask_export(self, fmt: str) -> None:
        if not self.shown_items():
            return
        default = str(Path.home() / f"captions.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "Export the captions", default, EXPORT_LABELS[fmt])
        if path:
            self.export_to(path, fmt)

    def export_to(self, path: str, fmt: str) -> int | None:
        """Write every caption in the grid to ``path`` as ``fmt`` (on the engine thread); the job id."""
        items = self.shown_items()
        if not items:
            return None
        job = self.service.submit(
            "export", caption_export.write_export, {"path": path, "items": items, "fmt": fmt}
        )
        self.export_jobs[job] = path
        return job

    def _on_run_clicked(self) -> None:
        if self.busy:
            self.cancel()
        else:
            self.recaption()

    # ======================================================================= jobs
    def _start(self, fn, kwargs: dict, what: str) -> int:
        self.message.hide()
        self._show_progress(what, None)
        self.job_id = self.service.submit("caption", fn, kwargs)
        self._set_busy(True)
        return self.job_id

    def _on_job_progress(self, job_id: int, info) -> None:
        if not isinstance(info, dict):
            return
        if job_id == self.job_id:
            self.apply_progress(str(job_id), info)
        elif job_id in self.cancelling and info.get("stage") == "batch":
            for item in info["items"]:  # reported before the cancel reached the job: it is saved
                self._add_item(f"{job_id}:{item['index']}", item)
            self._say_cancelled(job_id)

    def apply_progress(self, prefix: str, info: dict) -> None:
        """Show one progress report of ``caption_paths`` (cells keyed ``prefix:index``)."""
        stage = info.get("stage")
        if stage == "files":
            for f in info["files"]:
                self.grid.add_waiting(f"{prefix}:{f['index']}", f["name"])
            self.stack.setCurrentWidget(self.grid)
            self._show_progress(f"Captioning 0 of {info['total']:,}…", 0.0)
        elif stage == "batch":
            for item in info["items"]:
                self._add_item(f"{prefix}:{item['index']}", item)
            done, total = info["done"], max(info["total"], 1)
            self._show_progress(f"Captioning {min(done + 1, total):,} of {total:,}…", done / total)
            if self.grid.current_key() is None:
                self._select_first()
        elif stage == "video":
            done, total = info["done"], max(info["total"], 1)
            length = f" of {info['duration_s']:.1f}" if info.get("duration_s") else ""
            text = (
                f"Captioning {done + 1:,} of {total:,}: {info['name']} ({info['time_s']:.1f}{length} s read)…"
            )
            self._show_progress(text, done / total)
            self.grid.set_waiting_text(f"{prefix}:{info['index']}", "Reading the video…")

    def _on_job_finished(self, job_id: int, result) -> None:
        if job_id in self.export_jobs:
            path = self.export_jobs.pop(job_id)
            self.show_message(f"Exported {result.get('rows', 0)} captions to {path}", "info")
            return
        if job_id in self.cancelling:
            self.cancelling.discard(job_id)
            self.grid.remove(self.grid.waiting(f"{job_id}:"))
            return
        if job_id != self.job_id:
            return
        self.job_id = None
        self._set_busy(False)
        self.grid.remove(self.grid.waiting(f"{job_id}:"))
        if isinstance(result, dict) and result.get("source") == "history":  # reopened from the history
            key = f"history:{result['caption_id']}"
            self.grid.remove([key])
            self._add_item(key, result)
            self.grid.select(key)
        elif isinstance(result, dict):
            self.last_result = result
            self._report(str(job_id), result)
        self._after_change()
        self._start_queued()

    def _start_queued(self) -> None:
        """Caption what was dropped or opened while the last job ran (the job has ended)."""
        if self.queued and not self.busy:
            paths, self.queued = self.queued, []
            self.caption_files(paths)

    def _on_model_chosen(self, folder: str) -> None:
        self.model_folder = Path(folder)
        problem = ops.model_problem(self.model_folder)
        if problem:
            self.show_message(problem)
        elif self.sources and not self.busy:
            name = Path(folder).name
            self.show_message(f"Captions now come from {name}; Caption again to redo these.", "info")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.model_picker.rescan()  # a captioner trained meanwhile is there to pick
        self.model_picker.set_current(str(self.model_folder))

    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id in self.export_jobs:
            self.show_message(f"Could not export to {self.export_jobs.pop(job_id)}: {message}")
        elif job_id in self.cancelling:
            self.cancelling.discard(job_id)
            self.grid.remove(self.grid.waiting(f"{job_id}:"))
        elif job_id == self.job_id:
            self.job_id = None
            self._set_busy(False)
            self.grid.remove(self.grid.waiting(f"{job_id}:"))
            dropped, self.queued = len(self.queued), []
            also = f" The {_items(dropped)} queued were not captioned." if dropped else ""
            self.show_message(message + also)
            self._after_change()

    # ====================================================================== showing
    def _add_item(self, key: str, item: dict) -> None:
        self.items[key] = item
        self.grid.set_result(key, item)
        self.stack.setCurrentWidget(self.grid)
        if key == self.grid.current_key():
            self.detail.show_item(item)

    def _report(self, prefix: str, result: dict) -> None:
        mine = [it for k, it in self.items.items() if k.startswith(f"{prefix}:")]
        bad = [it for it in mine if it.get("error")]
        notes = []
        if bad:
            notes.append(
                f"{len(bad)} of {len(mine)} file{'s' if len(mine) != 1 else ''} could not be used; "
                "each one's cell says why."
            )
        if any("History is off" in (it.get("note") or "") for it in mine):
            notes.append("History is off: these captions are not saved.")
        if notes:
            self.show_message(" ".join(notes), "warning" if bad else "info")
        if self.grid.current_key() is None:
            self._select_first()

    def _select_first(self) -> None:
        for key in self.grid.ordered_keys():
            if key in self.items and not self.items[key].get("error"):
                self.grid.select(key)
                return

    def _on_current(self, current, _previous) -> None:
        key = self.grid.current_key() if current is not None else None
        item = self.items.get(key) if key else None
        if item is None and key:
            self.detail.show_empty("Waiting for its caption…")
        elif item is None:
            self.detail.show_empty()
        else:
            self.detail.show_item(item)

    def _clear_grid(self) -> None:
        self.grid.clear_cells()
        self.items.clear()
        self.detail.show_empty()
        self.stack.setCurrentWidget(self.drop_zone)

    def _after_change(self) -> None:
        if not self.grid.count():
            self.stack.setCurrentWidget(self.drop_zone)
        good = sum(1 for it in self.items.values() if not it.get("error"))
        bad = len(self.items) - good
        text = f"   {good:,} captioned" if self.items else ""
        if bad:
            text += f" · {bad:,} could not be used"
        self.origin_label.setText(text)
        self._update_enabled()

    def show_message(self, text: str, level: str = "warning") -> None:
        self.message.show_message(text, level)

    def _show_progress(self, text: str, fraction) -> None:
        self.progress_row.show_progress(text, fraction)

    def _set_busy(self, busy: bool) -> None:
        if not busy:
            self.progress_row.hide()
        self.header.set_busy(busy)
        self._update_enabled()

    def _update_enabled(self) -> None:
        busy = self.busy
        for w in (
            self.open_button,
            self.folder_button,
            self.drop_zone.files_button,
            self.drop_zone.folder_button,
        ):
            w.setEnabled(not busy)
        self.run_button.setEnabled(busy or bool(self.sources))
        self.export_button.setEnabled(any(not it.get("error") for it in self.items.values()))
        self.clear_button.setEnabled(bool(self.grid.count()) or busy)

    # ====================================================================== drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.handle_drop(paths)
        event.acceptProposedAction()


def create_panel(service, parent) -> QWidget:
    return CaptionPanel(service, parent)


def demo(panel: CaptionPanel) -> None:
    """Fill ``panel`` with drawn pictures, a clip and a broken file, captioned synchronously on this
    thread (for ``main.py --screenshot``; nothing is saved), and show one word's attention map."""
    from desktop import caption_demo

    caption_demo.fill(panel)


def _items(n: int) -> str:
    return f"{n} item{'s' if n != 1 else ''}"
