"""A big history: a send, reply, rename, delete or undo updates one row of the conversation list
(it listed and rebuilt every conversation each time: ~1 s with 20,000 of them)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from desktop_testkit import WAIT_MS, recorder

from desktop.widgets import conversation_list as cl
from engine import history_export
from engine.history import HistoryStore

NOW = datetime.now(timezone.utc)


def _stamp(days: float) -> str:
    return history_export.iso_utc(NOW - timedelta(days=days))


def _conv(cid: int, days: float, title: str = "", n: int = 2) -> dict:
    stamp = _stamp(days)
    title = title or f"t{cid}"
    return {"id": cid, "title": title, "message_count": n, "updated_at": stamp, "created_at": stamp}


def _ordered(convs) -> list[dict]:
    return sorted(convs, key=lambda c: (c["updated_at"], c["id"]), reverse=True)


def _rows(lst) -> list[tuple]:
    out = []
    for i in range(lst.count()):
        item = lst.item(i)
        if item.data(cl.KIND_ROLE) == "header":
            out.append(("header", item.text()))
        else:
            out.append((item.data(cl.CID_ROLE), item.text(), item.data(cl.SUB_ROLE), item.toolTip()))
    return out


@pytest.fixture
def lists(qtbot):
    made = []

    def make():
        lst = cl.ConversationList()
        qtbot.addWidget(lst)
        made.append(lst)
        return lst

    return make


@pytest.fixture
def created(monkeypatch):
    """How many rows the list makes (QListWidgetItem constructed)."""
    count = [0]
    real = cl.QListWidgetItem

    class Counting(real):
        def __init__(self, *args):
            count[0] += 1
            super().__init__(*args)

    monkeypatch.setattr(cl, "QListWidgetItem", Counting)
    return count


def test_one_update_moves_one_row_and_rebuilds_nothing(lists, created):
    convs = _ordered(_conv(i, days=i * 0.37) for i in range(1, 301))
    lst = lists()
    lst.set_conversations(convs, 5)
    created[0] = 0
    sent = {**next(c for c in convs if c["id"] == 250), "updated_at": _stamp(0), "message_count": 3}
    lst.update_conversation(sent, 250)
    assert created[0] <= 2  # the row (and a header at most); a refresh rebuilt all 300 and their headers
    assert lst.ids()[0] == 250 and lst.current_id() == 250
    reference = lists()
    reference.set_conversations(_ordered([sent, *(c for c in convs if c["id"] != 250)]), 250)
    assert _rows(lst) == _rows(reference)


def test_a_full_refresh_with_the_same_rows_updates_them_in_place(lists, created):
    convs = _ordered(_conv(i, days=i) for i in range(1, 40))
    lst = lists()
    lst.set_conversations(convs, None)
    created[0] = 0
    renamed = [{**c, "title": "renamed"} if c["id"] == 7 else c for c in convs]
    lst.set_conversations(renamed, 7)
    assert created[0] == 0
    assert lst.item_for(7).text() == "renamed" and lst.current_id() == 7


def test_random_updates_and_removals_give_the_rows_a_full_refresh_gives(lists):
    """Grouping by date (Today, Yesterday, Previous 7 days, Earlier, headers added and dropped),
    order and selection match a list rebuilt from scratch after every step."""
    rnd = random.Random(7)
    ages = [0, 0.01, 0.5, 1.2, 1.5, 3, 6.5, 9, 40, 400]
    convs = {i: _conv(i, rnd.choice(ages) + rnd.random() * 0.01) for i in range(1, 30)}
    lst = lists()
    lst.set_conversations(_ordered(convs.values()), None)
    current = None
    for step in range(300):
        op = rnd.random()
        cid = rnd.randint(1, 40)
        current = rnd.choice([None, cid, current])
        if op < 0.3 and cid in convs:
            del convs[cid]
            lst.remove_conversation(cid, current)
        else:  # a send (now), or an undo/rename/import at any age
            days = 0 if op < 0.6 else rnd.choice(ages) + rnd.random() * 0.01
            convs[cid] = _conv(cid, days, title=f"t{cid}-{step}", n=step)
            lst.update_conversation(convs[cid], current)
        reference = lists()
        reference.set_conversations(_ordered(convs.values()), current)
        assert _rows(lst) == _rows(reference), step
        assert lst.ids() == reference.ids() and lst.current_id() == reference.current_id()
        reference.deleteLater()


def _history(folder, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with HistoryStore(folder / "history.db") as s:
        for i in range(n):
            cid = s.create_conversation(f"old chat {i}")
            s.add_message(cid, "user", f"question {i}")


def test_send_rename_delete_undo_list_nothing_and_rebuild_nothing(start_app, send_message, qtbot, tmp_path):
    _history(tmp_path / "data", 60)
    run = start_app(data_dir=tmp_path / "data")
    lst = run.chat.history.conversations
    qtbot.waitUntil(lambda: len(lst.ids()) == 60, timeout=WAIT_MS)
    listed, rebuilt = [], []
    store = run.service._store
    real_list, real_rebuild = store.list_conversations, lst._rebuild
    store.list_conversations = lambda: listed.append(1) or real_list()
    lst._rebuild = lambda convs: rebuilt.append(len(convs)) or real_rebuild(convs)
    changed = recorder(run.service.conversations_changed)

    send_message(run, "a new question")
    qtbot.waitUntil(lambda: len(changed.calls) >= 2, timeout=WAIT_MS)  # the send, the reply's end
    cid = run.chat.cid
    assert lst.ids()[0] == cid and len(lst.ids()) == 61
    assert "2 messages" in lst.item_for(cid).data(cl.SUB_ROLE)
    old = lst.ids()[-1]
    run.service.rename_conversation(old, "renamed old chat")
    qtbot.waitUntil(lambda: lst.ids()[0] == old, timeout=WAIT_MS)  # renamed: updated now, on top
    assert lst.item_for(old).text() == "renamed old chat"
    run.service.delete_conversation(old)
    qtbot.waitUntil(lambda: old not in lst.ids(), timeout=WAIT_MS)
    run.chat.undo_delete()
    qtbot.waitUntil(lambda: old in lst.ids(), timeout=WAIT_MS)
    assert len(lst.ids()) == 61 and lst.ids()[:2] == [old, cid]
    assert [c["id"] for c in run.chat.conversations] == lst.ids()
    assert listed == [] and rebuilt == []  # each listed every conversation and rebuilt every row
    assert all(isinstance(args[0], dict) for args in changed.calls)
