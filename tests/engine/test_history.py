"""The SQLite history store: round trips, message trees, search, export/import, migrations, crashes,
damaged and locked files. Everything runs on real SQLite files in tmp_path (or in memory)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the repo is not installed; make `engine` importable
    sys.path.insert(0, str(REPO))

from engine import history  # noqa: E402
from engine.history import (  # noqa: E402
    SCHEMA_VERSION,
    HistoryLockedError,
    HistoryStore,
    NotFoundError,
)

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MESSAGE_KEYS = {
    "id",
    "conversation_id",
    "parent_id",
    "role",
    "text",
    "status",
    "model",
    "settings",
    "latency_ms",
    "feedback",
    "attention",
    "created_at",
}


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / "history.db")
    yield s
    s.close()


def texts(messages):
    return [m["text"] for m in messages]


# ------------------------------------------------------------------------------------- conversations
def test_open_sets_wal_schema_and_paths(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(str(path)) as s:
        assert s.path == path and s.recovered_from is None and s.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        HistoryStore(tmp_path / "nope" / "h.db")


def test_conversation_round_trip(store):
    cid = store.create_conversation("Bread", model="hred-small", settings={"temperature": 0.7, "beam": 4})
    conv = store.get_conversation(cid)
    assert conv["title"] == "Bread" and conv["model"] == "hred-small"
    assert conv["settings"] == {"temperature": 0.7, "beam": 4}
    assert conv["message_count"] == 0
    assert STAMP.match(conv["created_at"]) and conv["created_at"] == conv["updated_at"]
    store.rename_conversation(cid, "  Sourdough\nstarter ")
    store.update_conversation_settings(cid, {"temperature": 1.0, "nested": {"a": [1, 2]}})
    conv = store.get_conversation(cid)
    assert conv["title"] == "Sourdough starter"
    assert conv["settings"] == {"temperature": 1.0, "nested": {"a": [1, 2]}}
    assert conv["updated_at"] >= conv["created_at"]
    listed = store.list_conversations()
    assert listed == [conv]
    assert set(listed[0]) == {"id", "title", "model", "settings", "created_at", "updated_at", "message_count"}


def test_list_is_newest_updated_first(store):
    a = store.create_conversation("a")
    b = store.create_conversation("b")
    assert [c["id"] for c in store.list_conversations()] == [b, a]
    time.sleep(0.002)
    store.add_message(a, "user", "hello")
    assert [c["id"] for c in store.list_conversations()] == [a, b]
    assert store.list_conversations()[0]["message_count"] == 1


def test_unknown_ids_raise_not_found(store):
    with pytest.raises(NotFoundError, match="no conversation with id 42"):
        store.get_conversation(42)
    with pytest.raises(ValueError):  # NotFoundError is a ValueError too (one CLI error path)
        store.messages(42)
    with pytest.raises(NotFoundError):
        store.get_message(7)
    with pytest.raises(NotFoundError):
        store.add_message(42, "user", "hi")
    with pytest.raises(NotFoundError):
        store.update_message(7, text="x")


def test_settings_must_be_a_json_dict(store):
    with pytest.raises(ValueError, match="settings must be a dict"):
        store.create_conversation(settings=[1, 2])
    with pytest.raises(ValueError, match="JSON-serialisable"):
        store.create_conversation(settings={"f": object()})
    with pytest.raises(ValueError, match="title must be a string"):
        store.create_conversation(title=None)
    assert store.list_conversations() == []


# ------------------------------------------------------------------------------------------ messages
def test_message_round_trip_and_updates(store):
    cid = store.create_conversation(model="m0")
    u = store.add_message(cid, "user", "What is a GRU?")
    attention = {"rows": [[0.25, 0.75], [1.0, 0.0]], "tokens": ["a", "b"]}
    b = store.add_message(
        cid,
        "bot",
        "",
        u,
        model="m1",
        settings={"beam": 3},
        status="streaming",
        latency_ms=None,
        attention=None,
    )
    msg = store.get_message(b)
    assert set(msg) == MESSAGE_KEYS
    assert (msg["conversation_id"], msg["parent_id"], msg["role"], msg["text"]) == (cid, u, "bot", "")
    assert (msg["status"], msg["model"], msg["settings"], msg["feedback"]) == (
        "streaming",
        "m1",
        {"beam": 3},
        0,
    )
    assert STAMP.match(msg["created_at"])
    store.update_message(b, text="A gated recurrent unit.", status="complete", latency_ms=41.5)
    store.update_message(b, feedback=-1, attention=attention, settings={"beam": 5}, model="m2")
    msg = store.get_message(b)
    assert msg["text"] == "A gated recurrent unit." and msg["status"] == "complete"
    assert msg["latency_ms"] == 41.5 and msg["feedback"] == -1 and msg["attention"] == attention
    assert msg["settings"] == {"beam": 5} and msg["model"] == "m2"
    assert store.get_message(u)["parent_id"] is None and store.get_message(u)["settings"] is None
    assert [m["id"] for m in store.messages(cid)] == [u, b]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("robot", "hi"), {}, "role must be one of"),
        (("user", "   \n\t"), {}, "cannot be empty"),
        (("user", ""), {}, "cannot be empty"),
        (("bot", "x"), {"status": "done"}, "status must be one of"),
        (("bot", "x"), {"latency_ms": float("nan")}, "latency_ms"),
        (("bot", "x"), {"settings": "fast"}, "settings must be a dict"),
    ],
)
def test_add_message_rejects_bad_values(store, args, kwargs, match):
    cid = store.create_conversation()
    with pytest.raises(ValueError, match=match):
        store.add_message(cid, *args, **kwargs)
    assert store.messages(cid) == []
    assert store.get_conversation(cid)["title"] == ""


def test_update_message_rejects_bad_values(store):
    cid = store.create_conversation()
    u = store.add_message(cid, "user", "hi")
    with pytest.raises(ValueError, match="allowed: text, status"):
        store.update_message(u, role="bot")
    with pytest.raises(ValueError, match="feedback"):
        store.update_message(u, feedback=2)
    with pytest.raises(ValueError, match="feedback"):
        store.update_message(u, feedback=True)
    with pytest.raises(ValueError, match="cannot be empty"):
        store.update_message(u, text=" ")
    with pytest.raises(ValueError, match="status"):
        store.update_message(u, status="paused")
    assert store.get_message(u)["text"] == "hi" and store.get_message(u)["feedback"] == 0


def test_parent_must_be_in_the_same_conversation(store):
    a, b = store.create_conversation(), store.create_conversation()
    ua = store.add_message(a, "user", "in a")
    with pytest.raises(ValueError, match="another conversation"):
        store.add_message(b, "bot", "reply", ua)
    with pytest.raises(NotFoundError):
        store.add_message(b, "bot", "reply", 999)
    assert store.messages(b) == []


def test_writes_are_committed_before_returning(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path) as s:
        cid = s.create_conversation("seen")
        mid = s.add_message(cid, "user", "visible to another connection")
        other = sqlite3.connect(path)
        assert other.execute("SELECT text FROM messages WHERE id = ?", (mid,)).fetchone() == (
            "visible to another connection",
        )
        assert other.execute("SELECT title FROM conversations").fetchall() == [("seen",)]
        other.close()


def test_title_comes_from_the_first_user_message(store):
    cid = store.create_conversation()
    store.add_message(cid, "bot", "Welcome! Ask me anything.")
    assert store.get_conversation(cid)["title"] == ""
    long = "How do\nrecurrent   networks remember things across very long sequences without forgetting?"
    u = store.add_message(cid, "user", long)
    title = store.get_conversation(cid)["title"]
    assert "\n" not in title and title.endswith("…") and len(title) <= 61
    assert title.startswith("How do recurrent networks remember things")
    assert long.replace("\n", " ").replace("   ", " ").startswith(title[:-1])
    store.add_message(cid, "user", "Second question", u)
    assert store.get_conversation(cid)["title"] == title
    named = store.create_conversation("Kept")
    store.add_message(named, "user", "not the title")
    assert store.get_conversation(named)["title"] == "Kept"
    short = store.create_conversation()
    store.add_message(short, "user", "  Hi there  ")
    assert store.get_conversation(short)["title"] == "Hi there"


def test_tree_regenerate_and_edit_keep_every_version(store):
    cid = store.create_conversation()
    u1 = store.add_message(cid, "user", "first question")
    b1 = store.add_message(cid, "bot", "answer v1", u1)
    b2 = store.add_message(cid, "bot", "answer v2 (regenerated)", u1)  # regenerate = sibling
    assert [m["id"] for m in store.children(u1, cid)] == [b1, b2]
    assert texts(store.thread(cid)) == ["first question", "answer v2 (regenerated)"]
    u2 = store.add_message(cid, "user", "follow-up", b2)
    b3 = store.add_message(cid, "bot", "follow-up answer", u2)
    u2e = store.add_message(cid, "user", "follow-up, edited", b2)  # edit = sibling with its own branch
    b4 = store.add_message(cid, "bot", "answer to the edit", u2e)
    assert [m["id"] for m in store.thread(cid)] == [u1, b2, u2e, b4]
    assert [m["id"] for m in store.thread(cid, b3)] == [u1, b2, u2, b3]  # the older branch is kept
    assert [m["id"] for m in store.thread(cid, u2)] == [u1, b2, u2, b3]  # continues below a chosen version
    assert [m["id"] for m in store.thread(cid, b1)] == [u1, b1]
    assert [m["id"] for m in store.children(b2, cid)] == [u2, u2e]
    assert [m["id"] for m in store.children(None, cid)] == [u1]
    assert [m["id"] for m in store.messages(cid)] == [u1, b1, b2, u2, b3, u2e, b4]
    u1e = store.add_message(cid, "user", "first question, rephrased")  # editing the first turn: new root
    assert [m["id"] for m in store.children(None, cid)] == [u1, u1e]
    assert [m["id"] for m in store.thread(cid)] == [u1e]
    assert store.get_conversation(cid)["message_count"] == 8
    with pytest.raises(NotFoundError):
        store.thread(cid, 12345)
    assert store.thread(store.create_conversation()) == []


def test_delete_and_restore_is_an_exact_undo(store):
    keep = store.create_conversation("other")
    store.add_message(keep, "user", "unrelated pumpernickel")
    cid = store.create_conversation("to delete", model="m", settings={"t": 1})
    u = store.add_message(cid, "user", "pumpernickel question")
    store.add_message(cid, "bot", "v1", u, attention={"w": [0.5]})
    b2 = store.add_message(cid, "bot", "v2", u, latency_ms=3.0)
    store.update_message(b2, feedback=1)
    before_conv, before_msgs = store.get_conversation(cid), store.messages(cid)
    snapshot = store.delete_conversation(cid)
    json.dumps(snapshot)  # plain data, can be kept anywhere
    with pytest.raises(NotFoundError):
        store.get_conversation(cid)
    assert [c["id"] for c in store.list_conversations()] == [keep]
    assert [h["conversation_id"] for h in store.search("pumpernickel")] == [keep]
    assert store._db.execute(
        "SELECT count(*) FROM messages WHERE conversation_id = ?", (cid,)
    ).fetchone() == (0,)

    assert store.restore_conversation(snapshot) == cid  # same ids: references stay valid
    assert store.get_conversation(cid) == before_conv
    assert store.messages(cid) == before_msgs
    assert sorted(h["conversation_id"] for h in store.search("pumpernickel")) == [keep, cid]

    again = store.restore_conversation(snapshot)  # ids taken now: a copy with new ids, same tree
    assert again != cid
    copy = store.messages(again)
    assert texts(copy) == texts(before_msgs)
    assert [m["id"] for m in copy[1:]] != [m["id"] for m in before_msgs[1:]]
    assert copy[2]["parent_id"] == copy[0]["id"] and copy[2]["feedback"] == 1


# ------------------------------------------------------------------------------------- other results
def test_summaries_captions_forecasts_round_trip(store):
    s1 = store.add_summary("Long text about rivers.", "Rivers flow.", "textrank", {"ratio": 0.2})
    s2 = store.add_summary("Another text.", "Short.", "seq2seq")
    c1 = store.add_caption("dog.jpg", "sha256:ab", "a dog runs on grass", {"beam": 3})
    f1 = store.add_forecast("sales", "lstm", 12, {"interval": [0.1, 0.9]})
    summaries = store.list_summaries()
    assert [s["id"] for s in summaries] == [s2, s1]
    assert summaries[1]["source"] == "Long text about rivers." and summaries[1]["summary"] == "Rivers flow."
    assert summaries[1]["method"] == "textrank" and summaries[1]["meta"] == {"ratio": 0.2}
    assert summaries[0]["meta"] == {} and STAMP.match(summaries[0]["created_at"])
    assert [s["id"] for s in store.list_summaries(limit=1)] == [s2]
    (cap,) = store.list_captions()
    assert (cap["id"], cap["file_name"], cap["file_hash"], cap["caption"]) == (
        c1,
        "dog.jpg",
        "sha256:ab",
        "a dog runs on grass",
    )
    assert cap["meta"] == {"beam": 3}
    (fc,) = store.list_forecasts()
    assert (fc["id"], fc["name"], fc["method"], fc["horizon"], fc["meta"]) == (
        f1,
        "sales",
        "lstm",
        12,
        {"interval": [0.1, 0.9]},
    )
    with pytest.raises(ValueError, match="horizon"):
        store.add_forecast("x", "lstm", 0)
    with pytest.raises(ValueError, match="meta"):
        store.add_caption("x", "h", "c", meta=["not", "a", "dict"])
    with pytest.raises(ValueError, match="summary must be a string"):
        store.add_summary("src", None, "textrank")
    with pytest.raises(ValueError, match="limit"):
        store.list_captions(limit=-1)
    assert len(store.list_summaries()) == 2 and len(store.list_captions()) == 1


def test_training_runs_round_trip(store):
    r1 = store.add_run("dialogue", {"hidden": 32, "cell": "gru"}, "corpus.txt", "cpu")
    r2 = store.add_run("forecast", {"hidden": 8}, "series.csv", "cuda:0", checkpoint="runs/f/ckpt")
    assert [r["id"] for r in store.list_runs()] == [r2, r1]
    run = store.list_runs()[1]
    assert run["config"] == {"hidden": 32, "cell": "gru"} and run["status"] == "running"
    assert run["metrics"] == {} and run["curves"] == {} and run["finished_at"] is None
    store.update_run(r1, metrics={"loss": 1.25}, curves={"train_loss": [3.0, 2.0, 1.25]})
    store.update_run(r1, status="complete", checkpoint="runs/d/best", duration_s=12.5)
    run = store.get_run(r1)
    assert run["status"] == "complete" and STAMP.match(run["finished_at"])
    assert run["metrics"] == {"loss": 1.25} and run["curves"] == {"train_loss": [3.0, 2.0, 1.25]}
    assert run["checkpoint"] == "runs/d/best" and run["duration_s"] == 12.5
    assert store.get_run(r2)["checkpoint"] == "runs/f/ckpt" and store.get_run(r2)["device"] == "cuda:0"
    with pytest.raises(ValueError, match="status must be one of"):
        store.update_run(r2, status="exploded")
    with pytest.raises(ValueError, match="allowed: status"):
        store.update_run(r2, task="other")
    with pytest.raises(NotFoundError):
        store.update_run(999, status="stopped")


# -------------------------------------------------------------------------------------------- search
@pytest.fixture
def filled(store):
    cid = store.create_conversation("Baking chat")
    u = store.add_message(cid, "user", "How long should sourdough proof?")
    store.add_message(cid, "bot", "Sourdough usually needs four to twelve hours.", u)
    store.add_summary(
        "An essay on the history of the café and its coffee.", "Cafés shaped cities.", "textrank"
    )
    store.add_caption("beach.png", "h1", "a dog catching a frisbee on the beach")
    store.add_forecast("monthly frisbee sales", "lstm", 6)
    return store, cid


def test_search_finds_every_kind_with_highlights(filled):
    store, cid = filled
    hits = store.search("sourdough")
    assert [h["kind"] for h in hits] == ["message", "message"]
    assert all(h["conversation_id"] == cid and h["title"] == "Baking chat" for h in hits)
    assert {h["snippet"] for h in hits} == {
        "How long should [sourdough] proof?",
        "[Sourdough] usually needs four to twelve hours.",
    }
    assert set(hits[0]) == {
        "kind",
        "id",
        "conversation_id",
        "title",
        "snippet",
        "snippet_text",
        "matches",
        "created_at",
    }
    (summary,) = store.search("cafe")  # diacritics folded
    assert summary["kind"] == "summary" and summary["conversation_id"] is None
    assert "[Cafés]" in summary["snippet"] or "[café]" in summary["snippet"]
    assert summary["title"].startswith("An essay on the history")
    assert {h["kind"] for h in store.search("frisbee")} == {"caption", "forecast"}
    assert [h["title"] for h in store.search("beach")] == ["beach.png"]
    assert store.search("sourd")[0]["snippet"].count("[") == 1  # the last word is a prefix
    assert store.search("sourdough twelve")[0]["snippet"].count("[") == 2  # all words must occur
    assert store.search("sourdough frisbee") == []
    assert len(store.search("sourdough", limit=1)) == 1


def test_search_ranks_best_match_first(store):
    cid = store.create_conversation()
    weak = store.add_message(cid, "user", "lstm " + " ".join(f"filler{i}" for i in range(40)))
    strong = store.add_message(cid, "user", "lstm lstm lstm cells")
    assert [h["id"] for h in store.search("lstm")] == [strong, weak]


def test_search_index_follows_updates_and_deletes(filled):
    store, cid = filled
    mid = store.search("twelve")[0]["id"]
    store.update_message(mid, text="About eight hours at room temperature.")
    assert store.search("twelve") == []
    assert [h["id"] for h in store.search("eight")] == [mid]
    store.delete_conversation(cid)
    assert store.search("eight") == [] and store.search("sourdough") == []


WEIRD = ["don't", '"a"', "AND(", "*", "NOT", "OR OR", '"', "NEAR(a b)", "text:dog", "^dog", "-dog", "dog*"]
WEIRD += [
    "a AND",
    "(",
    ")",
    "{x y}",
    "'",
    "\x00",
    "dog\x00beach",
    "+",
    ":",
    "ünïcödé",
    "🙂",
    "_",
    "a_b",
    "''",
]


@pytest.mark.parametrize("query", WEIRD)
def test_search_survives_syntax_characters(filled, query):
    store, _ = filled
    assert isinstance(store.search(query), list)


def test_search_weird_queries_still_match_words(filled):
    store, _ = filled
    assert [h["kind"] for h in store.search('"dog')] == ["caption"]
    assert [h["kind"] for h in store.search("dog*")] == ["caption"]
    assert [h["kind"] for h in store.search("(frisbee) beach:")] == ["caption"]
    assert store.search("") == [] and store.search("   \n ") == [] and store.search("* ( ) :") == []
    with pytest.raises(ValueError, match="limit"):
        store.search("dog", limit=0)


def test_search_never_raises_on_arbitrary_text():
    store = HistoryStore.open_in_memory()
    cid = store.create_conversation()
    store.add_message(cid, "user", "The quick brown fox jumps over the lazy dog")

    # Separators as SQLite's tokenizer knows them (its Unicode tables are old, so stay in Latin-1
    # plus common typographic marks): punctuation, symbols, spaces and control characters.
    separators = st.characters(categories=["P", "S", "Zs", "Cc"], max_codepoint=0xFF) | st.sampled_from(
        list("“”‘’—–…«»•")
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.text(), st.text(alphabet=separators, max_size=5))
    def check(query, noise):
        assert isinstance(store.search(query), list)
        # any punctuation around a real word still finds it
        hits = store.search(f"{noise}fox{noise}")
        assert [h["snippet"] for h in hits] == ["The quick brown [fox] jumps over the lazy dog"]

    check()
    store.close()


# --------------------------------------------------------------------------------------- export/import
def _build_tree(store):
    cid = store.create_conversation(model="hred", settings={"temperature": 0.8})
    u1 = store.add_message(cid, "user", "Tell me about *LSTMs*")
    old = store.add_message(cid, "bot", "They have gates.", u1, latency_ms=20.0)
    b2 = store.add_message(
        cid, "bot", "Long short-term memory networks.", u1, model="hred-big", status="stopped"
    )
    store.update_message(old, feedback=-1)
    store.update_message(b2, feedback=1, attention={"rows": [[1.0]]})
    store.add_message(cid, "user", "And GRUs?", b2, settings={"beam": 2})
    return cid, old


def _without_ids(snapshot):
    """Compare trees by position: ids replaced by the index of the message in creation order."""
    index = {m["id"]: i for i, m in enumerate(snapshot["messages"])}
    messages = [
        {**m, "id": index[m["id"]], "parent_id": index.get(m["parent_id"])} for m in snapshot["messages"]
    ]
    conv = {k: v for k, v in snapshot["conversation"].items() if k != "id"}
    return {**snapshot, "conversation": conv, "messages": messages}


def test_export_markdown_is_the_current_thread(store):
    cid, old = _build_tree(store)
    md = store.export_conversation(cid, "md")
    assert md.startswith("# Tell me about *LSTMs*\n")
    assert md.count("### You") == 2 and md.count("### Parlance") == 1
    assert "Long short-term memory networks." in md and "They have gates." not in md
    assert "version 2 of 2" in md and "stopped" in md and "liked" in md and "`hred-big`" in md
    assert "temperature=0.8" in md
    assert md.index("Tell me about") < md.index("Long short-term") < md.index("And GRUs?")


def test_export_json_has_the_whole_tree_and_imports_back(store):
    cid, old = _build_tree(store)
    text = store.export_conversation(cid, "json")
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION and data["format"] == "parlance.conversation"
    assert len(data["messages"]) == 4 and data["conversation"]["settings"] == {"temperature": 0.8}
    by_text = {m["text"]: m for m in data["messages"]}
    assert by_text["They have gates."]["feedback"] == -1 and by_text["And GRUs?"]["settings"] == {"beam": 2}
    new = store.import_conversation(text)
    assert new != cid
    again = json.loads(store.export_conversation(new, "json"))
    assert {m["id"] for m in again["messages"]}.isdisjoint(m["id"] for m in data["messages"])
    assert _without_ids(again) == _without_ids(data)
    assert texts(store.thread(new)) == texts(store.thread(cid))
    assert store.export_conversation(new, "md") == store.export_conversation(cid, "md")
    with pytest.raises(ValueError, match="format must be one of"):
        store.export_conversation(cid, "html")


def test_import_into_another_store_round_trips(tmp_path, store):
    cid, _ = _build_tree(store)
    text = store.export_conversation(cid, "json")
    with HistoryStore(tmp_path / "other.db") as other:
        other.create_conversation("already here")
        new = other.import_conversation(text)
        assert _without_ids(json.loads(other.export_conversation(new, "json"))) == _without_ids(
            json.loads(text)
        )


def test_imported_times_are_stored_in_utc_as_the_store_writes_them(store):
    """A hand-made export's local time with an offset was kept as written, out of order in lists."""
    cid, _ = _build_tree(store)
    data = json.loads(store.export_conversation(cid, "json"))
    data["conversation"]["updated_at"] = "2030-01-01T09:00:00+02:00"
    data["messages"][0]["created_at"] = "2030-01-01 08:00"
    new = store.import_conversation(json.dumps(data))
    assert store.get_conversation(new)["updated_at"] == "2030-01-01T07:00:00.000Z"
    assert store.messages(new)[0]["created_at"] == "2030-01-01T08:00:00.000Z"


def _edit(text, fn):
    data = json.loads(text)
    fn(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(format="something"), "not a Parlance conversation export"),
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "newer Parlance"),
        (lambda d: d.pop("messages"), '"messages" must be a list'),
        (lambda d: d["messages"][1].update(role="wizard"), r"message #1: role must be one of"),
        (lambda d: d["messages"][0].update(text=""), r"message #0: a user message cannot be empty"),
        (lambda d: d["messages"][1].update(parent_id=d["messages"][3]["id"]), "earlier message"),
        (lambda d: d["messages"][2].update(id=d["messages"][1]["id"]), "appears twice"),
        (lambda d: d["messages"][2].update(feedback=5), "feedback"),
        (lambda d: d["conversation"].update(settings="x"), "conversation.settings"),
        (lambda d: d["messages"][1].update(attention="junk"), r"message #1: attention must be a dict"),
        (lambda d: d["messages"][1].update(created_at="yesterday"), r"#1: created_at 'yesterday' is not"),
        (lambda d: d["conversation"].update(updated_at="2026-13-45"), "conversation.updated_at"),
    ],
)
def test_import_rejects_bad_files_clearly_and_writes_nothing(store, mutate, match):
    cid, _ = _build_tree(store)
    text = _edit(store.export_conversation(cid, "json"), mutate)
    with pytest.raises(ValueError, match=match):
        store.import_conversation(text)
    assert len(store.list_conversations()) == 1


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", "null", '"text"', "[" * 100_000 + "]" * 100_000])
def test_import_rejects_non_exports(store, text):
    with pytest.raises(ValueError, match="not a Parlance conversation export"):
        store.import_conversation(text)
    assert store.list_conversations() == []


# ---------------------------------------------------------------------------------------- migrations
def _make_db_at_version(path, version):
    """A file as an older Parlance left it: the first ``version`` migrations, with some data."""
    db = Database(sqlite3.connect(path))
    for v in range(version):
        history.MIGRATIONS[v](db)
        db.execute(f"PRAGMA user_version = {v + 1}")
    if version >= 1:
        db.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('old', 't', 't')")
        db.execute(
            "INSERT INTO messages (conversation_id, role, text, created_at)"
            " VALUES (1, 'user', 'legacy words', 't')"
        )
    db.close()


@pytest.mark.parametrize("version", range(SCHEMA_VERSION + 1))
def test_older_schema_opens_and_upgrades(tmp_path, version):
    path = tmp_path / "old.db"
    _make_db_at_version(path, version)
    with HistoryStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION and s.recovered_from is None
        if version >= 1:
            assert texts(s.messages(1)) == ["legacy words"]
            assert [h["id"] for h in s.search("legacy")] == [1]
        assert s.add_summary("src", "sum", "textrank") and s.add_run("t", {}, "d", "cpu")
        assert s.add_forecast("n", "lstm", 3) and s.add_caption("f", "h", "c")
    with HistoryStore(path) as s:  # reopening a current file changes nothing
        assert s.schema_version == SCHEMA_VERSION and len(s.list_runs()) == 1


def test_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "h.db"
    HistoryStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"newer Parlance \(schema \d+; this version knows up to \d+\)"):
        HistoryStore(path)
    assert path.read_bytes() == before  # not modified, not moved aside
    assert not [p for p in tmp_path.iterdir() if "corrupt" in p.name]


def test_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not a Parlance history"):
        HistoryStore(path)
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------ crashes, damage, locks
WRITER = """
import sys
sys.path.insert(0, sys.argv[1])
from engine.history import HistoryStore
store = HistoryStore(sys.argv[2])
cid = store.create_conversation("crash test")
parent = None
for i in range(1_000_000):
    parent = store.add_message(cid, "user" if i % 2 == 0 else "bot", f"line {i} " + "x" * (i % 97), parent)
    print(i, parent, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_stream_loses_no_committed_message(tmp_path):
    path = tmp_path / "h.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(REPO), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed: dict[int, str] = {}
    try:
        while len(printed) < 300:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read()}"
            i, mid = map(int, line.split())
            printed[mid] = f"line {i} " + "x" * (i % 97)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    for line in rest.splitlines(keepends=True):  # printed before the kill, read after it
        if line.endswith("\n"):
            i, mid = map(int, line.split())
            printed[mid] = f"line {i} " + "x" * (i % 97)
    with HistoryStore(path) as s:
        assert s.recovered_from is None
        assert s._db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for mid, text in printed.items():
            assert s.get_message(mid)["text"] == text
        thread = s.thread(s.list_conversations()[0]["id"])
        assert len(thread) >= len(printed) and thread[0]["text"] == "line 0 "


def _assert_recovered(s, path, original: bytes):
    assert s.recovered_from is not None and s.recovered_from.exists()
    assert re.fullmatch(r"h\.db\.corrupt-\d{8}T\d{6}\.\d{3}Z", s.recovered_from.name)
    assert s.recovered_from.read_bytes() == original
    cid = s.create_conversation()
    s.add_message(cid, "user", "fresh start")
    assert [h["snippet"] for h in s.search("fresh")] == ["[fresh] start"]
    assert s.schema_version == SCHEMA_VERSION and s.path == path


def test_garbage_file_is_moved_aside_and_a_fresh_db_created(tmp_path):
    path = tmp_path / "h.db"
    garbage = bytes(range(256)) * 40
    path.write_bytes(garbage)
    Path(f"{path}-wal").write_bytes(b"stale wal")
    with HistoryStore(path) as s:
        _assert_recovered(s, path, garbage)
        assert Path(f"{s.recovered_from}-wal").read_bytes() == b"stale wal"


def test_truncated_db_is_moved_aside_and_a_fresh_db_created(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path) as s:
        cid = s.create_conversation()
        for i in range(40):
            s.add_message(cid, "user", f"message number {i} " * 100)
    data = path.read_bytes()
    truncated = data[: len(data) // 2 + 100]
    path.write_bytes(truncated)
    with HistoryStore(path) as s:
        _assert_recovered(s, path, truncated)
        assert s.list_conversations()[0]["message_count"] == 1
    with HistoryStore(path) as s:  # the fresh file is healthy: no second recovery
        assert s.recovered_from is None


def test_locked_database_gives_a_clear_error_after_the_timeout(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path, busy_timeout_s=0.2) as s:
        cid = s.create_conversation()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        start = time.monotonic()
        with pytest.raises(HistoryLockedError, match="locked by another program"):
            s.add_message(cid, "user", "blocked")
        assert 0.15 < time.monotonic() - start < 3
        assert s.get_conversation(cid)["message_count"] == 0  # reads still work
        other.execute("ROLLBACK")
        s.add_message(cid, "user", "now it works")
        assert s.get_conversation(cid)["message_count"] == 1
        other.close()


def test_opening_an_up_to_date_file_needs_no_write_lock(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path) as s:
        s.add_summary("some source", "a summary", "textrank")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program is writing
    try:
        with HistoryStore(path, busy_timeout_s=0.2) as s:
            assert [h["kind"] for h in s.search("summary")] == ["summary"]
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_database_locked_at_open_is_an_error_not_damage(tmp_path):
    path = tmp_path / "h.db"
    HistoryStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryLockedError):
            HistoryStore(path, busy_timeout_s=0.2)
    finally:
        other.execute("COMMIT")
        other.close()
    assert sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name) == []
    with HistoryStore(path) as s:
        assert s.recovered_from is None


def test_in_memory_store():
    s = HistoryStore.open_in_memory()
    cid = s.create_conversation()
    s.add_message(cid, "user", "memory only")
    assert s.recovered_from is None and s.schema_version == SCHEMA_VERSION
    assert [h["snippet"] for h in s.search("memory")] == ["[memory] only"]
    s.close()


def test_a_text_file_given_as_the_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "notes.md"
    text = "# My notes\n\nNothing to do with Parlance. Ünïcode too.\n" * 20
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="text file, not a Parlance history"):
        HistoryStore(path, named_by_user=True)  # a CLI's --db
    assert path.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]
    with HistoryStore(path) as s:  # the app's own file holding text: damaged, moved aside
        assert s.recovered_from is not None and s.recovered_from.read_text(encoding="utf-8") == text


def test_search_limit_beyond_sqlite_integers_is_refused(store):
    with pytest.raises(ValueError, match="positive integer"):
        store.search("ferry", limit=10**20)
    assert store.search("ferry", limit=2**62) == []


def test_search_matches_are_positions_so_brackets_in_the_text_stay_text(tmp_path):
    """Matches were marked with [ ] inside the snippet, so "footnote [1]" and "a[i]" showed as
    highlights and their brackets vanished in the desktop (bug hunt)."""
    s = HistoryStore(tmp_path / "h.db")
    cid = s.create_conversation()
    s.add_message(cid, "user", "see footnote [1] and the array a[i] then apple")
    (hit,) = s.search("apple")
    assert hit["snippet_text"] == "see footnote [1] and the array a[i] then apple"
    assert [hit["snippet_text"][a:b] for a, b in hit["matches"]] == ["apple"]


def test_undoing_the_delete_of_a_chat_whose_reply_was_being_written_puts_it_back_stopped(tmp_path):
    s = HistoryStore(tmp_path / "h.db")
    cid = s.create_conversation()
    uid = s.add_message(cid, "user", "hello")
    bid = s.add_message(cid, "bot", "half a rep", uid, status="streaming")
    new = s.restore_conversation(s.delete_conversation(cid))
    assert {m["id"]: m["status"] for m in s.messages(new)}[bid] == "stopped"


def test_odd_numbers_in_an_import_or_an_id_are_clear_errors(tmp_path):
    """A 400-digit latency or one past 2**63 raised OverflowError from an import; an id past 2**63
    raised it from export; settings.decoding that is not an object imported and then broke the
    desktop's chat view (bug hunt)."""
    import json

    s = HistoryStore(tmp_path / "h.db")
    cid = s.create_conversation()
    s.add_message(cid, "user", "hello")
    snap = json.loads(s.export_conversation(cid, "json"))
    for latency in (2**63, 10**400):
        snap["messages"][0]["latency_ms"] = latency
        with pytest.raises(ValueError, match="latency_ms must be a finite number"):
            s.import_conversation(json.dumps(snap))
    snap["messages"][0]["latency_ms"] = None
    snap["conversation"]["settings"] = {"decoding": "beam"}
    with pytest.raises(ValueError, match="settings.decoding must be a dict"):
        s.import_conversation(json.dumps(snap))
    with pytest.raises(NotFoundError):
        s.export_conversation(99999999999999999999)


def test_an_imported_title_is_one_line(tmp_path):
    import json

    s = HistoryStore(tmp_path / "h.db")
    cid = s.create_conversation("plain")
    s.add_message(cid, "user", "hello")
    snap = json.loads(s.export_conversation(cid, "json"))
    snap["conversation"]["title"] = "line one\n\n# injected heading\t" + "x" * 5000
    new = s.import_conversation(json.dumps(snap))
    title = s.get_conversation(new)["title"]
    assert "\n" not in title and title.startswith("line one # injected heading x") and len(title) <= 300


def test_search_finds_words_inside_chinese_and_japanese_text_and_emoji(store):
    """Bug hunt: the word index saw "東京の天気はどうですか" as one word, so 天気 found nothing, and
    an emoji query was dropped as punctuation."""
    cid = store.create_conversation()
    store.add_message(cid, "user", "東京の天気はどうですか 今日", None)
    store.add_message(cid, "user", "I am happy 🙂 today, 50% off_sale", None)
    (hit,) = store.search("天気")
    assert hit["snippet_text"] == "東京の天気はどうですか 今日" and hit["matches"] == [[3, 5]]
    assert hit["conversation_id"] == cid and hit["kind"] == "message"
    assert [h["snippet_text"] for h in store.search("🙂")] == ["I am happy 🙂 today, 50% off_sale"]
    assert len(store.search("東京 今日")) == 1 and store.search("天気 🙂") == []
    assert store.search("今日 %") == [] and store.search("今日 _") == []  # LIKE wildcards are text


def test_substring_matches_are_placed_in_the_text_as_written_and_merged(store):
    cid = store.create_conversation()
    store.add_message(cid, "user", "İstanbul'da 東京都 hello", None)
    (hit,) = store.search("東京")
    assert hit["snippet_text"][slice(*hit["matches"][0])] == "東京"
    (hit,) = store.search("東京 京都")
    assert hit["matches"] == [[12, 15]] and hit["snippet"].count("[") == 1


def test_a_read_only_copy_holds_everything_and_never_changes_the_file(tmp_path):
    """A read-only history file or folder showed no history at all (the app opened an empty one)."""
    path = tmp_path / "h.db"
    with HistoryStore(path) as s:
        cid = s.create_conversation()
        s.add_message(cid, "user", "walrus migration")
        s.add_summary("The walrus swam north.", "The walrus swam north.", "textrank", {})
    before = path.read_bytes()
    with HistoryStore.read_only_copy(path) as copy:
        assert [c["id"] for c in copy.list_conversations()] == [cid]
        assert {hit["kind"] for hit in copy.search("walrus")} == {"message", "summary"}
        copy.add_message(cid, "user", "only in memory")
        assert copy.get_conversation(cid)["message_count"] == 2
    assert path.read_bytes() == before
    with HistoryStore(path) as s:
        assert s.get_conversation(cid)["message_count"] == 1


def test_save_or_note_keeps_the_result_when_the_history_is_locked(tmp_path):
    from engine.history import save_or_note

    path = tmp_path / "h.db"
    with HistoryStore(path, busy_timeout_s=0.2) as s:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        saved, note = save_or_note(lambda: s.add_summary("a b.", "a b.", "textrank", {}), "summary")
        assert saved is None and note.startswith("This summary is not saved to history: ")
        assert "locked by another program" in note
        other.execute("ROLLBACK")
        other.close()
        saved, note = save_or_note(lambda: s.add_summary("a b.", "a b.", "textrank", {}), "summary")
        assert isinstance(saved, int) and note is None


def test_summaries_captions_and_forecasts_can_be_deleted_and_restored(tmp_path):
    """Only whole chats could be deleted: a pasted private article stayed for good."""
    path = tmp_path / "h.db"
    with HistoryStore(path) as s:
        sid = s.add_summary("A private article about quokkas.", "Quokkas.", "textrank", {})
        keep = s.add_caption("dog.png", "0" * 64, "a quokka and a dog", {})
        snapshot = s.delete_result("summary", sid)
        assert [h["id"] for h in s.search("quokkas")] == [] and s.search("quokka")[0]["id"] == keep
        with pytest.raises(NotFoundError):
            s.get_summary(sid)
        with pytest.raises(NotFoundError):
            s.delete_result("summary", sid)
        with pytest.raises(ValueError, match="known: summary, caption, forecast"):
            s.delete_result("message", 1)
        assert s.restore_result(snapshot) == sid
        assert s.get_summary(sid)["summary"] == "Quokkas." and s.search("quokkas")[0]["kind"] == "summary"
        s.delete_result("summary", sid)
        cid = s.create_conversation()
        s.add_message(cid, "user", "my secret zanzibarian password")
        s.delete_conversation(cid)
    data = path.read_bytes() + (Path(f"{path}-wal").read_bytes() if Path(f"{path}-wal").exists() else b"")
    for word in (b"private", b"article", b"quokkas", b"zanzibarian"):  # text, index, -wal: all gone
        assert word not in data.lower(), word


def test_a_summary_is_found_by_its_file_and_a_video_by_its_scenes(tmp_path):
    with HistoryStore(tmp_path / "h.db") as s:
        s.add_summary("Fish swim.", "Fish swim.", "textrank", {"origin": "zebrafish_article.txt"})
        scenes = [{"caption": "children climbing a wall"}, {"caption": "a dog runs"}]
        s.add_caption("clip.mp4", "0" * 64, "a person outside", {"scenes": scenes})
        assert [h["kind"] for h in s.search("zebrafish")] == ["summary"]
        assert [h["kind"] for h in s.search("climbing")] == ["caption"]


def test_an_older_history_file_indexes_origins_and_scenes_when_upgraded(tmp_path):
    path = tmp_path / "h.db"
    _make_db_at_version(path, 3)
    db = Database(sqlite3.connect(path))
    origin, scenes = '{"origin": "zebrafish.txt"}', '{"scenes": [{"caption": "children climbing"}]}'
    odd = {"file_name": "o.mp4", "file_hash": "0", "caption": "c", "meta": '{"scenes": ["junk"]}'}
    odd["created_at"] = "t"
    db["captions"].insert(odd)  # a scene that is not an object must not stop the others' backfill
    db["summaries"].insert({"source": "x", "summary": "x", "method": "t", "meta": origin, "created_at": "t"})
    row = {"file_name": "c.mp4", "file_hash": "0", "caption": "c", "meta": scenes, "created_at": "t"}
    db["captions"].insert(row)
    db.conn.commit()
    db.close()
    with HistoryStore(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert [h["kind"] for h in s.search("zebrafish")] == ["summary"]
        assert [h["kind"] for h in s.search("climbing")] == ["caption"]


def test_each_kind_gets_its_turn_in_search_and_kinds_can_be_chosen(tmp_path):
    """Ranks of different indexes were mixed: short captions crowded out every summary."""
    with HistoryStore(tmp_path / "h.db") as s:
        for i in range(6):
            s.add_caption(f"{i}.png", "0" * 64, "weekend", {})
        s.add_summary("A long article. " * 40 + "It rained all weekend.", "It rained all weekend.", "t", {})
        hits = s.search("weekend", limit=3)
        assert [h["kind"] for h in hits] == ["summary", "caption", "caption"]
        assert {h["kind"] for h in s.search("weekend", kinds=["caption"])} == {"caption"}
        with pytest.raises(ValueError, match="known: message"):
            s.search("weekend", kinds=["picture"])
        assert len(s.search("weekend " * 64)) == 7  # a repeated word is searched once


def test_a_repeated_word_is_searched_once():
    from engine.history import fts_query

    assert fts_query("cat cat dog cat") == '"cat" "dog"*'
    assert fts_query("Café cafe CAFÉ, walrus WALRUS") == '"Café" "walrus"*'  # as the index folds them
