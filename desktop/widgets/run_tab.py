"""What every training tab of the Train panel shares (the chat model's and the summarizer,
captioner and forecaster tabs): its engine-service job and runs-table job, the Start / Pause /
Cancel / Resume buttons, the fixed-height status line (Pause notes itself there), where runs are
written, and the handling of a failed run. The tabs build their forms, curves and messages."""

from __future__ import annotations

import tempfile
import weakref

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop.widgets.pause_button import PAUSED_NOTE, PauseButton
from engine.lab import jobs

# run statuses that can go on from their last checkpoint ("interrupted": the app was killed mid-run)
RESUMABLE = ("stopped", "error", "interrupted")


def resumable(run: dict) -> bool:
    """Whether Resume is offered for ``run``. A run that failed before it wrote anything (a missing
    package, a model too large for memory) has no folder left (RunRecorder.fail removes it empty):
    it was offered for Resume, which could only fail again or start over."""
    from pathlib import Path

    if run.get("status") not in RESUMABLE:
        return False
    folder = run.get("checkpoint")
    return run["status"] != "error" or bool(folder) and Path(folder).is_dir()


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


def runs_request(service):
    """The job that lists the runs, marking those recorded as running that this app is not
    training (cut off by a crash) as interrupted; the live ones are read when the job runs."""

    def runs(*, store=None) -> list[dict]:
        live = service.live_runs() if hasattr(service, "live_runs") else ()
        return jobs.runs_job(store=store, live=live)

    return runs


class _SharedRuns(QObject):
    """The service's runs job not finished yet, which every tab asking for the runs meanwhile
    shares: each of the four training tabs read every run with its curves on its own (500 runs:
    4 x 1.3 s on the engine thread, holding the GIL against the window, when the panel opened).
    A request after the job's end (a run just ended) gets a new job, reading the runs then. The
    result is handed to each tab that asked from here: a tab's own job_finished connection, made
    after the job ended on the engine thread, would never see it."""

    def __init__(self, service) -> None:
        super().__init__()
        self.job: int | None = None
        self.waiting: list[weakref.ref] = []  # the tabs that asked for self.job
        service.job_finished.connect(self._finished)
        service.job_failed.connect(self._failed)

    def request(self, service, tab) -> int:
        if self.job is None:
            self.waiting = []
            self.job = service.submit("runs", runs_request(service), {})
        self.waiting.append(weakref.ref(tab))
        return self.job

    def _tabs(self, job_id: int) -> list:
        if job_id != self.job:
            return []
        tabs, self.job, self.waiting = self.waiting, None, []
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
        return service.submit("runs", runs_request(service), {})
    return shared.request(service, tab)


class RunTab(QWidget):
    CAN_RESUME = True
    HINT = "Choose data and a model, then Start."
    CANCEL_NOTE = "Stopping after the current step; the run can be resumed later."

    def __init__(self, service, parent=None) -> None:
        super().__init__(parent)
        self.service = service
        self.job_id: int | None = None  # the training job whose events this tab shows
        self.runs_job: int | None = None  # the latest request for the runs table
        self._runs_seen: int | None = None  # the runs job whose result the table shows
        self.run_id: int | None = None
        self.status_text = ""
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
        self.job_id = self.service.submit("train", fn, kwargs)
        self.pause_button.attach(self.job_id)
        if others:  # one long job at a time: say why nothing happens yet
            self._say(f"{self.status_text}\nWaiting: it starts when the {others[0]} job running now ends.")
        return self.job_id

    def cancel(self) -> None:
        if self.job_id is not None:
            self.service.cancel(self.job_id)
            self._say(self.CANCEL_NOTE)

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
        self._say(f"Training stopped: {message}")
        self.refresh_runs()
