"""``python -m engine history …`` run in-process through engine.cli.main."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the repo is not installed; make `engine` importable
    sys.path.insert(0, str(REPO))

from engine import cli  # noqa: E402
from engine.history import HistoryStore  # noqa: E402


@pytest.fixture(autouse=True)
def only_history(monkeypatch):
    """Build the parser from the history command alone, so other commands' state cannot break it."""
    monkeypatch.setattr(cli, "COMMANDS", {"history": "engine.history_cli"})
    monkeypatch.setattr(cli, "TRAIN", {})
    monkeypatch.setattr(cli, "EVAL", {})


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "history.db"
    with HistoryStore(path) as s:
        cid = s.create_conversation(model="hred")
        u = s.add_message(cid, "user", "Which cell has a forget gate?")
        s.add_message(cid, "bot", "The LSTM cell has a forget gate.", u)
        s.add_caption("cat.jpg", "h", "a cat next to a gate")
        s.create_conversation("Empty one")
    return path, cid


def test_list_text_and_json(db, capsys):
    path, cid = db
    assert cli.main(["history", "--db", str(path), "list"]) == 0
    out = capsys.readouterr().out
    assert "Which cell has a forget gate?" in out and "Empty one" in out
    assert cli.main(["history", "--db", str(path), "--json", "list"]) == 0
    convs = json.loads(capsys.readouterr().out)
    assert [c["title"] for c in convs] == ["Empty one", "Which cell has a forget gate?"]
    assert convs[1]["id"] == cid and convs[1]["message_count"] == 2


def test_search_text_and_json(db, capsys):
    path, cid = db
    assert cli.main(["history", "--db", str(path), "search", "forget gate"]) == 0
    out = capsys.readouterr().out
    assert f"in conversation {cid}" in out and "[forget] [gate]" in out
    assert cli.main(["history", "--db", str(path), "search", "gate", "--limit", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and all("[gate]" in h["snippet"] for h in hits)
    assert cli.main(["history", "--db", str(path), "--json", "search", 'AND( "*']) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli.main(["history", "--db", str(path), "search", "zebra"]) == 0
    assert "no matches" in capsys.readouterr().out


def test_export_md_to_stdout_and_json_to_file(db, capsys, tmp_path):
    path, cid = db
    assert cli.main(["history", "--db", str(path), "export", str(cid), "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Which cell has a forget gate?") and "The LSTM cell has a forget gate." in md
    out = tmp_path / "conv.json"
    args = ["history", "--db", str(path), "export", str(cid), "--format", "json", "--out", str(out), "--json"]
    assert cli.main(args) == 0
    assert json.loads(capsys.readouterr().out) == {"conversation_id": cid, "format": "json", "path": str(out)}
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [m["text"] for m in data["messages"]][1] == "The LSTM cell has a forget gate."
    assert cli.main(["history", "--db", str(path), "--json", "import", str(out)]) == 0
    new = json.loads(capsys.readouterr().out)["conversation_id"]
    with HistoryStore(path) as s:
        assert [m["text"] for m in s.thread(new)] == [m["text"] for m in s.thread(cid)]


def test_errors_go_through_the_one_error_path(db, capsys, tmp_path):
    path, _ = db
    assert cli.main(["history", "--db", str(path), "export", "999"]) == 2
    assert "error: no conversation with id 999" in capsys.readouterr().err
    missing = tmp_path / "missing.db"
    assert cli.main(["history", "--db", str(missing), "list"]) == 2
    assert "no history database" in capsys.readouterr().err and not missing.exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", encoding="utf-8")
    assert cli.main(["history", "--db", str(path), "import", str(bad)]) == 2
    assert "invalid JSON" in capsys.readouterr().err


def test_db_is_required(capsys):
    with pytest.raises(SystemExit):
        cli.main(["history", "list"])
    assert "--db" in capsys.readouterr().err


def test_import_reads_a_byte_order_mark_and_refuses_other_encodings(db, capsys, tmp_path):
    path, cid = db
    with HistoryStore(path) as s:
        text = s.export_conversation(cid, "json")
    bom = tmp_path / "bom.json"
    bom.write_text(text, encoding="utf-8-sig")  # as some Windows editors save it
    assert cli.main(["history", "--db", str(path), "--json", "import", str(bom)]) == 0
    assert "conversation_id" in json.loads(capsys.readouterr().out)
    utf16 = tmp_path / "utf16.json"
    utf16.write_text(text, encoding="utf-16")
    assert cli.main(["history", "--db", str(path), "import", str(utf16)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_export_refuses_to_write_over_the_history_database_itself(tmp_path, capsys):
    """`history export 1 --out h.db` replaced the database with Markdown and said it had written
    the conversation: every chat was gone (bug hunt). `--out -` is stdout."""
    from engine.cli import main
    from engine.history import HistoryStore

    db = tmp_path / "h.db"
    store = HistoryStore(db)
    cid = store.create_conversation()
    store.add_message(cid, "user", "keep me")
    store.close()
    for target in (db, tmp_path / "h.db-wal"):
        assert main(["history", "--db", str(db), "export", str(cid), "--out", str(target)]) == 2
        assert "history database itself" in capsys.readouterr().err
    assert main(["history", "--db", str(db), "export", str(cid), "--out", "-"]) == 0
    assert "keep me" in capsys.readouterr().out and not (tmp_path / "-").exists()
    assert HistoryStore(db).messages(cid)[0]["text"] == "keep me"


def test_summaries_captions_and_forecasts_are_listed_shown_and_deleted(db, capsys):
    """`search` printed "caption 1" that no command could open; `export 1` then exported chat 1."""
    path, _ = db
    with HistoryStore(path) as s:
        fid = s.add_forecast("sunspots · sun.csv", "ets", 3, {"mean": [1.5, 2.0, 2.5]})
    assert cli.main(["history", "--db", str(path), "search", "gate", "--kind", "caption"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("caption 1: cat.jpg") and "show KIND ID" in out and "message" not in out
    assert cli.main(["history", "--db", str(path), "show", "caption", "1"]) == 0
    assert "a cat next to a gate" in capsys.readouterr().out
    assert cli.main(["history", "--db", str(path), "show", "forecast", str(fid)]) == 0
    assert "mean: 1.5, 2, 2.5" in capsys.readouterr().out
    assert cli.main(["history", "--db", str(path), "--json", "list", "--kind", "captions"]) == 0
    assert [r["file_name"] for r in json.loads(capsys.readouterr().out)] == ["cat.jpg"]
    with HistoryStore(path) as s:
        s.add_summary("Source text.", "Sum.", "textrank", {"origin": "a.txt"})
        s.add_caption("v.mp4", "h", "a clip", {"scenes": [{"start_s": "x", "caption": "odd"}, "junk"]})
    for kind, name in (("summaries", "a.txt · Source text."), ("forecasts", "sunspots · sun.csv")):
        assert cli.main(["history", "--db", str(path), "list", "--kind", kind]) == 0
        assert name in capsys.readouterr().out  # "summaries" crashed: it looked up "summarie"
    assert cli.main(["history", "--db", str(path), "show", "caption", "2"]) == 0
    assert "?: odd" in capsys.readouterr().out  # a scene time that is not a number
    assert cli.main(["history", "--db", str(path), "delete", "caption", "1"]) == 0
    assert cli.main(["history", "--db", str(path), "show", "caption", "1"]) == 2
    assert "Caption 1 is no longer in the history" in capsys.readouterr().err


def test_reading_a_damaged_file_reports_it_and_leaves_it_as_it_is(db, capsys):
    """`search` on a damaged file renamed it, started an empty history and said "no matches"."""
    path, _ = db
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 2] = b"\xff" * 4096  # the first table page: a broken b-tree
    path.write_bytes(bytes(data))
    before = sorted(p.name for p in path.parent.iterdir())
    assert cli.main(["history", "--db", str(path), "search", "gate"]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "left as it is" in err
    assert sorted(p.name for p in path.parent.iterdir()) == before and path.read_bytes() == bytes(data)


def test_export_keeps_an_existing_file_unless_forced(db, capsys, tmp_path):
    """`export --out notes.md` wrote over whatever notes.md held, without a word."""
    path, cid = db
    out = tmp_path / "notes.md"
    out.write_text("my own notes", encoding="utf-8")
    assert cli.main(["history", "--db", str(path), "export", str(cid), "--out", str(out)]) == 2
    assert "already exists; add --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "my own notes"
    assert cli.main(["history", "--db", str(path), "export", str(cid), "--out", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Which cell has a forget gate?")
    assert cli.main(["history", "--db", str(path), "export", str(cid), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert (
        cli.main(["history", "--db", str(path), "export", str(cid), "--out", str(tmp_path / "no" / "x.md")])
        == 2
    )
    assert "error:" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.db", "notes.md"]
