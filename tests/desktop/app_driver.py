"""Runs the real app offscreen with the scripted bot and sends one message (for test_kill.py).

Usage: python app_driver.py DATA_DIR. Prints "TOKEN n" for every streamed piece, so the test
knows when to kill it. Not a test module itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import fakes  # noqa: E402
from PySide6.QtCore import QObject  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.app import build_parser, create  # noqa: E402

MESSAGE = "please keep talking for a while"


class Driver(QObject):
    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.count = 0

    def loaded(self, _info: dict) -> None:
        self.window.chat._send(MESSAGE)

    def token(self, _bid: int, _piece: str) -> None:
        self.count += 1
        print(f"TOKEN {self.count}", flush=True)


def main() -> None:
    app = QApplication([])
    args = build_parser().parse_args(["--data-dir", sys.argv[1]])
    script = " ".join(f"piece{i}" for i in range(2000))
    window, service = create(
        args,
        bot_loader=fakes.loader(script=script, delay_s=0.02),
        model_finder=fakes.finder("tiny-bot"),
        device_probe=fakes.probe,
    )
    window.show()
    driver = Driver(window)
    service.model_loaded.connect(driver.loaded)
    service.reply_token.connect(driver.token)
    service.start()
    app.exec()


if __name__ == "__main__":
    main()
