"""`python -m engine chat --db` when its conversation is deleted by another program (the app, or
`history delete`): the terminal chat ended with "error: no conversation with id 1" (bug hunt)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from engine.cli import main
from engine.decoding import DecodeOptions
from engine.history import HistoryStore


class _Bot:
    """ChatBot's interface as chat_cli uses it; ``on_reply(n)`` runs while reply n is written."""

    def __init__(self, on_reply) -> None:
        self.name, self.device_label = "fake", "CPU"
        self.default_options = DecodeOptions()
        self.n = 0
        self.on_reply = on_reply

    def reply(self, turns, opts, on_token=None):
        self.n += 1
        self.on_reply(self.n)
        text = f"reply {self.n}"
        if on_token:
            on_token(text)
        return SimpleNamespace(text=text, latency_ms=1.0, n_tokens=2)


def _chat(monkeypatch, db, lines: str, on_reply) -> int:
    from engine.dialogue import bot as bot_module

    monkeypatch.setattr(bot_module.ChatBot, "load", staticmethod(lambda *a, **k: _Bot(on_reply)))
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    return main(["chat", "--model", "unused", "--db", str(db)])


def _delete_all(db) -> None:
    with HistoryStore(db) as other:  # another program's connection
        for conv in other.list_conversations():
            other.delete_conversation(conv["id"])


def test_a_conversation_deleted_between_messages_goes_on_in_a_new_one(tmp_path, monkeypatch, capsys):
    db = tmp_path / "history.db"
    rc = _chat(monkeypatch, db, "first\nsecond\nthird\n", lambda n: n == 2 and _delete_all(db))
    assert rc == 0
    err = capsys.readouterr().err
    assert "error" not in err and err.count("was deleted from the history") == 1
    with HistoryStore(db) as store:
        (conv,) = store.list_conversations()
        texts = [m["text"] for m in store.messages(conv["id"], attention=False)]
    # reply 2 was being written when the conversation went: the next message starts a new one
    assert texts == ["third", "reply 3"]


def test_a_conversation_deleted_while_no_reply_is_written_goes_on_at_once(tmp_path, monkeypatch, capsys):
    db = tmp_path / "history.db"
    state = {"deleted": False}
    # deleted between "first" and "second" (after reply 1 was saved, before "second" is recorded)
    original = HistoryStore.add_message

    def add_message(self, cid, role, text, *args, **kwargs):
        if text == "second" and not state["deleted"]:
            state["deleted"] = True
            _delete_all(db)
        return original(self, cid, role, text, *args, **kwargs)

    monkeypatch.setattr(HistoryStore, "add_message", add_message)
    assert _chat(monkeypatch, db, "first\nsecond\n", lambda n: None) == 0
    assert "was deleted from the history" in capsys.readouterr().err
    with HistoryStore(db) as store:
        (conv,) = store.list_conversations()
        texts = [m["text"] for m in store.messages(conv["id"], attention=False)]
    assert texts == ["second", "reply 2"]
