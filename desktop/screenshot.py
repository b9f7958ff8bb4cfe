"""``python main.py --screenshot PATH [--panel chat]``: the real window, offscreen, with a demo.

It runs on a fresh temporary data folder (your own history is never touched), types a few
messages through the normal chat path so the replies come from the real chat model, opens
"Why this reply" on the last one, saves the window as a PNG and exits. Without a chat model the
demo conversation is written with canned replies and the window shows its "no model" state.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.path), "PNG")
        self.rc = 0 if ok else 1
        print(f"screenshot: {self.path}" if ok else f"screenshot: could not write {self.path}")
        QTimer.singleShot(0, self.app.quit)


def run(app, args, **service_kwargs) -> int:
    from desktop.app import create

    tmp = Path(tempfile.mkdtemp(prefix="parlance-shot-"))
    try:
        args.data_dir = str(tmp)
        window, service = create(args, **service_kwargs)
        width, _, height = args.size.partition("x")
        window.resize(int(width), int(height))
        window.show()
        demo = _Demo(app, window, service, Path(args.screenshot).resolve(), args.panel)
        QTimer.singleShot(0, service.start)
        app.exec()
        service.shutdown()
        return demo.rc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
