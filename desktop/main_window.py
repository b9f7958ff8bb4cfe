"""The main window: navigation rail, one stacked panel per task, status bar and notices.

Panels other than Chat are plug-ins: ``desktop/views/<name>.py`` exposing
``create_panel(service, parent) -> QWidget``. They are imported the first time they are shown;
until the module exists the panel says plainly that it is not built yet. A panel may also offer
``handle_drop(paths: list[str])`` (files dropped on the window while it is shown) and
``show_history_item(kind: str, item_id: int)`` (a search result of its kind was chosen).
"""

from __future__ import annotations

import importlib
import logging

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from desktop import theme
from desktop.app import MIN_SIZE
from desktop.views import placeholder
from desktop.views.chat import ChatPanel
from desktop.widgets.nav_rail import NavRail
from desktop.widgets.notice import NoticeArea
from desktop.widgets.status_bar import StatusBar

log = logging.getLogger("parlance.desktop")

# key, label, icon, what it will do (shown until the panel is built)
PANELS = (
    ("chat", "Chat", "chat", ""),
    (
        "summarize",
        "Summarize",
        "summarize",
        "Paste or drop a long text and get its key sentences (TextRank) and a short abstract written "
        "by a recurrent sequence-to-sequence model.",
    ),
    (
        "caption",
        "Caption",
        "caption",
        "Drop photos or videos and a CNN encoder with an attention LSTM decoder describes them in words.",
    ),
    (
        "forecast",
        "Forecast",
        "forecast",
        "Load a time series from a CSV file and forecast its next values with an LSTM, with prediction "
        "intervals and honest statistical baselines.",
    ),
    (
        "train",
        "Train",
        "train",
        "Train or fine-tune Parlance's models on your own data, watch the loss curves live and compare runs.",
    ),
)
# jobs that end in moments: closing the window does not ask about them
QUICK_JOBS = frozenset({"columns", "runs", "compare runs", "export", "prepare", "demo"})
JOB_WORDS = {
    "train": "A training run",
    "caption": "Captioning",
    "summarize": "A summary",
    "forecast": "A forecast",
}


JOB_STATUS = {  # the status bar while a job runs
    "prepare": "Preparing the training tools…",
    "runs": "Reading the list of runs…",
    "compare runs": "Reading earlier comparisons…",
    "columns": "Reading the file's columns…",
    "train": "Training…",
    "summarize": "Summarizing…",
    "caption": "Captioning…",
    "forecast": "Forecasting…",
    "export": "Exporting…",
    "demo": "Preparing the demo…",
}


def _busy_words(kinds: list[str]) -> str:
    names = list(dict.fromkeys(JOB_WORDS.get(k, f"A {k} job") for k in kinds))
    names = names[:1] + [n[0].lower() + n[1:] for n in names[1:]]  # "A training run and a summary"
    return (" and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]) + (
        " is still running." if len(names) == 1 else " are still running."
    )


HISTORY_PANELS = {"summary": "summarize", "caption": "caption", "forecast": "forecast"}


class MainWindow(QMainWindow):
    def __init__(self, service, settings, data_dir: str | None, panel: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.settings = settings
        self.data_dir = data_dir
        self.device_label = "detecting…"
        self.history_on = False
        self._quit_confirmed = False
        self._quit_box = None
        self.session_theme: str | None = None  # --theme: this session's look, until Settings picks one
        self.setWindowTitle("Parlance")
        self.fit_minimum()
        self.setAcceptDrops(True)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = NavRail([(k, label, icon) for k, label, icon, _ in PANELS])
        row.addWidget(self.nav)
        self.stack = QStackedWidget()
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.notices = NoticeArea(central)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.panels: dict[str, QWidget] = {}
        self._slots: dict[str, QWidget] = {}
        for key, *_ in PANELS:
            slot = QWidget()
            QVBoxLayout(slot).setContentsMargins(0, 0, 0, 0)
            self._slots[key] = slot
            self.stack.addWidget(slot)
        self.chat = ChatPanel(service, settings)
        self._install("chat", self.chat)
        self.chat.notice_requested.connect(self._on_notice)
        self.chat.status_message.connect(lambda m: self.status.showMessage(m, 5000))
        self.chat.speed_changed.connect(self.status.set_speed)
        self.chat.panel_requested.connect(self.select_panel)
        self.chat.history_item_requested.connect(self._open_history_item)
        self.nav.panel_selected.connect(self.select_panel)
        self.nav.settings_requested.connect(self.open_settings)
        QShortcut(QKeySequence("Ctrl+,"), self, self.open_settings)
        # from every panel: a new chat, or the search over all history (chats, summaries, captions …)
        QShortcut(QKeySequence(QKeySequence.StandardKey.New), self, self._new_chat)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self._find)
        for i, (key, *_rest) in enumerate(PANELS, start=1):
            QShortcut(QKeySequence(f"Ctrl+{i}"), self, lambda k=key: self.select_panel(k))
        self._connect_service()
        theme.name_icon_buttons(self)
        self._restore(panel)

    # ====================================================================== panels
    def _install(self, key: str, widget: QWidget) -> None:
        self.panels[key] = widget
        self._slots[key].layout().addWidget(widget)
        theme.name_icon_buttons(widget)
        if hasattr(widget, "forecaster_settings"):  # the Train panel hands a run's settings over
            widget.forecaster_settings.connect(self._use_forecaster_settings)

    def _use_forecaster_settings(self, options: dict, origin: str) -> None:
        forecast = self.panel("forecast")
        use = getattr(forecast, "use_lstm_settings", None)
        if callable(use):
            use(options, origin)
            self.select_panel("forecast")

    def panel(self, key: str) -> QWidget:
        """The panel widget for ``key``, creating it on first use."""
        if key not in self.panels:
            self._install(key, self._create_panel(key))
        return self.panels[key]

    def _create_panel(self, key: str) -> QWidget:
        label, icon, what = next((lbl, ic, w) for k, lbl, ic, w in PANELS if k == key)
        name = f"desktop.views.{key}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                return placeholder.not_built(label, what, icon)
            log.exception("panel %s failed to import", key)
            return placeholder.failed(label, what, icon, f"A module it needs is missing: {exc.name}.")
        except Exception as exc:
            log.exception("panel %s failed to import", key)
            return placeholder.failed(label, what, icon, f"{type(exc).__name__}: {exc}")
        try:
            return module.create_panel(self.service, self._slots[key])
        except Exception as exc:
            log.exception("panel %s failed to build", key)
            return placeholder.failed(label, what, icon, f"{type(exc).__name__}: {exc}")

    def select_panel(self, key: str) -> None:
        if key not in self._slots:
            key = "chat"
        self.panel(key)
        self.stack.setCurrentWidget(self._slots[key])
        self.nav.set_current(key)
        self.settings.last_panel = key

    def _new_chat(self) -> None:
        self.select_panel("chat")
        self.chat.new_chat()

    def _find(self) -> None:
        self.select_panel("chat")
        self.chat.history.focus_search()

    def current_key(self) -> str:
        return next(k for k, slot in self._slots.items() if slot is self.stack.currentWidget())

    def _open_history_item(self, kind: str, item_id: int) -> None:
        key = HISTORY_PANELS.get(kind)
        if key is None:
            return
        self.select_panel(key)
        handler = getattr(self.panels[key], "show_history_item", None)
        if callable(handler):
            handler(kind, item_id)

    # ================================================================ service state
    def _connect_service(self) -> None:
        # Connect service signals to bound methods of this QObject only: Qt then queues the call
        # to the GUI thread. A lambda or plain function would run on the engine thread.
        s = self.service
        s.ready.connect(self._on_ready)
        s.device_changed.connect(self._on_device)
        s.loaded_models_changed.connect(self.status.set_models)
        s.error.connect(self.show_error)
        s.model_loading.connect(self._on_model_loading)
        s.model_loaded.connect(self._on_model_loaded)
        s.model_failed.connect(self._on_model_failed)
        s.generating_changed.connect(self._on_generating)
        s.job_started.connect(self._on_job_started)
        s.job_finished.connect(self._on_job_finished)
        s.job_failed.connect(self._on_job_failed)

    def _on_model_loading(self, folder: str) -> None:
        self.status.set_state("busy", "Loading model…" if folder else "Starting…")

    def _on_model_loaded(self, _info: dict) -> None:
        if self.chat.generating:  # a reload (device change) while a reply is written
            self.status.set_state("busy", "Generating…")
        else:
            self.status.set_state("ready", "Ready")

    def _on_model_failed(self, _message: str) -> None:
        self.status.set_state("off", "No chat model")

    def _on_job_started(self, _job_id: int, kind: str) -> None:
        self.status.showMessage(JOB_STATUS.get(kind, f"Working: {kind}…"))

    def _on_job_finished(self, _job_id: int, _result) -> None:
        self.status.clearMessage()

    def _on_job_failed(self, _job_id: int, message: str) -> None:
        self.status.showMessage(message, 10000)

    def _on_ready(self, info: dict) -> None:
        self.history_on = bool(info.get("history"))
        self.status.set_history(
            self.history_on, info.get("db_path") or info.get("problem"), bool(info.get("read_only"))
        )
        if info.get("problem"):
            rest = (
                " New conversations and results work for this session but are not saved."
                if info.get("read_only")
                else " History is off for this session: conversations work but are not saved."
            )
            self.notices.show_notice(
                info["problem"] + rest,
                "warning",
                timeout_ms=0,
            )
        if info.get("recovered_from"):
            self.notices.show_notice(
                "The history database was damaged and could not be read. It was moved aside to "
                f"{info['recovered_from']} (nothing was deleted) and a fresh one was started.",
                "warning",
                timeout_ms=0,
            )

    def _on_device(self, label: str) -> None:
        self.device_label = label
        self.status.set_device(label)

    def _on_generating(self, on: bool) -> None:
        if on:
            self.status.set_state("busy", "Generating…")
        elif self.chat.model_state == "ready":
            self.status.set_state("ready", "Ready")

    def _on_notice(self, text: str, level: str, action) -> None:
        self.notices.show_notice(text, level, action)

    def show_error(self, message: str) -> None:
        self.status.showMessage(message, 10000)
        self.notices.show_notice(message, "error")

    # ===================================================================== settings
    def open_settings(self) -> None:
        from desktop.views.settings_dialog import SettingsDialog

        old = getattr(self, "_settings_dialog", None)
        if old is not None:  # one dialog at a time; an old one is freed, not left connected
            old.close()
            old.deleteLater()
        dialog = SettingsDialog(
            self.settings,
            self.data_dir if self.history_on else None,
            self.device_label,
            self,
            theme=self.theme_in_effect(),
        )
        dialog.applied.connect(self.apply_settings)
        dialog.open()
        self._settings_dialog = dialog

    def theme_in_effect(self) -> str:
        return self.session_theme or self.settings.theme

    def apply_settings(self, values: dict) -> None:
        old_cpu, old_look = self.settings.force_cpu, (self.theme_in_effect(), self.settings.font_pt)
        if values["theme"] != self.theme_in_effect():  # a theme picked here replaces --theme
            self.settings.theme = values["theme"]
            self.session_theme = None
        self.settings.font_pt = values["font_pt"]
        self.settings.force_cpu = values["force_cpu"]
        self.settings.default_decoding = values["default_decoding"]
        if (self.theme_in_effect(), self.settings.font_pt) != old_look:
            self.restyle()  # re-polishes every widget: seconds with a long chat open, so only on change
        if values["force_cpu"] != old_cpu:  # the device asked for (--device) stays asked for
            self.service.set_compute(self.service.device_request, values["force_cpu"])
        self.chat.apply_default_decoding()
        self.settings.sync()
        if not self.settings.writable():
            self.notices.show_notice(
                f"Settings could not be saved to {self.settings.location()}: "
                "they last until Parlance closes.",
                "warning",
            )

    def restyle(self) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            theme.apply(QGuiApplication.instance(), self.theme_in_effect(), self.settings.font_pt)
            theme.retheme(self)  # themed icons, and every widget's own retheme(): plots, rich text
            self.fit_minimum()
        finally:
            QGuiApplication.restoreOverrideCursor()

    def fit_minimum(self) -> None:
        """Larger text needs a larger window: from MIN_SIZE at 10 pt, 40 x 15 px more per point
        (at 18 pt the panels' panes ran off a 900 x 560 window), within the screen."""
        extra = max(0.0, self.settings.font_pt - 10)
        w, h = MIN_SIZE[0] + int(40 * extra), MIN_SIZE[1] + int(15 * extra)
        screen = self.screen()
        if screen is not None:  # never wider or taller than the screen, even below MIN_SIZE
            room = screen.availableGeometry()
            w, h = min(w, room.width()), min(h, room.height())
        self.setMinimumSize(w, h)  # a smaller window grows to it

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ScreenChangeInternal:  # moved to another screen
            self.fit_minimum()  # the minimum was fitted to the screen the window opened on
        return super().event(event)

    # ================================================================= window state
    def _restore(self, panel: str | None) -> None:
        geometry = self.settings.bytes_value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1360, 860)
        self.select_panel(panel or self.settings.last_panel)
        if self.current_key() == "chat":
            self.chat.composer.focus()  # typing can start at once

    def save_state(self) -> None:
        self.settings.set_bytes("window/geometry", self.saveGeometry())
        self.chat.save_state()
        self.settings.sync()

    def closeEvent(self, event) -> None:
        busy = [k for k in self.service.unfinished_jobs() if k not in QUICK_JOBS]  # a queued run too
        if busy and not self._quit_confirmed:
            event.ignore()  # asked first: closing stops the work
            self._ask_quit(busy)
            return
        self.save_state()
        super().closeEvent(event)

    def _ask_quit(self, kinds: list[str]) -> None:
        if self._quit_box is not None:
            self._quit_box.raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Quit Parlance?", _busy_words(kinds), parent=self)
        box.setInformativeText(
            "Quitting stops it. A training run can be resumed later from its last checkpoint; "
            "other work in progress is lost."
        )
        quit_button = box.addButton("Quit and stop", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(QMessageBox.StandardButton.NoButton)

        def done(_result: int) -> None:
            self._quit_box = None
            if box.clickedButton() is quit_button:
                self._quit_confirmed = True
                self.close()
            box.deleteLater()

        box.finished.connect(done)
        self._quit_box = box
        box.open()

    # ================================================================ drag and drop
    def _drop_target(self):
        handler = getattr(self.panels.get(self.current_key()), "handle_drop", None)
        return handler if callable(handler) else None

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and self._drop_target() is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        handler = self._drop_target()
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if handler is not None and paths:
            event.acceptProposedAction()
            try:
                handler(paths)
            except Exception as exc:
                log.exception("drop handler failed")
                self.show_error(f"Could not use the dropped files: {exc}")
