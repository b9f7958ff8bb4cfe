"""Sending a chat message with a big history: time from Enter until the reply is finished and the
conversation list is updated, and the longest stall of the window's event loop meanwhile.

    QT_QPA_PLATFORM=offscreen python tests/bench/bench_chat_history.py [--runs 3]

Three histories, each written to a fresh data folder by direct SQL: 2,000 and 20,000
conversations of 4 messages, and a short history with one conversation of 100 exchanges whose
replies carry attention matrices shaped like the bot's (~19 MB of JSON in all). The window (with
the tests' scripted chat bot, which replies at once: no model time) sends ``--runs`` messages per
history for the code as it is, and, in the same run, for the peer as it was (the whole list read
and rebuilt for each send and reply's end; every message's attention parsed by each thread read),
put back by patching in the old functions kept below. A 10 ms timer measures the stalls. Medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "desktop"), str(ROOT / "tests")]


def _history(folder: Path, n_conv: int, long_exchanges: int = 0) -> int:
    """Write the history; return the conversation to send in (the long one, or the newest)."""
    from engine.history import HistoryStore

    folder.mkdir(parents=True)
    HistoryStore(folder / "history.db").close()
    conn = sqlite3.connect(folder / "history.db")
    conn.execute("BEGIN")
    now = time.time()
    mid = 0
    for c in range(1, n_conv + 1):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - (n_conv - c) * 3000))
        conn.execute(
            "INSERT INTO conversations(id, title, model, settings, created_at, updated_at)"
            " VALUES (?, ?, 'tiny-bot', '{}', ?, ?)",
            (c, f"Conversation {c} about things", stamp, stamp),
        )
        exchanges = long_exchanges if c == n_conv and long_exchanges else 2
        parent = None
        turns: list[str] = []
        for i in range(exchanges):
            question = f"question {i} about the weather and some **markdown** text"
            answer = "Hello there! I am a **scripted** test bot and this is my reply."
            turns.append(question)
            attention = None
            if long_exchanges:  # as tests/desktop/fakes.FakeBot records it
                context = [" " + w for t in turns for w in t.split()[:12]]
                out = answer.split(" ")
                attention = json.dumps(
                    {
                        "out_tokens": [" " + w for w in out],
                        "context_tokens": context,
                        "word_attention": [
                            [(1.0 + ((a + b) % 3)) / (2.0 * len(context)) for b in range(len(context))]
                            for a in range(len(out))
                        ],
                    }
                )
            turns.append(answer)
            for role, text, att in (("user", question, None), ("bot", answer, attention)):
                mid += 1
                conn.execute(
                    "INSERT INTO messages(id, conversation_id, parent_id, role, text, status, feedback,"
                    " attention, created_at) VALUES (?, ?, ?, ?, ?, 'complete', 0, ?, ?)",
                    (mid, c, parent, role, text, att, stamp),
                )
                parent = mid
    conn.execute("COMMIT")
    conn.close()
    return n_conv


# ------------------------------------------------------------------ the peer: the code as it was
def _old_thread_payload(store, cid, leaf_id=None, focus=None):
    from desktop.chat_ops import DISPLAY_KEYS

    conversation = store.get_conversation(cid)
    everything = store.messages(cid)
    by_parent = defaultdict(list)
    for m in everything:
        by_parent[m["parent_id"]].append(m["id"])
    messages = []
    for m in store.thread(cid, leaf_id):
        sibs = by_parent[m["parent_id"]]
        row = {k: m.get(k) for k in DISPLAY_KEYS}
        row["versions"] = list(sibs)
        row["version"] = sibs.index(m["id"]) + 1
        row["has_attention"] = bool(m.get("attention"))
        row["has_reply"] = bool(by_parent.get(m["id"]))
        messages.append(row)
    leaf = messages[-1]["id"] if messages else None
    return {"conversation": conversation, "messages": messages, "leaf": leaf, "focus": focus}


def _old_set_conversations(self, conversations, current):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QListWidgetItem

    from desktop.widgets.bubble import local_time
    from desktop.widgets.conversation_list import CID_ROLE, KIND_ROLE, SUB_ROLE, date_group

    self._quiet = True
    try:
        self.clear()
        group = None
        for conv in conversations:
            g = date_group(conv.get("updated_at"))
            if g != group:
                header = QListWidgetItem(g)
                header.setData(KIND_ROLE, "header")
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                self.addItem(header)
                group = g
            item = QListWidgetItem(conv.get("title") or "Untitled conversation")
            item.setData(CID_ROLE, int(conv["id"]))
            item.setData(KIND_ROLE, "conversation")
            n = int(conv.get("message_count") or 0)
            short, full = local_time(conv.get("updated_at"))
            item.setData(SUB_ROLE, f"{n} message{'s' if n != 1 else ''} · {short}")
            item.setToolTip(f"{conv.get('title') or 'Untitled'}\nLast change: {full}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.addItem(item)
            if conv["id"] == current:
                self.setCurrentItem(item)
    finally:
        self._quiet = False


def _use_old(service, lst, old: bool) -> None:
    from desktop import chat_ops

    store = service._store
    if old:
        real_thread = type(store).thread
        service._emit_conversation = lambda cid: service._emit_conversations()
        store.thread = lambda cid, leaf_id=None, attention=True: real_thread(store, cid, leaf_id)
        chat_ops.thread_payload = _old_thread_payload
        lst.set_conversations = _old_set_conversations.__get__(lst)
    else:
        for obj, name in ((service, "_emit_conversation"), (store, "thread"), (lst, "set_conversations")):
            obj.__dict__.pop(name, None)
        chat_ops.thread_payload = _NEW_THREAD_PAYLOAD


def _measure(app, window, service, n_sends: int, old: bool) -> list[tuple[float, float]]:
    from desktop_testkit import LatencyProbe, recorder
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    chat = window.chat
    lst = chat.history.conversations

    def wait(cond, timeout=300.0) -> None:
        end = time.perf_counter() + timeout
        while not cond():
            app.processEvents()
            if time.perf_counter() > end:
                raise TimeoutError("no answer")

    _use_old(service, lst, old)
    changed = recorder(service.conversations_changed)
    if not old:  # the list as the new code keeps it (the peer's rebuilds left it stale)
        service.list_conversations()
        wait(lambda: bool(changed.calls))
    figures = []
    finished = recorder(service.reply_finished)
    for i in range(n_sends):
        changed.calls.clear()
        finished.calls.clear()
        probe = LatencyProbe()
        t0 = probe.last = time.perf_counter()
        chat.composer.set_text(f"message {i} about the weather and some **markdown** text")
        QTest.keyClick(chat.composer.edit, Qt.Key.Key_Return)
        wait(lambda: finished.calls and not chat.generating and len(changed.calls) >= 2)
        wall = time.perf_counter() - t0
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:  # stalls just after count too
            app.processEvents()
        probe.timer.stop()
        figures.append((wall, probe.worst))
    _use_old(service, lst, False)
    return figures


def main() -> None:
    global _NEW_THREAD_PAYLOAD
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", default="2000,20000")
    p.add_argument("--exchanges", type=int, default=100)
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import fakes
    from PySide6.QtWidgets import QApplication

    from desktop import chat_ops

    _NEW_THREAD_PAYLOAD = chat_ops.thread_payload
    app = QApplication.instance() or QApplication([])
    cases = [(f"{int(n):,} conversations", int(n), 0) for n in args.sizes.split(",")]
    cases.append((f"{args.exchanges} exchanges in one", 5, args.exchanges))
    root = Path(tempfile.mkdtemp(prefix="parlance-chat-history-"))
    print(f"median of {args.runs} sends; wall from Enter to reply done and list updated / longest stall")
    for k, (label, n_conv, exchanges) in enumerate(cases):
        folder = root / str(k)
        cid = _history(folder, n_conv, exchanges)
        window, service = fakes.open_window(folder)
        chat = window.chat
        end = time.perf_counter() + 300
        while (chat.model_state == "loading" or len(chat.history.conversations.ids()) < n_conv) and (
            time.perf_counter() < end
        ):
            app.processEvents()
        chat.open_conversation(cid)
        while chat.cid != cid or not chat.messages.order:
            app.processEvents()
        line = []
        for name, old in (("new", False), ("old (peer)", True)):
            runs = _measure(app, window, service, args.runs, old)
            wall = statistics.median(r[0] for r in runs) * 1000
            stall = statistics.median(r[1] for r in runs) * 1000
            line.append(f"{name} {wall:,.0f} ms / {stall:,.0f} ms")
        print(f"  {label:<28} " + "   ".join(line), flush=True)
        service.shutdown()
        window.close()
        window.deleteLater()
        app.processEvents()


if __name__ == "__main__":
    main()
