"""Opening a long conversation in the desktop chat: time until it is on screen, and the longest
stall of the window's event loop meanwhile.

    QT_QPA_PLATFORM=offscreen python tests/bench/bench_long_chat.py [--messages 600] [--runs 3]

A history with one conversation of ``--messages`` messages (and a short one) is written to a
fresh data folder; the window (with the tests' scripted chat model, so no model load is timed)
opens the short conversation, then the long one, then the short one again, ``--runs`` times.
Measured for the app as it is (the newest ``message_list.PAGE`` messages drawn) and, in the same
run, for the peer that draws every message at once (``PAGE`` set above the message count). A
10 ms timer measures the stalls. The medians are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "desktop"), str(ROOT / "tests")]


def _history(folder: Path, n: int) -> tuple[int, int]:
    from engine.history import HistoryStore

    with HistoryStore(folder / "history.db") as s:
        long = s.create_conversation("long")
        parent = None
        for i in range(n // 2):
            u = s.add_message(long, "user", f"question number {i} about **markdown** and `code`", parent)
            parent = s.add_message(long, "bot", f"Answer {i}. " + "Some words here. " * 8, u)
        short = s.create_conversation("short")
        s.add_message(short, "user", "hi")
    return long, short


def _measure(app, window, long: int, short: int, n: int) -> tuple[float, float]:
    from desktop_testkit import LatencyProbe

    chat = window.chat

    def wait(cond, timeout=120.0) -> None:
        end = time.perf_counter() + timeout
        while not cond():
            app.processEvents()
            if time.perf_counter() > end:
                raise TimeoutError("the conversation did not open")

    chat.open_conversation(short)
    wait(lambda: len(chat.messages.order) == 1)
    probe = LatencyProbe()
    t0 = probe.last = time.perf_counter()
    chat.open_conversation(long)
    wait(lambda: len(chat.messages.order) == n and all(r.isVisible() for r in chat.messages.rows.values()))
    opened = time.perf_counter() - t0
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:  # stalls just after it shows count too
        app.processEvents()
    probe.timer.stop()
    return opened, probe.worst


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=600)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import fakes
    from PySide6.QtWidgets import QApplication

    from desktop.widgets import message_list

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="parlance-long-chat-"))
    long, short = _history(folder, args.messages)
    window, service = fakes.open_window(folder)
    page = message_list.PAGE
    figures: dict[str, list[tuple[float, float]]] = {"paged": [], "all at once (peer)": []}
    for _ in range(args.runs):
        for name, size in (("paged", page), ("all at once (peer)", 10**9)):
            message_list.PAGE = size
            figures[name].append(_measure(app, window, long, short, args.messages))
    message_list.PAGE = page
    service.shutdown()
    print(f"{args.messages} messages, median of {args.runs} runs:")
    for name, runs in figures.items():
        opened = statistics.median(r[0] for r in runs)
        stall = statistics.median(r[1] for r in runs)
        print(f"  {name:<20} open {opened:.2f} s, longest stall {stall:.2f} s")


if __name__ == "__main__":
    main()
