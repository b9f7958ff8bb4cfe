"""Start-up timings for ``tests/bench/bench_startup.py`` (enabled by ``PARLANCE_STARTUP_PROBE``).

Prints ``PARLANCE_PROBE <event> <wall-clock seconds>`` lines: window_shown (first pass of the
event loop after ``show()``), history_ready, model_ready (a reply is possible) or model_failed.
With ``PARLANCE_STARTUP_PROBE=reply`` it then sends one message and adds first_token and
reply_done. The app quits after the last event.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

ENV = "PARLANCE_STARTUP_PROBE"  # "1": up to model_ready; "reply": also one reply
MESSAGE = "Hi! How are you today?"


class StartupProbe(QObject):  # a QObject: the service's signals arrive on the GUI thread
    def __init__(self, window, service, app, mode: str) -> None:
        super().__init__(window)
        self.window, self.app, self.mode = window, app, mode
        self._token_seen = False
        service.ready.connect(self._ready)
        service.model_loaded.connect(self._loaded)
        service.model_failed.connect(self._failed)
        service.reply_token.connect(self._token)
        service.reply_finished.connect(self._finished)
        QTimer.singleShot(0, self._shown)

    @staticmethod
    def mark(what: str) -> None:
        print(f"PARLANCE_PROBE {what} {time.time():.4f}", flush=True)

    def _shown(self) -> None:
        self.mark("window_shown")

    def _ready(self, _info) -> None:
        self.mark("history_ready")

    def _loaded(self, _info) -> None:
        self.mark("model_ready")
        if self.mode == "reply":
            self.window.chat._send(MESSAGE)
        else:
            QTimer.singleShot(0, self.app.quit)

    def _failed(self, message: str) -> None:
        self.mark("model_failed")
        print(f"PARLANCE_PROBE_ERROR {message}", flush=True)
        QTimer.singleShot(0, self.app.quit)

    def _token(self, _bid: int, _piece: str) -> None:
        if not self._token_seen:
            self._token_seen = True
            self.mark("first_token")

    def _finished(self, _bid: int, _info) -> None:
        self.mark("reply_done")
        QTimer.singleShot(0, self.app.quit)
