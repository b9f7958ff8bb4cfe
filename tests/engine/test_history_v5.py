"""Schema 5: ids are never handed out again (bug hunt: a search result still on screen deleted the
newer summary that had taken its id), runs get a name (``label``), lists of runs need not read
their curves, runs can be deleted; a damaged history is not moved aside under a Parlance window."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys

import pytest
from sqlite_utils import Database

from engine import history
from engine.cli import main
from engine.history import HistoryLockedError, HistoryStore, NotFoundError


def _v4_file(path):
    """A history as Parlance with schema 4 left it: rows in every table, a gap in the ids."""
    db = Database(sqlite3.connect(path))
    for v in range(4):
        history.MIGRATIONS[v](db)
        db.execute(f"PRAGMA user_version = {v + 1}")
    for i, word in enumerate(["alpha", "bravo", "charlie", "delta"], 1):
        row = {"source": f"{word} source", "summary": f"{word} summary", "method": "textrank"}
        db["summaries"].insert({**row, "meta": "{}", "created_at": "t", "origin": f"{word}.txt"})
        db["captions"].insert(
            {"file_name": f"{word}.jpg", "file_hash": "h", "caption": f"{word} caption", "scenes": ""}
            | {"meta": "{}", "created_at": "t"}
        )
        db["forecasts"].insert(
            {"name": f"{word} sales", "method": "ets", "horizon": 3, "meta": "{}"} | {"created_at": "t"}
        )
        run = {"task": "lm", "config": "{}", "data": word, "device": "cpu", "checkpoint": f"models/run-{i}"}
        db["runs"].insert(
            {**run, "status": "complete", "metrics": '{"steps": 5}', "curves": '{"a": [[1, 2]]}'}
            | {"started_at": "t"}
        )
    db.execute("DELETE FROM summaries WHERE id = 2")  # a gap: ids are kept as they were, not renumbered
    db.conn.commit()
    db.close()


def test_a_schema_4_history_keeps_its_rows_ids_and_search_and_never_reuses_an_id(tmp_path):
    path = tmp_path / "history.db"
    _v4_file(path)
    with HistoryStore(path) as s:
        assert s.schema_version == history.SCHEMA_VERSION == 5
        assert [r["id"] for r in s.list_summaries()] == [4, 3, 1]
        assert s.get_summary(3)["origin"] == "charlie.txt" and s.get_caption(4)["caption"] == "delta caption"
        assert [r["id"] for r in s.list_runs()] == [4, 3, 2, 1] and s.get_run(2)["label"] is None
        assert s.get_run(1)["metrics"] == {"steps": 5} and s.get_run(1)["curves"] == {"a": [[1, 2]]}
        # the word indexes came through: old rows are found by every searched column
        assert [(h["kind"], h["id"]) for h in s.search("charlie")] == [
            ("summary", 3),
            ("caption", 3),
            ("forecast", 3),
        ]
        assert [h["id"] for h in s.search("delta.txt")] == [4]
        # deleting the newest row of each table, then adding one: a new id, never the deleted one
        s.delete_result("summary", 4)
        s.delete_result("caption", 4)
        s.delete_result("forecast", 4)
        s.delete_run(4)
        assert s.add_summary("echo source", "echo summary", "textrank") == 5
        assert s.add_caption("echo.jpg", "h", "echo caption") == 5
        assert s.add_forecast("echo sales", "ets", 2) == 5
        assert s.add_run("lm", {}, "echo", "cpu") == 5
        assert [(h["kind"], h["id"]) for h in s.search("echo")] == [
            ("summary", 5),
            ("caption", 5),
            ("forecast", 5),
        ]
        assert s.search("delta") == []  # deleted rows left the index
    # a write by another program keeps the index in step (the triggers were rebuilt on the new tables)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE summaries SET summary = 'foxtrot summary' WHERE id = 3")
    conn.commit()
    conn.close()
    with HistoryStore(path) as s:
        assert [h["id"] for h in s.search("foxtrot")] == [3] and [h["kind"] for h in s.search("charlie")] == [
            "summary",  # its source and origin still say charlie
            "caption",
            "forecast",
        ]
        indexes = {r["name"] for r in s._rows("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "captions_by_hash" in indexes


@pytest.mark.parametrize("kind", ["summary", "caption", "forecast", "run"])
def test_a_new_history_never_hands_out_a_deleted_id_again(kind):
    s = HistoryStore.open_in_memory()
    add = {
        "summary": lambda: s.add_summary("src", "sum", "textrank"),
        "caption": lambda: s.add_caption("f.jpg", "h", "c"),
        "forecast": lambda: s.add_forecast("n", "ets", 2),
        "run": lambda: s.add_run("lm", {}, "d", "cpu"),
    }[kind]
    ids = [add(), add(), add()]
    if kind == "run":
        s.delete_run(ids[-1])
    else:
        s.delete_result(kind, ids[-1])
    assert add() == 4


def test_runs_have_a_label_that_can_be_set_and_cleared():
    s = HistoryStore.open_in_memory()
    rid = s.add_run("lm", {}, "d", "cpu")
    assert s.get_run(rid)["label"] is None
    s.update_run(rid, label="small lr")
    assert s.get_run(rid)["label"] == "small lr" and s.list_runs()[0]["label"] == "small lr"
    assert s.list_runs(curves=False)[0]["label"] == "small lr"
    s.update_run(rid, label="")
    assert s.get_run(rid)["label"] is None
    s.update_run(rid, label="again")
    s.update_run(rid, label=None)
    assert s.get_run(rid)["label"] is None
    with pytest.raises(ValueError, match="label must be a string or None"):
        s.update_run(rid, label=3)


def test_a_list_of_runs_reads_no_curves_and_filters_by_task_and_curves_are_read_by_id():
    s = HistoryStore.open_in_memory()
    a = s.add_run("lm", {"x": 1}, "d", "cpu")
    b = s.add_run("compare-cells", {}, "d", "cpu")
    c = s.add_run("lm", {}, "d", "cpu")
    s.update_run(a, curves={"val_ppl": [[1, 20.0, 0.5]]}, metrics={"steps": 1})
    # a damaged curves value (the file edited) spoils only what reads it
    s._db.execute("UPDATE runs SET curves = '{not json' WHERE id = ?", (c,))
    with pytest.raises(ValueError):
        s.list_runs()
    light = s.list_runs(curves=False)
    assert [r["id"] for r in light] == [c, b, a] and all(r["curves"] is None for r in light)
    assert light[2]["config"] == {"x": 1} and light[2]["metrics"] == {"steps": 1}
    assert [r["id"] for r in s.list_runs(curves=False, task="lm")] == [c, a]
    assert [r["id"] for r in s.list_runs(task="compare-cells")] == [b]
    assert s.list_runs(task="nothing") == []
    assert s.run_curves([a, b, 999]) == {a: {"val_ppl": [[1, 20.0, 0.5]]}, b: {}}
    assert s.run_curves([]) == {}
    many = [s.add_run("lm", {}, "d", "cpu") for _ in range(3)] + list(range(1000, 2200))
    assert set(s.run_curves(many)) == set(many[:3])  # more ids than one query takes


def test_deleting_a_run_that_is_not_there_says_so():
    s = HistoryStore.open_in_memory()
    rid = s.add_run("lm", {}, "d", "cpu")
    s.delete_run(rid)
    assert s.list_runs() == []
    with pytest.raises(NotFoundError, match=f"no training run with id {rid}"):
        s.delete_run(rid)


# -- a damaged history under an open Parlance window ------------------------------------------------
def _lock_file(folder, pid, host=None):
    (folder / "parlance.lock").write_text(f"{pid}\nparlance\n{host or socket.gethostname()}\n")


def _damaged(path):
    path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)


def test_a_damaged_history_is_not_moved_aside_while_parlance_has_its_folder_open(tmp_path):
    """Bug hunt: a CLI renamed the history the app was writing to; the app went on writing into the
    renamed file, and its next start showed an empty history."""
    path = tmp_path / "history.db"
    _damaged(path)
    app = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock_file(tmp_path, app.pid)
        with pytest.raises(HistoryLockedError) as info:
            HistoryStore(path, named_by_user=True)
        assert str(info.value) == (
            f"the history database {path} is damaged, but Parlance (process {app.pid}) has its folder "
            "open: close Parlance and try again (Parlance keeps a damaged history file under another "
            "name and starts a new one when it opens it)"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["history.db", "parlance.lock"]
        with pytest.raises(HistoryLockedError):  # a lock written on another computer counts as held
            _lock_file(tmp_path, 1, host="some-other-computer")
            HistoryStore(path, named_by_user=True)
    finally:
        app.kill()
        app.wait(timeout=30)
    _lock_file(tmp_path, app.pid)  # that window has gone: its lock holds nobody
    with HistoryStore(path, named_by_user=True) as s:
        assert s.recovered_from is not None and s.recovered_from.exists()
    _damaged(path)
    _lock_file(tmp_path, os.getpid())  # the app itself opening its own history moves it aside as before
    with HistoryStore(path) as s:
        assert s.recovered_from is not None


# -- the CLI ------------------------------------------------------------------------------------------
def test_history_runs_lists_runs_and_delete_run_keeps_the_folder(tmp_path, capsys):
    path = tmp_path / "history.db"
    folder = tmp_path / "models" / "run-0001-lm"
    folder.mkdir(parents=True)
    with HistoryStore(path) as s:
        first = s.add_run("lm", {}, "text.txt", "cpu", checkpoint="models/run-0001-lm")
        s.update_run(first, label="bell\x07 and\nnewline", status="complete")
        second = s.add_run("dialogue", {}, "chitchat", "cpu", checkpoint=str(tmp_path / "gone"))
    assert main(["history", "--db", str(path), "runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "task", "status", "started", "label", "/", "folder"]
    assert out[1].split()[:3] == [str(second), "dialogue", "running"]
    assert out[1].endswith(f"{tmp_path / 'gone'} (missing)")
    assert out[2].split()[:3] == [str(first), "lm", "complete"]
    assert out[2].endswith(f"bell\\x07 and\\nnewline · {folder}")  # control characters shown, not sent
    assert main(["history", "--db", str(path), "runs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["label"], r["folder"]) for r in rows] == [
        (second, None, str(tmp_path / "gone")),
        (first, "bell\x07 and\nnewline", str(folder)),
    ]
    assert main(["history", "--db", str(path), "delete", "run", str(first)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"deleted run {first}; its folder {folder} is left on disk: "
        "delete it yourself if you no longer need it"
    )
    assert folder.is_dir()
    assert main(["history", "--db", str(path), "delete", "run", str(first)]) == 2
    assert capsys.readouterr().err.strip() == f"error: no training run with id {first}"
    assert main(["history", "--db", str(path), "--json", "delete", "run", str(second)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "deleted": "run",
        "id": second,
        "folder": str(tmp_path / "gone"),
    }
    assert main(["history", "--db", str(path), "runs"]) == 0
    assert capsys.readouterr().out.strip() == "no training runs"
