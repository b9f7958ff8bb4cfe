"""The engine service: ONE QObject on ONE QThread that owns the loaded models and the history store.

Views never call the engine directly. Every public method here only *emits a signal* (so it is
safe from the GUI thread); the work runs on the engine thread and results come back as signals.
Long work (a streaming reply, a panel's job) pumps the engine thread's event loop between steps,
so quick history requests (open a conversation, search, rename) are served while it runs; another
long request waits in a backlog until the current one is done. Models load on a short-lived
helper thread (importing torch takes seconds) and are handed to the engine thread when ready.

Generic jobs, for every panel (summarize, caption, forecast, train)::

    job_id = service.submit("summarize", fn, {"text": text})
    # fn runs on the engine thread. It may declare any of these keyword arguments and gets them:
    #   progress: callable(dict)   -> job_progress(job_id, dict)   (also keeps the app responsive)
    #   cancel:   object with .cancelled (bool), set by service.cancel(job_id)
    #   store:    the HistoryStore, or None when history is off
    #   device:   torch device string ("cpu", "cuda:0", "mps")
    #   cache:    ModelCache: cache.get(key, loader, label) loads a model once per session
    # Its return value arrives as job_finished(job_id, value); an exception as job_failed(job_id, message).

Receiving signals: connect them to *bound methods of a QObject* (your panel widget). Qt then
queues the call to the GUI thread. A lambda or plain function connected to a service signal runs
on the engine thread (PySide6 calls non-QObject callables directly), where it must not touch a
widget. Every job signal carries ``object`` arguments: with PySide6 6.12, ``Signal(dict)`` /
``Signal(list)`` corrupt reference counts, so declare your own structured signals as ``object``
too (see qt_fixes.py). Job ids are shared by all panels: keep the ids you submitted and ignore
the others.

Errors: every exception on the engine thread becomes a signal with a message for a person
(``error`` or ``job_failed``); the window shows it. Nothing on this thread touches a widget.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QThread, Signal, Slot

from desktop import chat_ops, gc_guard, qt_fixes
from desktop.chat_slots import REPLY, ChatSlots
from desktop.jobs import JOB_ARGS, ModelCache, accepted_kwargs, human_message
from desktop.paths import SHIPPED_MODELS, DataDir, model_roots
from desktop.task_models import ModelLoadError
from engine.cancel import CancelToken
from engine.device import ENV_VAR
from engine.extras import MissingExtra
from engine.history import NotFoundError

log = logging.getLogger("parlance.desktop")
PUMP_INTERVAL_S = 0.03  # while long work runs, serve queued quick requests at least this often


def cpu_threads(cores: int | None) -> int:
    """Torch CPU threads for the app: leave one core to the window, and no more than 4.

    Small recurrent models gain little from more threads, and on a busy machine extra OpenMP
    threads make every step wait on a barrier: measured on 2 cores under load, a 40-token beam
    reply took 15 s with 2 threads and 0.36 s with 1, while the window froze.
    """
    return max(1, min(4, (cores or 1) - 1))


def _log_history_failure(what: str, exc: Exception) -> None:
    """An expected reason (a folder, not a history; another program's lock; no permission) is a
    warning line; anything else keeps its traceback. (A folder in place of history.db printed a
    whole IsADirectoryError traceback on stderr.)"""
    if isinstance(exc, (ValueError, PermissionError, TimeoutError)):
        log.warning("%s: %s", what, exc)
    else:
        log.exception(what)


def _default_probe(requested: str | None, force_cpu: bool):
    import torch

    from engine.device import choose_device

    torch.set_num_threads(cpu_threads(os.cpu_count()))
    return choose_device(requested, force_cpu=force_cpu)


def _default_finder(*roots: Path) -> list[Path]:
    from engine.dialogue.bot import find_models

    return find_models(*roots)


def _default_loader(folder: str, device: str):
    from engine.dialogue.bot import ChatBot

    return ChatBot.load(folder, device=device)


class EngineService(ChatSlots, QObject):
    # ---- state --------------------------------------------------------------------------------
    ready = Signal(object)  # {"history", "data_dir", "db_path", "problem", "recovered_from", "read_only"}
    device_changed = Signal(str)  # "CPU", "CUDA: NVIDIA H200", "Apple MPS"
    loaded_models_changed = Signal(object)  # display names of every loaded model
    error = Signal(str)  # the one error path: a message for a person
    # ---- chat model ---------------------------------------------------------------------------
    models_found = Signal(object)  # [{"folder", "name", "card", "source": "shipped" | "yours"}]
    model_loading = Signal(str)  # folder being loaded ("" while searching for models)
    model_loaded = Signal(
        object
    )  # {"folder", "name", "card", "device", "defaults": dict, "max_context_chars"}
    model_failed = Signal(str)  # why no chat model is loaded
    # ---- history ------------------------------------------------------------------------------
    # every conversation (a list), or the one that changed: {"changed": row} or {"removed": id}
    conversations_changed = Signal(object)
    thread_loaded = Signal(object)  # chat_ops.thread_payload(...) + {"created": bool}
    conversation_deleted = Signal(int, object)  # id, snapshot for undo
    conversation_restored = Signal(int)
    # id, what was being done ("send", "open", "reply", "delete", "search", "settings"): another
    # program deleted that conversation (its row is already gone: conversations_changed "removed")
    conversation_gone = Signal(int, str)
    search_done = Signal(str, object)  # query, store.search(query)
    result_deleted = Signal(str, int, object)  # kind, id, snapshot for undo (summaries, captions, forecasts)
    result_restored = Signal(str, int)  # kind, id
    message_not_saved = Signal(str)  # the text of a message the history could not store (error follows)
    attention_loaded = Signal(int, object)  # message id, {"text", ...attention record} or None
    exported = Signal(str)  # path written
    imported = Signal(int)  # new conversation id
    # ---- streaming replies --------------------------------------------------------------------
    reply_started = Signal(int, int, int)  # conversation id, bot message id, user message id
    reply_token = Signal(int, str)  # bot message id, new text piece
    reply_finished = Signal(
        int, object
    )  # bot message id, {"status", "latency_ms", "n_tokens", "tokens_per_s"}
    generating_changed = Signal(bool)  # a reply is being generated or waits for the model
    # ---- generic jobs -------------------------------------------------------------------------
    job_started = Signal(int, str)  # job id, kind
    job_progress = Signal(int, object)  # job id, whatever the job passed to progress()
    job_finished = Signal(int, object)  # job id, the job's return value
    job_failed = Signal(int, str)  # job id, message for a person
    # ---- internal -----------------------------------------------------------------------------
    _invoke = Signal(object, tuple, object)  # fn, args, mode (False, True or REPLY): run on the engine thread
    _bg_done = Signal(object, object, object, object)  # callback, result, exception, extra

    def __init__(
        self,
        data: DataDir | None,
        *,
        device: str | None = None,
        force_cpu: bool = False,
        preferred_model: str = "",
        bot_loader: Callable | None = None,
        model_finder: Callable | None = None,
        device_probe: Callable | None = None,
        extra_roots: list[Path] | None = None,
        autoload: bool = True,
    ) -> None:
        qt_fixes.install()  # before the first emit (see qt_fixes)
        QObject.__init__(self)
        self._data = data
        self._device_request = device
        self._force_cpu = force_cpu
        self._preferred = preferred_model
        self._loader = bot_loader or _default_loader
        self._finder = model_finder or _default_finder
        self._probe = device_probe or _default_probe
        self._autoload = autoload
        self._roots = model_roots(data) + [Path(p) for p in extra_roots or []]
        self._thread: QThread | None = None
        self._store = None
        self._history_on = False
        self._device = None  # DeviceInfo-like: .name, .label
        self._device_problem: str | None = None  # the device notice last said
        self._bot = None
        self._loading = False
        self._load_gen = 0
        self._fallback: str | None = None  # the model to load when the chosen one fails at start
        self._after_load: list[tuple] = []
        self._busy = False  # a panel's job (or the shutdown) runs
        self._replying = False  # a chat reply is being written
        self._closing = False
        self._backlog: collections.deque = collections.deque()
        self._held: list[tuple] = []  # requests made before start(): sent once the thread runs
        self._last_pump = 0.0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._jobs: dict[int, CancelToken] = {}
        self._running: dict[int, str] = {}  # started jobs' kinds
        self._kinds: dict[int, str] = {}  # every job not yet ended (started or waiting): its kind
        self._live_runs: dict[int, int] = {}  # job id -> the training run it records (see live_runs)
        self._gen_tokens: set[CancelToken] = set()
        self._live_reply: tuple[int, CancelToken] | None = None  # conversation id, token of the reply
        self._unsaved: dict[int, dict] = {}  # reply id -> its final fields a locked history refused
        self._deleted_here: set[int] = set()  # conversations deleted in this window (not by another program)
        self._outside_seen: tuple = (None, None)  # data_version and conversations mark when last listed
        self._helpers: list[threading.Thread] = []
        self.cache = ModelCache(self._emit_loaded_models)
        self._invoke.connect(self._run_invoke, Qt.ConnectionType.QueuedConnection)
        self._bg_done.connect(self._on_bg_done, Qt.ConnectionType.QueuedConnection)

    @property
    def data(self) -> DataDir | None:
        """The app-data folder this service was given (None: no folder, history in memory)."""
        return self._data

    # =============================================================== lifecycle (GUI thread)
    def start(self) -> None:
        """Move to a new engine thread and begin: open the store, then find and load models."""
        gc_guard.install(QCoreApplication.instance())  # cycles are collected on this (GUI) thread only
        self._thread = QThread()
        self._thread.setObjectName("parlance-engine")
        self.moveToThread(self._thread)
        self._thread.start()
        self._call(self._startup)
        held, self._held = self._held, []
        for request in held:  # submitted while the window was built: after the history opened
            self._invoke.emit(*request)

    def shutdown(
        self, timeout_ms: int = 10000, waiting: Callable[[], Any] | None = None, grace_ms: int = 1500
    ) -> None:
        """Stop generation and jobs, close the store (everything is already committed), end the thread.

        ``waiting``: called once when the thread has not ended after ``grace_ms`` (a job in a step
        that does not see cancel); the GUI's paint events are then served while it is waited for,
        so what ``waiting`` shows ("Finishing the running task…") stays drawn. Without it the
        process lived on for as long as the job took, holding the data folder's lock, with no window."""
        if self._thread is None:
            return
        self._closing = True
        self.stop_reply()
        with self._lock:
            for token in self._jobs.values():
                token.cancel()
        self._invoke.emit(self._close, (), True)
        if waiting is not None and not self._thread.wait(min(grace_ms, timeout_ms)):
            waiting()
            start = time.monotonic()
            warned = False
            while not self._thread.wait(50):
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
                if not warned and (time.monotonic() - start) * 1000 >= timeout_ms:
                    warned = True
                    log.warning(
                        "engine thread did not stop within %d ms; waiting for the current job", timeout_ms
                    )
        elif not self._thread.wait(timeout_ms):
            # A job inside a long C call (e.g. importing torch) cannot be interrupted; destroying a
            # running QThread aborts the process, so wait it out.
            log.warning("engine thread did not stop within %d ms; waiting for the current job", timeout_ms)
            self._thread.wait()
        for helper in list(self._helpers):
            helper.join(timeout=timeout_ms / 1000)
        self._thread = None
        gc_guard.uninstall()

    # ============================================================ generic jobs (any thread)
    quick_jobs = True  # submit(..., quick=True) is served (panels check this; test fakes lack it)

    def submit(self, kind: str, fn: Callable, kwargs: dict | None = None, quick: bool = False) -> int:
        """Run ``fn(**kwargs)`` on the engine thread; returns the job id (see the module docstring).
        ``quick``: a short job that only reads or writes the history (the Train panel's runs list,
        curves, rename, delete): it runs at once, also between the steps of a training run, instead
        of waiting behind it (the runs table stayed stale for the whole run)."""
        job_id = next(self._ids)
        token = CancelToken()
        with self._lock:
            self._jobs[job_id] = token
            self._kinds[job_id] = kind
        self._post(self._run_job, (job_id, kind, fn, dict(kwargs or {}), token), not quick)
        return job_id

    def _note_run(self, job_id: int, info) -> None:
        if isinstance(info, dict) and isinstance(info.get("run_id"), int) and job_id not in self._live_runs:
            with self._lock:
                self._live_runs[job_id] = info["run_id"]

    def live_runs(self) -> set[int]:
        """The ids of the training runs this app is running now (any thread)."""
        with self._lock:
            return set(self._live_runs.values())

    def unfinished_jobs(self) -> list[str]:
        """The kinds of the jobs running or waiting to run (closing the window asks about them)."""
        with self._lock:
            return list(self._kinds.values())

    def running_jobs(self) -> list[str]:
        """The kinds of the jobs running now (any thread)."""
        with self._lock:
            return list(self._running.values())

    def cancel(self, job_id: int) -> None:
        """Ask a job to stop (it sees ``cancel.cancelled``); safe from any thread."""
        with self._lock:
            token = self._jobs.get(job_id)
        if token is not None:
            token.cancel()
            self._call(self._drop_waiting, job_id)

    def pause(self, job_id: int, paused: bool = True) -> None:
        """Pause a job between its steps (a training run: its clock stops too), or let it go on."""
        with self._lock:
            token = self._jobs.get(job_id)
        if token is not None:
            token.pause() if paused else token.resume()

    def _run_job(self, job_id: int, kind: str, fn: Callable, kwargs: dict, token: CancelToken) -> None:
        try:
            if token.cancelled:
                self.job_failed.emit(job_id, f"{kind}: cancelled before it started")
                return
            with self._lock:
                self._running[job_id] = kind
            self.job_started.emit(job_id, kind)
            accepted = accepted_kwargs(fn)
            wants = [a for a in JOB_ARGS if accepted is None or a in accepted]
            if "progress" in wants:
                kwargs["progress"] = lambda info: (
                    self._note_run(job_id, info),
                    self.job_progress.emit(job_id, info),
                    self._pump(),
                )
            if "cancel" in wants:
                token.idle, token.idle_thread = self._pump, threading.current_thread()  # paused: still served
                kwargs["cancel"] = token
            if "store" in wants:
                kwargs["store"] = self._store if self._history_on else None
            if "device" in wants:
                kwargs["device"] = self._ensure_device().name
            if "cache" in wants:
                kwargs["cache"] = self.cache
            result = fn(**kwargs)
        except Exception as exc:  # one error path: a message, never a crash
            if isinstance(exc, ModelLoadError) and exc.expected or isinstance(exc, MissingExtra):
                # a file's fault or a package not installed, said in words: no traceback
                log.warning("job %s (%s) failed: %s", job_id, kind, exc)
            else:
                log.exception("job %s (%s) failed", job_id, kind)
            self.job_failed.emit(job_id, human_message(exc))
        else:
            self.job_finished.emit(job_id, result)
        finally:
            self._forget_job(job_id)

    # ================================================================ engine-thread plumbing
    def _call(self, fn: Callable, *args, heavy: bool = False) -> None:
        self._post(fn, args, heavy)

    def _post(self, fn: Callable, args: tuple, mode) -> None:
        """Queue a request for the engine thread; before start() it is held (it would otherwise run
        on the GUI thread, before the history is open)."""
        if self._thread is None and fn != self._startup:
            self._held.append((fn, args, mode))
        else:
            self._invoke.emit(fn, args, mode)

    def _can_start(self, mode) -> bool:
        if mode == REPLY:  # a reply may be written while a job waits (it is paused meanwhile)
            return not self._replying
        return not (self._busy or self._replying)

    @Slot(object, tuple, object)
    def _run_invoke(self, fn: Callable, args: tuple, mode) -> None:
        """Run ``fn(*args)``. ``mode``: False for a quick request (served at once, also in the middle
        of long work); True for long work (one at a time; the others wait in the backlog); REPLY for
        a chat reply, which is long work too but does not wait for a panel's job: it runs in that
        job's next pause between steps, so a training run of hours does not silence the chat."""
        if self._closing and fn != self._close:
            return
        if not mode:
            self._guarded(fn, args)
            return
        if not self._can_start(mode):
            self._backlog.append((fn, args, mode))
            return
        flag = "_replying" if mode == REPLY else "_busy"
        setattr(self, flag, True)
        try:
            self._guarded(fn, args)
        finally:
            setattr(self, flag, False)
            self._drain()

    def _guarded(self, fn: Callable, args: tuple) -> None:
        try:
            fn(*args)
        except Exception as exc:
            name = getattr(fn, "__name__", fn)
            if isinstance(exc, (NotFoundError, TimeoutError, PermissionError)):
                # expected (a row gone, another program's lock, a read-only file): a line, said in words
                log.warning("engine request %s failed: %s", name, exc)
            else:
                log.exception("engine request %s failed", name)
            self.error.emit(human_message(exc))

    def _drain(self) -> None:
        """Start what waits in the backlog and may start now, in the order it came."""
        i = 0
        while i < len(self._backlog):
            fn, args, mode = self._backlog[i]
            if self._closing and fn != self._close:
                del self._backlog[i]
            elif self._can_start(mode):
                del self._backlog[i]
                self._run_invoke(fn, args, mode)
                i = 0  # what may start has changed
            else:
                i += 1

    def _forget_job(self, job_id: int) -> None:
        """A job has ended (or was dropped before it started): it is no longer tracked."""
        with self._lock:
            for tracked in (self._jobs, self._kinds, self._running, self._live_runs):
                tracked.pop(job_id, None)

    def _drop_waiting(self, job_id: int) -> None:
        """A job cancelled while it waits for another to finish ends now, not when its turn comes."""
        for i, (fn, args, _mode) in enumerate(self._backlog):
            if fn == self._run_job and args[0] == job_id:
                del self._backlog[i]
                self._forget_job(job_id)
                self.job_failed.emit(job_id, f"{args[1]}: cancelled before it started")
                return

    def _pump(self) -> None:
        """Serve queued quick requests in the middle of long work (called between steps)."""
        now = time.monotonic()
        if now - self._last_pump >= PUMP_INTERVAL_S:
            self._last_pump = now
            QCoreApplication.processEvents()

    def _background(self, work: Callable[[], Any], callback: Callable, extra: Any = None) -> None:
        """Run ``work`` on a helper thread; ``callback(result, exc, extra)`` then runs on this thread."""

        def target() -> None:
            try:
                result, err = work(), None
            except BaseException as exc:  # delivered to the engine thread, reported there
                result, err = None, exc
            self._bg_done.emit(callback, result, err, extra)

        helper = threading.Thread(target=target, name="parlance-loader", daemon=True)
        self._helpers = [h for h in self._helpers if h.is_alive()] + [helper]
        helper.start()

    @Slot(object, object, object, object)
    def _on_bg_done(self, callback: Callable, result: Any, exc: BaseException | None, extra: Any) -> None:
        if self._closing:
            return
        try:
            callback(result, exc, extra)
        except Exception as err:
            log.exception("engine callback failed")
            self.error.emit(human_message(err))

    def _close(self) -> None:
        self._backlog.clear()
        if self._store is not None:
            try:
                self._save_unsaved()  # a reply a locked history refused: a last try
            except Exception:
                log.exception("saving the unsaved replies failed")
            try:
                self._store.close()
            except Exception:  # closing must not stop the thread from ending
                log.exception("closing the history store failed")
            self._store = None
        self._bot = None
        QThread.currentThread().quit()

    # ===================================================================== startup / models
    def _startup(self) -> None:
        from engine.history import HistoryStore

        data = self._data
        info = {
            "history": False,
            "data_dir": str(data.path) if data else None,
            "db_path": None,
            "problem": data.problem if data else None,
            "recovered_from": None,
            "read_only": False,
        }
        try:  # a folder whose parent cannot be entered, or a name too long, raises here (3.11)
            exists = data is not None and data.db_path.is_file()
        except OSError:
            exists = False
        read_only = exists and not (data.writable and os.access(data.db_path, os.W_OK))
        if read_only:  # shown from a copy in memory: a read-only folder hid the whole history
            # the folder, not the file, when the folder is what cannot be written (making the file
            # writable would not help)
            what = (
                f"The history database {data.db_path} is read-only"
                if data.writable
                else f"The data folder {data.path} is read-only"
            )
            try:
                self._store = HistoryStore.read_only_copy(data.db_path)
                info.update(
                    read_only=True,
                    problem=f"{what}: your history is shown, but nothing new is saved to it, "
                    "and what you delete or rename stays in the file.",
                )
            except Exception as exc:
                _log_history_failure("reading the read-only history database failed", exc)
                why = human_message(exc).rstrip(". ") + "."
                info["problem"] = (  # said, as for a file that cannot be opened (history was off silently)
                    why[:1].upper() + why[1:]
                    if str(data.db_path) in why
                    else f"The history database {data.db_path} is read-only and could not be read: {why}"
                )
        elif data is not None and data.writable:
            try:
                self._store = HistoryStore(data.db_path)
                self._history_on = True
                info.update(history=True, db_path=str(data.db_path))
            except Exception as exc:
                _log_history_failure("opening the history database failed", exc)
                why = human_message(exc).rstrip(". ") + "."
                why = why[:1].upper() + why[1:]
                info["problem"] = (  # the message may name the file itself: then once is enough
                    why
                    if str(data.db_path) in why
                    else f"The history database {data.db_path} could not be opened: {why}"
                )
        if self._store is None:
            self._store = HistoryStore.open_in_memory()
        if self._store.recovered_from:
            info["recovered_from"] = str(self._store.recovered_from)
        self.ready.emit(info)
        self._emit_conversations()
        if self._autoload:  # torch is imported on a helper thread from here on
            self._discover(self._preferred)

    def _ensure_device(self):
        if self._device is None:  # e.g. a job before the models were looked for
            self._device, problem = self._pick_device(self._device_request, self._force_cpu)
            self.device_changed.emit(self._device.label)
            self._say_device_problem(problem)
        return self._device

    def _pick_device(self, request: str | None, force: bool):
        """(device, problem): a device that cannot be used, asked for by ``--device`` or by
        ``PARLANCE_DEVICE``, gives the CPU and a notice saying so. Any thread (no signals).

        The environment variable's ValueError used to be fatal: no chat model, and every
        abstractive summary and caption job failed, with a message that never named it."""
        try:
            return self._probe(request, force), None
        except ValueError as exc:
            if force:  # the CPU itself: nothing to fall back to
                raise
            reason = getattr(exc, "reason", None) or str(exc)
            env = os.environ.get(ENV_VAR, "").strip()
            if request:
                problem = f"Device {request!r} cannot be used ({reason}). Models run on the CPU instead."
            elif env:
                problem = (
                    f"{ENV_VAR}={env} cannot be used ({reason}); models run on the CPU. "
                    f"Unset {ENV_VAR} or set it to cpu."
                )
            else:
                problem = f"No compute device could be chosen ({reason}). Models run on the CPU instead."
            return self._probe("cpu", True), problem

    def _say_device_problem(self, problem: str | None) -> None:
        """Emit a device notice once (a job and the model search may both find the same one)."""
        if problem and problem != self._device_problem:
            self.error.emit(problem)
        self._device_problem = problem

    def _discover(self, preferred: str = "") -> None:
        self._loading = True
        self.model_loading.emit("")
        roots = list(self._roots)
        request, force = self._device_request, self._force_cpu

        def work():
            device, problem = self._pick_device(request, force)  # a device not here: the CPU, said
            try:
                return device, [Path(p) for p in self._finder(*roots)], problem, None
            except Exception as exc:  # the device is still known and shown
                return device, None, problem, exc

        self._background(work, self._on_discovered, preferred)

    def _on_discovered(self, result, exc, preferred: str) -> None:
        if exc is None:
            self._device, folders, problem, exc = result
            self.device_changed.emit(self._device.label)
            self._say_device_problem(problem)
        if exc is not None:
            # the picker and the status bar said "Looking for models…" / "detecting…" for good
            if self._device is None:
                self.device_changed.emit("unknown")
            self.models_found.emit([])
            log.error("looking for chat models failed", exc_info=exc)
            self._no_model(f"Could not look for chat models: {human_message(exc)}")
            return
        try:
            entries = [chat_ops.model_entry(f, SHIPPED_MODELS) for f in folders]
        except Exception as exc:  # a picker entry must never leave the chat "loading" for good
            log.exception("listing chat models failed")
            self.models_found.emit([])
            self._no_model(f"Could not list the chat models: {human_message(exc)}")
            return
        self.models_found.emit(entries)
        names = [e["folder"] for e in entries]
        default = str(SHIPPED_MODELS / "dialogue")
        folder = next((f for f in (preferred, default) if f and f in names), names[0] if names else None)
        if preferred and preferred not in names and folder is not None:
            self.error.emit(
                f"The chat model {preferred} was not found or is not a chat model folder; "
                f"using {Path(folder).name} instead."
            )
        # if the saved choice no longer loads (damaged since), the shipped model is tried next
        self._fallback = default if folder != default and default in names else None
        if folder is None:
            self._no_model(
                "No chat model found. Train one in the Train panel or with "
                "`python -m engine train dialogue`, then pick it here."
            )
            return
        self._load_model(folder)

    def _load_model(self, folder: str) -> None:
        self._loading = True
        self._load_gen += 1
        self.model_loading.emit(folder)
        device = self._ensure_device().name
        self._background(
            lambda: self._loader(folder, device), self._on_model_loaded, (self._load_gen, folder)
        )

    def _on_model_loaded(self, bot, exc, extra) -> None:
        gen, folder = extra
        if gen != self._load_gen:  # a newer load was asked for meanwhile
            return
        fallback, self._fallback = self._fallback, None
        if exc is not None:
            log.error("loading chat model %s failed: %s", folder, exc)
            why = f"Could not load the chat model {Path(folder).name}: {human_message(exc)}"
            why = why.rstrip(". ") + "."  # "…: missing The shipped model…" ran two sentences together
            if self._bot is not None:  # a failed choice does not cost the model that works
                self.error.emit(f"{why} {self._bot.name} stays loaded.")
                bot, folder = self._bot, str(self._bot.folder)
            elif fallback and fallback != folder:
                self.error.emit(f"{why} The shipped model is loaded instead.")
                self._load_model(fallback)
                return
            else:
                self._no_model(why)
                return
        self._bot = bot
        self._loading = False
        defaults = bot.default_options.to_dict()
        self.model_loaded.emit(
            {
                "folder": str(folder),
                "name": bot.name,
                "card": bot.card,
                "device": getattr(bot, "device_label", ""),
                "defaults": defaults,
                "max_context_chars": bot.max_context_chars,
            }
        )
        self._emit_loaded_models()
        pending, self._after_load = self._after_load, []
        for args in pending:
            self._run_invoke(self._generate, args, REPLY)

    def _no_model(self, message: str) -> None:
        self._loading = False
        self._bot = None
        self.model_failed.emit(message)
        self._emit_loaded_models()
        pending, self._after_load = self._after_load, []
        for *_, token in pending:
            self._release(token)
        if pending:
            self.error.emit("Your message was saved, but there is no reply: " + message)

    def _emit_loaded_models(self) -> None:
        names = ([f"Chat ({self._bot.name})"] if self._bot is not None else []) + self.cache.labels()
        self.loaded_models_changed.emit(names)

    # ------------------------------------------------------------------- public model control
    def load_model(self, folder: str) -> None:
        self._call(self._load_model, str(folder))

    def refresh_models(self) -> None:
        """Search the model folders again (e.g. after training) and reload the current model choice."""
        self._call(lambda: self._discover(self._bot and str(self._bot.folder) or self._preferred))

    @property
    def device_request(self) -> str | None:
        """The device asked for at start (``--device``), None for the automatic choice."""
        return self._device_request

    def set_compute(self, device: str | None, force_cpu: bool) -> None:
        """Change the compute device; the chat model is reloaded on it."""

        def apply() -> None:
            self._device_request, self._force_cpu, self._device = device, force_cpu, None
            self._device_problem = None  # a device still not here is said again
            self.cache.clear()
            self._discover(str(self._bot.folder) if self._bot is not None else self._preferred)

        self._call(apply)
