"""``python main.py --screenshot PATH [--panel chat]``: the real window, offscreen, with a demo.

It runs on a fresh temporary data folder (your own history is never touched), types a few
messages through the normal chat path so the replies come from the real chat model, opens
"Why this reply" on the last one, saves the window as a PNG and exits. Without a chat model the
demo conversation is written with canned replies and the window shows its "no model" state.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from engine.paths import pid_alive

DEMO_TURNS = (
    "Hi! How are you today?",
    "Do you have any plans for the weekend?",
    "That sounds nice. Can you recommend a good film?",
)
OLDER = (
    "What should I cook tonight?",
    "Help me plan a trip to the coast",
    "Why is the sky blue?",
    "Ideas for a birthday present",
)
CANNED = (
    "I'm fine, thanks. How about you?",
    "Not really, I might stay home and read.",
    "I liked *The Secret Life of Walter Mitty*.",
)
TIMEOUT_MS = 90000


def _seed_older(store=None) -> None:
    if store is None:
        return
    for title in OLDER:
        cid = store.create_conversation(title=title)
        uid = store.add_message(cid, "user", title)
        store.add_message(cid, "bot", "(demo history entry)", uid, status="complete")


def _seed_canned(store=None) -> int | None:
    if store is None:
        return None
    cid = store.create_conversation()
    parent = None
    for user, bot in zip(DEMO_TURNS, CANNED):
        parent = store.add_message(cid, "user", user, parent)
        parent = store.add_message(cid, "bot", bot, parent)
    return cid


class _Demo(QObject):
    def __init__(self, app, window, service, path: Path, panel: str | None) -> None:
        super().__init__()
        self.app, self.window, self.service, self.path, self.panel = app, window, service, path, panel
        self.turn = 0
        self.model: bool | None = None
        self.rc = 1
        service.model_loaded.connect(self._model_loaded)
        service.model_failed.connect(self._model_failed)
        service.job_finished.connect(self._job_done)
        service.generating_changed.connect(self._generating)
        service.attention_loaded.connect(self._attention)
        self._older_job = self._canned_job = None
        QTimer.singleShot(TIMEOUT_MS, self.grab)

    def _model_loaded(self, _info: dict) -> None:
        self._model(True)

    def _model_failed(self, _message: str) -> None:
        self._model(False)

    def _attention(self, _mid: int, _record) -> None:
        QTimer.singleShot(600, self.grab)

    def _model(self, ok: bool) -> None:
        if self.model is None:
            self.model = ok
            self._older_job = self.service.submit("demo", _seed_older)

    def _job_done(self, job_id: int, result) -> None:
        if job_id == self._older_job:
            self.service.list_conversations()
            if self.model:
                self.window.chat.new_chat()
                self._next_turn()
            else:
                self._canned_job = self.service.submit("demo", _seed_canned)
        elif job_id == self._canned_job and result is not None:
            self.service.list_conversations()
            self.window.chat.open_conversation(result)
            QTimer.singleShot(800, self.grab)

    def _next_turn(self) -> None:
        if self.turn < len(DEMO_TURNS):
            self.window.chat._send(DEMO_TURNS[self.turn])
            self.turn += 1
        else:
            QTimer.singleShot(300, self._explain)

    def _generating(self, on: bool) -> None:
        if not on and self.model and self.turn > 0:
            QTimer.singleShot(200, self._next_turn)

    def _explain(self) -> None:
        rows = self.window.chat.messages.rows
        bots = [mid for mid in self.window.chat.messages.order if rows[mid].role == "bot"]
        if not bots:
            self.grab()
            return
        rows[bots[-1]].action.emit("select", bots[-1], None)

    def grab(self) -> None:
        if self.rc == 0:
            return
        try:
            self._save()
        finally:  # whatever went wrong, the command ends (an error raised in this slot hung it)
            QTimer.singleShot(0, self.app.quit)

    def _save(self) -> None:
        if self.panel and self.panel != "chat":
            self.window.select_panel(self.panel)
            # a panel may fill itself with sample content for the picture (synchronous, saves nothing)
            module = sys.modules.get(f"desktop.views.{self.panel}")
            demo = getattr(module, "demo", None)
            if callable(demo):
                try:
                    demo(self.window.panels[self.panel])
                except Exception as exc:  # (a missing shipped model): the panel as it is, and why
                    print(f"screenshot: the {self.panel} panel's demo content failed: {exc}", file=sys.stderr)
        self.app.processEvents()
        why = ""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ok = self.window.grab().save(str(self.path), "PNG")
        except OSError as exc:  # a folder that cannot be made (no rights, a file in the way)
            ok, why = False, f" ({exc.strerror or exc})"
        self.rc = 0 if ok else 1
        if ok:
            print(f"screenshot: {self.path}")
        else:
            print(f"screenshot: could not write {self.path}{why}", file=sys.stderr)


# Every temporary folder of a --screenshot run is under one "<TMP_PREFIX><pid>-…" folder: a killed
# run left parlance-shot-* and parlance-caption-demo-* folders in /tmp for good.
TMP_PREFIX = "parlance-shot-"
OLD_PREFIXES = ("parlance-shot-", "parlance-caption-demo-")  # names without a pid (earlier versions)
STALE_AFTER_S = 3600  # such a folder older than this is an earlier run's


def _stale(path: Path) -> bool:
    """A folder an earlier run left: its process is gone (or, without a pid in its name, old)."""
    head = path.name.removeprefix(TMP_PREFIX).split("-", 1)
    if path.name.startswith(TMP_PREFIX) and len(head) == 2 and head[0].isdigit():
        return not pid_alive(int(head[0]))
    try:
        return time.time() - path.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def remove_stale(root: str | Path | None = None) -> list[Path]:
    """Remove this user's temporary folders left by killed --screenshot runs; returns them."""
    root = Path(root or tempfile.gettempdir())
    gone = []
    for prefix in OLD_PREFIXES:
        for path in root.glob(prefix + "*"):
            try:
                mine = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
            except (OSError, AttributeError):  # (no getuid on Windows)
                mine = False
            if mine and _stale(path):
                shutil.rmtree(path, ignore_errors=True)
                gone.append(path)
    return gone


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A fresh data folder for the run, under one folder that also takes this process's other
    temporary files (the caption demo's pictures) and goes at the end; stale ones go first."""
    with contextlib.suppress(OSError):
        remove_stale()
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    (tmp / "data").mkdir()
    (tmp / "tmp").mkdir()
    before, tempfile.tempdir = tempfile.tempdir, str(tmp / "tmp")
    try:
        yield tmp / "data"
    finally:
        tempfile.tempdir = before
        shutil.rmtree(tmp, ignore_errors=True)


def run(app, args, **service_kwargs) -> int:
    from desktop.app import create

    with scratch() as data:
        args.data_dir = str(data)
        window, service = create(args, **service_kwargs)
        width, _, height = args.size.partition("x")
        window.resize(int(width), int(height))
        window.show()
        demo = _Demo(app, window, service, Path(args.screenshot).resolve(), args.panel)
        QTimer.singleShot(0, service.start)
        app.exec()
        service.shutdown()
        return demo.rc
