"""What every training tab of the Train panel shares (the chat model's and the summarizer,
captioner and forecaster tabs): its engine-service job and runs-table job, the Start / Pause /
Cancel / Resume buttons, the fixed-height status line (Pause notes itself there), where runs are
written, and the handling of a failed run. The tabs build their forms, curves and messages."""

from __future__ import annotations

import contextlib
import tempfile
import weakref
from datetime import datetime, timezone

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.pause_button import PAUSED_NOTE, PauseButton
from desktop.widgets.runs_table import run_folder, run_name
from engine.lab import jobs

# run statuses that can go on from their last checkpoint ("interrupted": the app was killed mid-run)
RESUMABLE = ("stopped", "error", "interrupted")


def resumable(run: dict) -> bool:
    """Whether Resume is offered for ``run``. A run that failed before it wrote anything (a missing
    package, a model too large for memory) has no folder left (RunRecorder.fail removes it empty):
    it was offered for Resume, which could only fail again or start over. A run whose folder is
    gone (deleted or moved by hand) was offered too, and failed when clicked: the runs job says
    whether the folder is there (``folder_exists``), so the window looks at no file here."""
    from pathlib import Path

    if run.get("status") not in RESUMABLE:
        return False
    folder = run.get("folder") or run.get("checkpoint")
    if "folder_exists" in run:
        return bool(run["folder_exists"]) if folder else run["status"] != "error"
    return run["status"] != "error" or bool(folder) and Path(folder).is_dir()


def size_words(n_bytes) -> str:
    """'12.3 MB', '0.4 MB', '2.1 GB' (the size of a run's folder)."""
    n = float(n_bytes or 0)
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n >= 1e5 or n == 0 else f"{max(n / 1e3, 0.1):.1f} KB"


def model_ready(result: dict) -> bool:
    """The run's folder holds a model a panel can load (a run stopped before its first validation
    has only its checkpoint: no folder to point people at)."""
    from pathlib import Path

    folder = result.get("folder")
    return bool(folder) and (Path(folder) / "config.json").is_file()


def ended_words(result: dict, unit: str = "steps") -> str:
    """'Run #3 ended after 120 steps (step budget reached)', in words rather than internal codes."""
    from engine.training import REASON_WORDS

    m = result.get("metrics") or {}
    reason = m.get("reason")
    why = REASON_WORDS.get(reason, reason or "ended")
    run = f"Run #{result['run_id']}" if result.get("run_id") is not None else "The run"
    return f"{run} ended after {m.get('steps', 0)} {unit} ({why})"


def quick(service) -> dict:
    """``submit`` arguments for a runs job: served at once, between a training run's steps, by a
    service that can (EngineService.quick_jobs); it waited for the whole run to end."""
    return {"quick": True} if getattr(service, "quick_jobs", False) else {}


def runs_request(service):
    """The job that lists the runs, marking those recorded as running that this app is not
    training (cut off by a crash) as interrupted; the live ones are read when the job runs."""

    def runs(*, store=None) -> list[dict]:
        live = service.live_runs() if hasattr(service, "live_runs") else ()
        return jobs.runs_job(store=store, live=live)

    return runs


def delete_request(service):
    """The job that deletes a run (and, with ``files``, its folder); the runs being trained are
    read when the job runs (the engine refuses to delete one of them)."""

    def delete(run_id: int, files: bool, *, store=None) -> dict:
        live = service.live_runs() if hasattr(service, "live_runs") else ()
        return jobs.delete_run_job(run_id, files, store=store, live=live)

    return delete


# another job the service runs now, in words (the Waiting line: "it starts when … ends")
KIND_WORDS = {
    "train": "the training run under way",
    "compare": "the cell comparison under way",
    "summarize": "the summary being written",
    "caption": "the captioning under way",
    "forecast": "the forecast under way",
    "gates": "the gates view being computed",
    "embeddings": "the embeddings view being computed",
    "generate": "the text being generated",
    "game": "the game round being prepared",
}
_TABS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # service -> its training tabs (WeakSet)
CANCELLED_BEFORE_START = "cancelled before it started"  # the service's job_failed message, at its end
DROPPED_NOTE = "Removed from the queue."  # it waited behind another job
NOT_STARTED_NOTE = "Cancelled before it started; there is nothing to resume."


def _now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _SharedRuns(QObject):
    """The service's runs job not finished yet, which every tab asking for the runs meanwhile
    shares: each of the four training tabs read every run with its curves on its own (500 runs:
    4 x 1.3 s on the engine thread, holding the GIL against the window, when the panel opened).
    A request after the job's end (a run just ended) gets a new job, reading the runs then. The
    result is handed to each tab that asked from here: a tab's own job_finished connection, made
    after the job ended on the engine thread, would never see it."""

    def __init__(self, service) -> None:
        super().__init__()
        self.job: int | None = None  # the runs job not started yet, which a request may share
        self.waiting: dict[int, list[weakref.ref]] = {}  # runs job -> the tabs that asked for it
        service.job_finished.connect(self._finished)
        service.job_failed.connect(self._failed)
        if hasattr(service, "job_started"):
            service.job_started.connect(self._started)

    def request(self, service, tab) -> int:
        if self.job is None:
            self.job = service.submit("runs", runs_request(service), {}, **quick(service))
            self.waiting[self.job] = []
        self.waiting[self.job].append(weakref.ref(tab))
        return self.job

    def _started(self, job_id: int, _kind: str) -> None:
        """A runs job that has started reads the runs as they were then: a request after this (a
        run that just failed, as a quick job can start in the middle of a training run) gets a new
        job. Sharing it showed the failed run as still running."""
        if job_id == self.job:
            self.job = None

    def _tabs(self, job_id: int) -> list:
        if job_id == self.job:
            self.job = None
        tabs = self.waiting.pop(job_id, [])
        return [t for t in (ref() for ref in tabs) if t is not None and shiboken6.isValid(t)]

    def _finished(self, job_id: int, result) -> None:
        for tab in self._tabs(job_id):
            tab._on_finished(job_id, result)

    def _failed(self, job_id: int, message: str) -> None:
        for tab in self._tabs(job_id):
            tab._on_failed(job_id, message)


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # service -> its _SharedRuns (no ref back)


def request_runs(service, tab) -> int:
    """The id of a runs job whose result lists the runs as they are now, shared with the other tabs
    asking meanwhile; ``tab._on_finished`` (or ``_on_failed``) gets it, once (see RunTab.fresh_runs)."""
    try:
        shared = _SHARED.get(service)
        if shared is None:
            shared = _SHARED[service] = _SharedRuns(service)
    except TypeError:  # a service that cannot be weakly referenced: a job of its own
        return service.submit("runs", runs_request(service), {}, **quick(service))
    return shared.request(service, tab)


class RunTab(QWidget):
    CAN_RESUME = True
    HINT = "Choose data and a model, then Start."
    CANCEL_NOTE = "Stopping after the current step; the run can be resumed later."
    TASK = ""  # the runs table's task name
    RUN_WORDS = "training run"  # a run of this tab, in words ("chat-model run #3")
    REFRESHES_MODELS = False  # the Chat panel offers this tab's models (refresh them when one goes)

    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.service = service
        self.job_id: int | None = None  # the training job whose events this tab shows
        self.runs_job: int | None = None  # the latest request for the runs table
        self._runs_seen: int | None = None  # the runs job whose result the table shows
        self.run_id: int | None = None
        self.status_text = ""
        self._started = False  # self.job_id has started (not waiting behind another job)
        self._queued = False  # another job ran when self.job_id was submitted
        self._dropped = False  # self.job_id was cancelled before it started
        self._live_job: int | None = None  # the training job whose run the table shows live
        self._live_run: int | None = None
        self._live_seed: dict = {}  # what the table's row of a new run shows until the history is read
        self._admin: dict[int, tuple[str, object]] = {}  # job id -> (what, payload): curves, delete …
        self.delete_box: QMessageBox | None = None
        self.rename_dialog: QInputDialog | None = None
        # a service that cannot be weakly referenced: the Waiting line stays generic
        with contextlib.suppress(TypeError):
            _TABS.setdefault(service, weakref.WeakSet()).add(self)
        data = getattr(service, "data", None)
        if data is not None and data.writable:
            self.out_root = str(data.user_models)  # finished runs are models the panels offer
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="parlance-runs-")
            self.out_root = self._tmp.name

    def listen(self) -> None:
        """Connect the service's job signals (after the tab is built) and ask for the runs."""
        self.service.job_progress.connect(self._on_progress)
        self.service.job_finished.connect(self._on_finished)
        self.service.job_failed.connect(self._on_failed)
        # after the tab's own slots: they see the job end first
        self.service.job_progress.connect(self._track_live)
        self.service.job_finished.connect(self._on_admin_finished)
        self.service.job_failed.connect(self._on_admin_failed)
        if hasattr(self.service, "job_started"):
            self.service.job_started.connect(self._on_job_started)
        self.runs.curves_wanted.connect(self._want_curves)
        self.runs.delete_requested.connect(self.ask_delete)
        self.runs.rename_requested.connect(self.ask_rename)
        self.refresh_runs()

    # ================================================================== pieces for the form
    def run_buttons(self) -> QHBoxLayout:
        """Start, Pause, Cancel and Resume selected, wired to the tab."""
        row = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = PauseButton(self.service)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume selected")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        for b in (self.start_button, self.pause_button, self.cancel_button, self.resume_button):
            row.addWidget(b)
        if not self.CAN_RESUME:  # hide() only: setVisible(True) on a widget with no parent yet shows a window
            self.resume_button.hide()
        return row

    def form_column(self, form_box: QWidget) -> QWidget:
        """The form in a scroll area that scrolls only up and down, with Start, Pause, Cancel and
        Resume pinned below it: at the bottom of a 20-field form they were below the fold at
        1280 x 720, and the form scrolled sideways by a few pixels."""
        column = QWidget()
        col = QVBoxLayout(column)
        col.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form_box)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(form_box.minimumSizeHint().width() + bar + 4)
        self.form_scroll = scroll
        col.addWidget(scroll, 1)
        col.addLayout(self.run_buttons())
        return column

    def status_line(self) -> QLabel:
        self.status = QLabel(self.HINT)
        self.status.setWordWrap(True)
        # a fixed height: text changing at every progress event must not re-lay out the plots below
        # (re-laying out pyqtgraph widgets while training competes for the GIL stalls the window)
        self.status.setFixedHeight(3 * self.status.fontMetrics().lineSpacing() + 6)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        return self.status

    # ================================================================== actions
    def start(self) -> None:
        raise NotImplementedError

    def resume(self) -> None:
        raise NotImplementedError

    def submit_run(self, fn, kwargs: dict) -> int:
        """Submit a training job; Pause now pauses it."""
        others = [k for k in getattr(self.service, "running_jobs", list)() if k not in ("runs", "prepare")]
        self._live_seed = dict(kwargs.get("config") or {})
        self._started, self._queued, self._dropped = False, bool(others), False
        self.job_id = self.service.submit("train", fn, kwargs)
        self.pause_button.attach(self.job_id)
        if others:  # one long job at a time: say why nothing happens yet
            self._say(f"{self.status_text}\nWaiting: it starts when {self.waiting_for(others)} ends.")
        return self.job_id

    def waiting_for(self, kinds: list[str]) -> str:
        """The job a new run waits for, in words: another tab's run by its number where one of the
        training tabs runs it ("chat-model run #3"), else what the service says runs ("train" was
        shown as "the train job")."""
        for tab in list(_TABS.get(self.service, ())):
            if tab is self or tab.job_id is None or not shiboken6.isValid(tab) or tab._dropped:
                continue
            if tab.run_id is not None and tab._live_job == tab.job_id:
                return f"{tab.RUN_WORDS} #{tab.run_id}"
            if tab._started or not tab._queued:
                return f"the {tab.RUN_WORDS} under way"
        return KIND_WORDS.get(kinds[0], "the job under way")

    def job_began(self) -> bool:
        """Whether self.job_id has started rather than waiting behind another job."""
        if self._started:
            return True
        return False if hasattr(self.service, "job_started") else not self._queued

    def cancel(self) -> None:
        if self.job_id is None:
            return
        self.service.cancel(self.job_id)
        if self.job_began():
            self._say(self.CANCEL_NOTE)
        else:  # nothing ran: nothing to resume later
            self._dropped = True
            self._say(DROPPED_NOTE if self._queued else NOT_STARTED_NOTE)

    def refresh_runs(self) -> None:
        self.runs_job = request_runs(self.service, self)

    def fresh_runs(self, job_id: int) -> bool:
        """Whether ``job_id`` is this tab's runs job, seen for the first time (a shared runs job
        comes from the sharer and from the tab's own connection: it fills the table once)."""
        if job_id != self.runs_job or job_id == self._runs_seen:
            return False
        self._runs_seen = job_id
        return True

    def _set_running(self, on: bool) -> None:
        if not on:
            self.pause_button.attach(None)
        self.start_button.setEnabled(not on)
        self.resume_button.setEnabled(not on and self.CAN_RESUME)
        self.cancel_button.setEnabled(on)

    def _say(self, text: str) -> None:
        if self.pause_button.paused and text != PAUSED_NOTE:
            text = f"{PAUSED_NOTE}\n{text}"  # a step that was under way when Pause was pressed
        self.status_text = text
        self.status.setText(text)
        self.status.setToolTip(text)  # the line holds three lines; a long error is read in full here

    def _on_pause(self, paused: bool) -> None:
        self._say(PAUSED_NOTE if paused else "Continuing…")

    # ================================================================== service signals
    def _on_progress(self, job_id: int, info) -> None:
        raise NotImplementedError

    def _on_finished(self, job_id: int, result) -> None:
        raise NotImplementedError

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.runs_job:
            if self.fresh_runs(job_id):
                self.runs.set_runs([])
            return
        if job_id != self.job_id:
            return
        self.job_id = None
        self._set_running(False)
        if self._dropped or str(message).endswith(CANCELLED_BEFORE_START):
            # "Training stopped: train: cancelled before it started" named no run
            self._say(DROPPED_NOTE if self._queued else NOT_STARTED_NOTE)
            return
        self._say(f"Training stopped: {message}")
        self.refresh_runs()

    # ================================================================== the live run's row
    def _on_job_started(self, job_id: int, _kind: str) -> None:
        if job_id == self.job_id:
            self._started = True

    def live_row(self, run_id: int) -> dict:
        """The table's row for a new run that has just started (the history is read meanwhile)."""
        cfg = self._live_seed
        data = cfg.get("corpus") or cfg.get("data") or cfg.get("path") or cfg.get("data_dir") or ""
        return {
            "id": run_id,
            "task": self.TASK,
            "data": str(data),
            "config": cfg,
            "status": "running",
            "metrics": {},
            "started_at": _now_utc(),
            "curves": None,
            "label": None,
        }

    def _track_live(self, job_id: int, info) -> None:
        """The running run's row: listed when it starts, its Steps / Best / Status from its events."""
        if job_id != self.job_id or not isinstance(info, dict):
            return
        self._started = True
        kind, run_id = info.get("kind"), info.get("run_id")
        if not isinstance(run_id, int):
            return
        if kind == "start":
            self._live_job, self._live_run = job_id, run_id
            self.runs.show_live(self.live_row(run_id))
            self.refresh_runs()  # its folder, once the history can be read
        elif kind == "progress" and isinstance(info.get("step"), int):
            self.runs.update_live(run_id, steps=info["step"])
        elif kind == "eval":
            self._live_best(run_id, info)

    def _live_best(self, run_id: int, info: dict) -> None:
        measured = info.get("metrics") or {}
        run = self.runs.run(run_id) or {}
        known = run.get("metrics") or {}
        steps = info.get("step") if isinstance(info.get("step"), int) else None
        ppl = measured.get("val_ppl")
        if isinstance(ppl, (int, float)):
            best = known.get("best_val_ppl")
            if best is None or ppl < best:
                self.runs.update_live(run_id, best_val_ppl=float(ppl), steps=steps)
            return
        key = known.get("metric") or next((k for k in getattr(self, "METRICS", ()) if k in measured), None)
        if key in measured and info.get("improved", True):
            self.runs.update_live(run_id, best_metric=float(measured[key]), metric=key, steps=steps)

    # ================================================================== run management
    def _submit_admin(self, what: str, fn, kwargs: dict, payload) -> int:
        job = self.service.submit("runs", fn, kwargs, **quick(self.service))
        self._admin[job] = (what, payload)
        return job

    def _want_curves(self, run_ids) -> None:
        ids = [int(i) for i in run_ids]
        self._submit_admin("curves", jobs.run_curves_job, {"run_ids": ids}, ids)

    def _busy_note(self) -> str:
        running = list(getattr(self.service, "running_jobs", list)())
        others = [k for k in running if k not in ("runs", "prepare")]
        if others and not quick(self.service):  # quick jobs are served between the steps of a run
            return f" (it waits for {KIND_WORDS.get(others[0], 'the job under way')} to end)"
        if "prepare" in running:  # the panel's warm-up (importing torch) serves no job meanwhile
            return " (after the training tools are loaded)"
        return ""

    def _is_live(self, run: dict) -> bool:
        live = self.service.live_runs() if hasattr(self.service, "live_runs") else set()
        return run.get("status") == "running" or run["id"] in live

    def ask_delete(self, run: dict) -> None:
        """Ask before deleting ``run``: its folder and size, and whether its files go too."""
        if self._is_live(run):
            self._say(f"Run {run_name(run)} is being trained now: it cannot be deleted. Cancel it first.")
            return
        folder = run_folder(run)
        exists = bool(folder) and run.get("folder_exists", True) is not False
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Delete run")
        box.setText(f"Delete run {run_name(run)} ({self.RUN_WORDS}, {run.get('status', '')})?")
        if exists:
            where = f"Its folder: {folder}"
        elif folder:
            where = f"Its folder {folder} is gone already: only its entry in the list is deleted."
        else:
            where = "It has no folder: only its entry in the list is deleted."
        box.setInformativeText(where)
        box.check = None
        if exists:
            box.check = QCheckBox("Also delete its files (measuring…)")
            box.check.setChecked(True)
            box.setCheckBox(box.check)
            self._submit_admin("size", jobs.folder_size_job, {"path": folder}, box.check)
        box.delete_button = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
        box.buttonClicked.connect(lambda button: self._confirm_delete(run, box, button))
        box.finished.connect(box.deleteLater)  # one box was kept per Delete (its size job copes)
        self.delete_box = box
        box.open()

    def _confirm_delete(self, run: dict, box: QMessageBox, button) -> None:
        if button is not box.delete_button:
            return
        files = box.check is not None and box.check.isChecked()
        self._submit_admin(
            "delete", delete_request(self.service), {"run_id": run["id"], "files": files}, (run, files)
        )
        self._say(f"Deleting run {run_name(run)}…{self._busy_note()}")

    def _deleted(self, run: dict, files: bool, result: dict) -> None:
        result = result or {}
        self.runs.remove_run(run["id"])
        said = f"Deleted run {run_name(run)}"
        if result.get("files_removed"):
            said += f" and its folder ({size_words(result.get('freed_bytes'))} freed)."
        elif files and run_folder(run):
            said += f". Its folder {run_folder(run)} was kept because Parlance did not create it."
        else:
            said += "."
        self._say(said)
        self.after_delete(run, result)

    def after_delete(self, run: dict, result: dict) -> None:
        """A run was deleted (its row is gone already)."""
        if result.get("files_removed") and self.REFRESHES_MODELS and hasattr(self.service, "refresh_models"):
            self.service.refresh_models()  # its model leaves the Chat panel's picker

    def ask_rename(self, run: dict) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename run")
        dialog.setLabelText(f"A name for run #{run['id']} (empty: none):")
        dialog.setTextValue(str(run.get("label") or ""))
        dialog.textValueSelected.connect(lambda text: self.rename(run["id"], text))
        dialog.finished.connect(dialog.deleteLater)
        self.rename_dialog = dialog
        dialog.open()

    def rename(self, run_id: int, label: str) -> None:
        self._submit_admin("rename", jobs.rename_run_job, {"run_id": run_id, "label": label}, run_id)

    def _live_row_ends(self, job_id: int) -> None:
        """The live run's row gives way to the history's once a runs job read after the run ended."""
        if job_id == self._live_job and job_id != self.job_id:
            self.runs.end_live(self._live_run)
            self._live_job = None

    def _on_admin_finished(self, job_id: int, result) -> None:
        self._live_row_ends(job_id)
        entry = self._admin.pop(job_id, None)
        if entry is None:
            return
        what, payload = entry
        if what == "curves":
            self.runs.add_curves(result or {}, payload)
        elif what == "size":
            if shiboken6.isValid(payload):
                payload.setText(f"Also delete its files ({size_words(result)})")
        elif what == "delete":
            self._deleted(*payload, result)
        elif what == "rename":
            label = (result or {}).get("label")
            self.runs.set_label(payload, label)
            self._say(f"Run #{payload} is now called “{label}”." if label else f"Run #{payload} has no name.")

    def _on_admin_failed(self, job_id: int, message: str) -> None:
        self._live_row_ends(job_id)
        entry = self._admin.pop(job_id, None)
        if entry is None:
            return
        what, payload = entry
        if what == "curves":
            self.runs.curves_failed(payload, message)
        elif what == "size":
            if shiboken6.isValid(payload):
                payload.setText("Also delete its files (size unknown)")
        elif what == "delete":
            self._say(f"Run {run_name(payload[0])} was not deleted: {message}")
        elif what == "rename":
            self._say(f"Run #{payload} was not renamed: {message}")
