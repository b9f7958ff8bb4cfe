"""Runs in the history and their folders: listed without curves, curves by id, deleted (with or
without their files), renamed, sized; folders recorded relative to the data folder (a copied data
folder resumed into the original: bug hunt), a failed resume keeps what the run had measured, a
busy history never stops a run, a complete run drops its resumable state."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.history import HistoryStore, NotFoundError
from engine.lab import jobs
from engine.lab.lm import load_lm
from engine.training import RUN_FILE, RunFolderLock

TEXT = (
    "The cat sat on the mat. The dog sat on the log. A cat and a dog played in the park. "
    "The bird sang in the tree. My dog likes the park. The cat likes the warm mat. "
) * 6


@pytest.fixture
def data(tmp_path):
    """A data folder as the app keeps it: history.db and models/."""
    (tmp_path / "data" / "models").mkdir(parents=True)
    return tmp_path / "data"


def _lm(store, data, run_id=None, cancel=None, train=None, progress=None):
    text = data.parent / "t.txt"
    text.write_text(TEXT, encoding="utf-8")
    return jobs.lm_train_job(
        str(text),
        str(data / "models"),
        {"emb_dim": 8, "hidden_size": 8},
        train or {"vocab_size": 300, "epochs": 3, "batch_size": 8},
        run_id=run_id,
        isolate=False,
        store=store,
        cancel=cancel,
        progress=progress,
    )


class _StopAt:
    def __init__(self, seen, step):
        self.seen, self.step = seen, step

    @property
    def cancelled(self):
        return any(e.get("kind") == "progress" and e["step"] >= self.step for e in self.seen)


def test_a_run_folder_inside_the_data_folder_is_recorded_relative_and_listed_absolute(data):
    with HistoryStore(data / "history.db") as store:
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        folder = rec.folder("lm")
        assert folder == data / "models" / "run-0001-lm"
        assert store.get_run(rec.run_id)["checkpoint"] == "models/run-0001-lm"
        outside = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data.parent / "elsewhere"), None, None)
        outside.folder("lm")
        assert store.get_run(outside.run_id)["checkpoint"] == str(data.parent / "elsewhere" / "run-0002-lm")
        folder.mkdir()
        runs = jobs.runs_job(store=store)
    assert [(r["id"], r["curves"], r["folder"], r["folder_exists"]) for r in runs] == [
        (2, None, str(data.parent / "elsewhere" / "run-0002-lm"), False),
        (1, None, str(folder), True),
    ]
    assert runs[1]["checkpoint"] == str(folder)  # what older desktop code reads


def test_a_copied_data_folder_resumes_its_own_copy_of_a_run_not_the_original(data, tmp_path):
    """An older Parlance recorded the whole path; the data folder was then copied (a backup restored,
    a new disk) with the original still in place. Resume wrote into the original folder."""
    seen = []
    with HistoryStore(data / "history.db") as store:
        out = _lm(store, data, cancel=_StopAt(seen, 5), progress=seen.append)
        original = Path(out["folder"])
        store.update_run(out["run_id"], checkpoint=str(original))  # as an older Parlance recorded it
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    before = (original / "checkpoint" / "trainer_state.json").read_bytes()
    with HistoryStore(copy / "history.db") as store:
        assert jobs.runs_job(store=store)[0]["folder"] == str(copy / "models" / original.name)
        done = _lm(store, copy, run_id=out["run_id"])
        assert done["folder"] == str(copy / "models" / original.name)
        assert store.get_run(out["run_id"])["checkpoint"] == f"models/{original.name}"  # recorded anew
    assert (original / "checkpoint" / "trainer_state.json").read_bytes() == before  # untouched
    assert json.loads((original / RUN_FILE).read_text())["status"] == "stopped"


def test_a_complete_run_drops_its_resumable_state_and_its_model_still_loads(data):
    seen = []
    with HistoryStore(data / "history.db") as store:
        stopped = _lm(store, data, cancel=_StopAt(seen, 5), progress=seen.append)
        assert (Path(stopped["folder"]) / "checkpoint" / "trainer_state.json").is_file()  # kept: resumable
        done = _lm(store, data)
    folder = Path(done["folder"])
    assert not (folder / "checkpoint").exists()
    assert {"config.json", "model.safetensors", RUN_FILE} <= {p.name for p in folder.iterdir()}
    model, tok = load_lm(folder)
    assert tok.vocab_size <= 300 and sum(p.numel() for p in model.parameters()) > 0


def test_a_failed_resume_keeps_what_the_run_had_measured(data):
    seen = []
    with HistoryStore(data / "history.db") as store:
        out = _lm(store, data, cancel=_StopAt(seen, 5), progress=seen.append)
        earlier = store.get_run(out["run_id"])["metrics"]
        assert earlier["steps"] >= 1 and earlier["best_val_ppl"] > 1
        state = Path(out["folder"]) / "checkpoint" / "model.safetensors"
        state.write_bytes(state.read_bytes()[:300])  # a damaged checkpoint: the resume fails at once
        with pytest.raises(Exception, match="[Ee]rror|incomplete|header"):
            _lm(store, data, run_id=out["run_id"])
        run = store.get_run(out["run_id"])
    assert run["status"] == "error"
    assert {k: run["metrics"][k] for k in earlier} == earlier and run["metrics"]["error"]
    assert "failed_at_step" not in run["metrics"]  # it trained no step this time


def test_a_history_held_by_another_program_at_a_validation_does_not_stop_the_run(data):
    """Bug hunt: another program holding the history's write lock for 5 s at a validation ended a
    run that had hours left as "error"; only its curve bookkeeping could not be written."""
    path = data / "history.db"
    with HistoryStore(path, busy_timeout_s=0.05) as store:
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        rec.folder("lm")
        other = sqlite3.connect(path)
        other.execute("BEGIN IMMEDIATE")  # e.g. DB Browser with unsaved edits
        try:
            rec.on_event({"kind": "progress", "step": 10, "loss": 2.5, "elapsed_s": 1.0, "items_per_s": 9.0})
            rec.on_event(
                {"kind": "eval", "step": 10, "elapsed_s": 1.0, "metrics": {"val_ppl": 30.0, "step": 10}}
            )
        finally:
            other.rollback()
            other.close()
        assert store.get_run(rec.run_id)["curves"] == {}  # not written then, kept here
        rec.on_event({"kind": "eval", "step": 20, "elapsed_s": 2.0, "metrics": {"val_ppl": 25.0}})
        assert store.get_run(rec.run_id)["curves"]["val_ppl"] == [[10, 30.0, 1.0], [20, 25.0, 2.0]]


def test_a_full_disk_under_the_history_at_a_validation_does_not_end_the_run(data):
    """Review: the history turned SQLite's "disk is full" into OSError(ENOSPC), which the run's
    bookkeeping did not catch: the run ended at its next validation (and in folder())."""
    with HistoryStore(data / "history.db") as store:
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # no room for another page
        folder = rec.folder("lm")  # its folder is not written now: kept for later
        rec.on_event({"kind": "progress", "step": 10, "loss": 2.5, "elapsed_s": 1.0, "items_per_s": 9.0})
        big = {"val_ppl": 30.0, **{f"m{i}": float(i) for i in range(2000)}}  # more than the page left
        rec.on_event({"kind": "eval", "step": 10, "elapsed_s": 1.0, "metrics": big})
        assert rec.curves["val_ppl"] == [[10, 30.0, 1.0]]  # kept here
        store._db.execute("PRAGMA max_page_count = 1073741823")  # space freed
        rec.on_event({"kind": "eval", "step": 20, "elapsed_s": 2.0, "metrics": {"val_ppl": 25.0}})
        run = store.get_run(rec.run_id)
        assert run["curves"]["val_ppl"] == [[10, 30.0, 1.0], [20, 25.0, 2.0]]
        assert store.run_folder(run["checkpoint"]) == folder


def test_the_app_and_the_engine_share_one_list_of_history_write_errors():
    from engine.history import HISTORY_UNWRITABLE, HistoryLockedError

    assert all(issubclass(e, HISTORY_UNWRITABLE) for e in (HistoryLockedError, PermissionError, OSError))
    pytest.importorskip("PySide6")
    from desktop import chat_slots

    assert chat_slots.STORE_BUSY is HISTORY_UNWRITABLE


def test_a_run_whose_record_is_deleted_while_it_trains_goes_on_and_keeps_its_model(data, caplog):
    """Review: ``history delete run N`` while the app prepared run N (its folder not locked yet)
    made the run fail at its first validation, and a finished model was reported as a failure."""
    with HistoryStore(data / "history.db") as store:
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        rec.folder("lm").mkdir()
        (rec.folder("lm") / "model.safetensors").write_bytes(b"x")  # what the trainer writes
        store.delete_run(rec.run_id)  # the CLI, meanwhile
        with caplog.at_level("WARNING", logger=jobs.log.name):
            for step in (10, 20):
                rec.on_event({"kind": "eval", "step": step, "elapsed_s": 1.0, "metrics": {"val_ppl": 30.0}})
            done = rec.finish({"reason": "completed", "steps": 20, "train_minutes": 0.1})
            rec.fail(RuntimeError("a later error"))  # nor does fail() raise
        assert done["run_id"] == rec.run_id and done["metrics"]["steps"] == 20
        assert Path(done["folder"]).is_dir() and store.list_runs() == []  # not recorded anew
        gone = [r for r in caplog.records if "its record was deleted" in r.getMessage()]
        assert len(gone) == 1  # said once


def test_the_cli_refuses_to_delete_a_run_recorded_as_running_without_force(data, capsys):
    from engine.cli import main

    db = data / "history.db"
    with HistoryStore(db) as store:
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        rec.folder("lm").mkdir()  # being prepared: its folder made, not locked by a trainer yet
        done = store.add_run("lm", {}, "d", "cpu", checkpoint="models/run-0002-lm")
        store.update_run(done, status="stopped")
    args = ["history", "--db", str(db), "delete", "run"]
    assert main([*args, str(rec.run_id)]) == 2
    assert "may be training now" in capsys.readouterr().err
    assert main([*args, str(done)]) == 0  # not running: no --force needed
    assert main([*args, str(rec.run_id), "--force"]) == 0
    with HistoryStore(db) as store:
        assert store.list_runs() == []


def test_a_run_folder_whose_run_json_names_another_run_is_not_deleted_or_resumed(data, tmp_path):
    """Review: a history copied into a data folder with runs of its own. Run 1, recorded by an older
    Parlance as an absolute path elsewhere ending in models/run-0003-lm, was read as this data
    folder's models/run-0003-lm (run 3's, its run.json says so) and "Delete with files" removed it."""
    with HistoryStore(data / "history.db") as store:
        for _ in range(3):
            store.add_run("lm", {}, "d", "cpu")
        theirs = data / "models" / "run-0003-lm"
        theirs.mkdir()
        (theirs / "model.safetensors").write_bytes(b"x" * 100)
        (theirs / RUN_FILE).write_text(json.dumps({"run_id": 3, "status": "complete"}))
        store.update_run(1, checkpoint=str(tmp_path / "somewhere" / "else" / "models" / "run-0003-lm"))
        assert store.run_folder(store.get_run(1)["checkpoint"], 1) != theirs
        assert store.run_folder(store.get_run(3)["checkpoint"] or "models/run-0003-lm", 3) == theirs
        assert jobs.delete_run_job(1, True, store=store)["files_removed"] is False
        assert (theirs / "model.safetensors").is_file()
        # nor by its name alone: a run-… folder inside the data folder whose run.json names run 3
        store.update_run(2, checkpoint="models/run-0003-lm")
        assert jobs.delete_run_job(2, True, store=store)["files_removed"] is False
        assert (theirs / "model.safetensors").is_file()
        # an older folder without run.json is still a run's folder by its name
        older = data / "models" / "run-0009-lm"
        older.mkdir()
        rid = store.add_run("lm", {}, "d", "cpu", checkpoint="models/run-0009-lm")
        assert jobs.delete_run_job(rid, True, store=store)["files_removed"] is True and not older.exists()


def test_a_failed_new_run_removes_its_folder_even_with_a_lock_file_left(data):
    from engine.training import LOCK_FILE

    with HistoryStore(data / "history.db") as store:
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        folder = rec.folder("lm")
        folder.mkdir()
        (folder / LOCK_FILE).write_text("")  # left by a killed trainer
        (folder / RUN_FILE).write_text(json.dumps({"run_id": rec.run_id, "status": "running"}))
        rec.fail(RuntimeError("out of memory"))
        assert not folder.exists()


def test_deleting_a_run_with_or_without_its_files(data, tmp_path):
    with HistoryStore(data / "history.db") as store:
        inside = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        folder = inside.folder("lm")
        (folder / "checkpoint").mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"x" * 1000)
        (folder / "checkpoint" / "optimizer.safetensors").write_bytes(b"y" * 500)
        with pytest.raises(ValueError, match="run #1 is being trained now; stop it first, then delete it"):
            jobs.delete_run_job(1, True, store=store, live={1})
        with RunFolderLock(folder), pytest.raises(ValueError, match="being trained by another program"):
            jobs.delete_run_job(1, True, store=store)
        assert jobs.delete_run_job(1, True, store=store) == {
            "run_id": 1,
            "folder": str(folder),
            "files_removed": True,
            "freed_bytes": 1500,
        }
        assert not folder.exists() and store.list_runs() == []
        with pytest.raises(NotFoundError):
            jobs.delete_run_job(1, True, store=store)
        # a folder outside the data folder is removed only when its run.json names the run
        for run_id, name, record in [
            (2, "mine", {"run_id": 2}),
            (3, "other", {"run_id": 99}),
            (4, "plain", None),
        ]:
            rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(tmp_path / name), None, None)
            assert rec.run_id == run_id
            path = rec.folder("lm")
            path.mkdir(parents=True)
            (path / "model.safetensors").write_bytes(b"z" * 10)
            if record is not None:
                (path / RUN_FILE).write_text(json.dumps(record))
        result = [jobs.delete_run_job(i, True, store=store)["files_removed"] for i in (2, 3, 4)]
        assert result == [True, False, False] and store.list_runs() == []
        assert (tmp_path / "other" / "run-0003-lm").is_dir() and (tmp_path / "plain" / "run-0004-lm").is_dir()
        # files=False: only the record goes
        rec = jobs.RunRecorder(store, "lm", {}, "d", "cpu", str(data / "models"), None, None)
        kept = rec.folder("lm")
        kept.mkdir()
        assert jobs.delete_run_job(rec.run_id, False, store=store)["files_removed"] is False
        assert kept.is_dir() and store.list_runs() == []


def test_the_data_folder_itself_is_never_deleted_as_a_runs_folder(data):
    with HistoryStore(data / "history.db") as store:
        rid = store.add_run("lm", {}, "d", "cpu", checkpoint=".")
        assert jobs.delete_run_job(rid, True, store=store)["files_removed"] is False
        (data / "models" / "mine").mkdir(parents=True, exist_ok=True)
        for hand_edited in ("models", "models/mine"):  # not a run's folder: every model lives there
            rid = store.add_run("lm", {}, "d", "cpu", checkpoint=hand_edited)
            assert jobs.delete_run_job(rid, True, store=store)["files_removed"] is False
    assert (data / "history.db").is_file() and (data / "models" / "mine").is_dir()


def test_renaming_a_run_strips_and_cuts_its_name_and_an_empty_name_clears_it(data):
    with HistoryStore(data / "history.db") as store:
        rid = store.add_run("lm", {}, "d", "cpu")
        store.update_run(rid, curves={"val_ppl": [[1, 2.0, 0.1]]})
        run = jobs.rename_run_job(rid, "  small\nlr  ", store=store)
        assert run["label"] == "small lr" and run["curves"] is None and run["folder"] is None
        assert jobs.rename_run_job(rid, "x" * 200, store=store)["label"] == "x" * 80
        assert jobs.rename_run_job(rid, "   ", store=store)["label"] is None
        assert store.get_run(rid)["label"] is None
        with pytest.raises(NotFoundError):
            jobs.rename_run_job(999, "a", store=store)


def test_folder_sizes_count_files_once_and_do_not_follow_links(tmp_path):
    folder = tmp_path / "run"
    (folder / "checkpoint").mkdir(parents=True)
    (folder / "a").write_bytes(b"1" * 100)
    (folder / "checkpoint" / "b").write_bytes(b"2" * 50)
    big = tmp_path / "big"
    big.mkdir()
    (big / "c").write_bytes(b"3" * 10_000)
    (folder / "link").symlink_to(big, target_is_directory=True)
    assert jobs.folder_size_job(str(folder)) == 150 + len(str(big))  # the link itself, not what it holds
    assert jobs.folder_size_job(str(tmp_path / "missing")) == 0


def test_curves_are_read_by_run_id_and_comparisons_are_found_by_task(data):
    with HistoryStore(data / "history.db") as store:
        a = store.add_run("lm", {}, "d", "cpu")
        store.update_run(a, curves={"val_ppl": [[1, 9.0, 0.1]]})
        c = store.add_run(jobs.COMPARE_TASK, {}, "d", "cpu")
        store.update_run(c, status="complete", metrics={"accuracy": {"gru": [0.5]}})
        store._db.execute("UPDATE runs SET curves = '{damaged' WHERE id = ?", (a,))  # read only by id
        assert [r["id"] for r in jobs.compare_runs_job(store=store)] == [c]
        assert jobs.run_curves_job([c, 77], store=store) == {c: {}}
    assert jobs.run_curves_job([1], store=None) == {}
