"""Lists and threads of messages read without the attention matrices (a long conversation holds
megabytes of them: every chat send parsed them all several times, only to keep has_attention)."""

from __future__ import annotations

import json

import pytest

from desktop import chat_ops
from engine import history_export
from engine.history import HistoryStore

BIG = {"out_tokens": [" a"], "word_attention": [[0.5] * 50]}


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / "history.db")
    yield s
    s.close()


@pytest.fixture
def parsed(monkeypatch):
    """The JSON texts the store parses (history_export.loads), in order."""
    seen: list[str] = []
    real = history_export.loads

    def loads(value):
        seen.append(value)
        return real(value)

    monkeypatch.setattr(history_export, "loads", loads)
    return seen


def _chat(store) -> tuple[int, list[int]]:
    cid = store.create_conversation("c")
    u1 = store.add_message(cid, "user", "one")
    b1 = store.add_message(cid, "bot", "r1", u1, attention=BIG)
    u2 = store.add_message(cid, "user", "two", b1)
    b2 = store.add_message(cid, "bot", "r2", u2, attention={})
    b3 = store.add_message(cid, "bot", "r3", u2)
    return cid, [u1, b1, u2, b2, b3]


def test_light_messages_say_whether_there_is_attention_as_the_parsed_value_did(store):
    cid, _ = _chat(store)
    full, light = store.messages(cid), store.messages(cid, attention=False)
    assert [m["id"] for m in light] == [m["id"] for m in full]
    for f, m in zip(full, light, strict=True):
        assert "attention" not in m
        assert m["has_attention"] is bool(f["attention"])  # {} and None: none
        assert {k: v for k, v in m.items() if k != "has_attention"} == {
            k: v for k, v in f.items() if k != "attention"
        }
    assert [m["has_attention"] for m in light] == [False, True, False, False, False]


def test_light_thread_is_the_same_path(store):
    cid, (u1, b1, u2, b2, b3) = _chat(store)
    for leaf in (None, b2, b3, u1):
        assert [m["id"] for m in store.thread(cid, leaf, attention=False)] == [
            m["id"] for m in store.thread(cid, leaf)
        ]


def test_thread_payload_parses_no_attention_and_reads_messages_once(store, parsed, monkeypatch):
    cid, (u1, b1, u2, b2, b3) = _chat(store)
    reads = []
    real = store.messages
    monkeypatch.setattr(store, "messages", lambda *a, **k: reads.append(k) or real(*a, **k))
    parsed.clear()
    payload = chat_ops.thread_payload(store, cid, b1)
    assert json.dumps(BIG) not in parsed  # was parsed twice (messages() and thread())
    assert reads == [{"attention": False}]  # was messages() then thread() -> messages() again
    assert [m["id"] for m in payload["messages"]] == [u1, b1, u2, b3]
    assert [m["has_attention"] for m in payload["messages"]] == [False, True, False, False]
    assert payload["messages"][1]["versions"] == [b1] and payload["messages"][3]["versions"] == [b2, b3]
    assert payload["messages"][1]["has_reply"] and not payload["messages"][3]["has_reply"]


def test_writes_to_a_message_parse_no_attention(store, parsed):
    cid, (u1, b1, *_) = _chat(store)
    parsed.clear()
    store.update_message(b1, feedback=1)
    store.add_message(cid, "bot", "another version", u1)
    store.add_message(cid, "user", "below r1", b1)
    assert json.dumps(BIG) not in parsed  # get_message() parsed the whole row for each check


def test_attention_is_still_there_where_it_is_shown_or_exported(store):
    cid, (u1, b1, *_) = _chat(store)
    assert store.get_message(b1)["attention"] == BIG  # the "why this reply" view
    assert json.loads(store.export_conversation(cid, "json"))["messages"][1]["attention"] == BIG
    assert store.messages(cid)[1]["attention"] == BIG
