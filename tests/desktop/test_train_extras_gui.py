"""The Train tabs without the [train] extra, runs that cannot resume, the conversation export's
file handling and the --screenshot run's temporary folders (hunt findings 3, 4, 6, 7, 9, 10)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fakes
import pytest

README_HINT = "pip install -e '.[train]' in the Parlance folder"


def _hide(monkeypatch, module: str) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


# -- 4. the chat model's built-in corpora ------------------------------------------------------
def test_a_missing_corpus_package_is_said_in_the_data_list_and_at_start(qtbot, monkeypatch, tmp_path):
    from desktop.widgets.train_dialogue import DialogueTrainTab
    from engine import extras

    # chitchat missing, chatterbot there, whatever this machine has installed (CI has no extras)
    monkeypatch.setattr(extras, "installed", lambda module: module != "chitchat_dataset")
    service = fakes.tab_service(tmp_path)
    tab = DialogueTrainTab(service)
    qtbot.addWidget(tab)
    labels = [tab.source.itemText(i) for i in range(tab.source.count())]
    assert not any("(shipped)" in t for t in labels)  # the corpora are not shipped: the extra has them
    assert labels[tab.source.findData("chitchat")] == "Chitchat corpus (needs the training extras)"
    assert labels[tab.source.findData("chatterbot")] == "Chatterbot corpus"  # installed
    tab.source.setCurrentIndex(tab.source.findData("chitchat"))
    tab.start()
    assert service.trains() == []  # no job: no recorded run, no traceback in the log
    assert README_HINT in tab.status_text and tab.start_button.isEnabled()


def test_the_unfinished_runs_are_marked_among_the_models_to_start_from(qtbot, tmp_path):
    from desktop.widgets.train_dialogue import DialogueTrainTab

    tab = DialogueTrainTab(fakes.tab_service(tmp_path))
    qtbot.addWidget(tab)
    runs = []
    for i, status in enumerate(("complete", "stopped"), 1):
        folder = tmp_path / f"run-000{i}-dialogue-gru"
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        runs.append({"id": i, "task": "dialogue", "status": status, "checkpoint": str(folder)})
    tab._fill_start_from(runs)
    texts = [tab.start_from.itemText(i) for i in range(tab.start_from.count())]
    assert "Run #1 (run-0001-dialogue-gru)" in texts
    assert "Run #2 (run-0002-dialogue-gru, unfinished)" in texts


# -- 3. the captioner needs pycocoevalcap ------------------------------------------------------
def test_the_captioner_tab_names_the_missing_metrics_before_starting(qtbot, monkeypatch, tmp_path):
    from desktop.widgets.train_captioner import CaptionerTrainTab

    _hide(monkeypatch, "pycocoevalcap")
    service = fakes.tab_service(tmp_path)
    tab = CaptionerTrainTab(service)
    qtbot.addWidget(tab)
    tab.images.setText(str(tmp_path))
    tab.captions.setText(str(tmp_path / "captions.csv"))
    tab.start()
    assert service.trains() == [] and README_HINT in tab.status_text
    assert "pycocoevalcap" in tab.status_text


# -- 4. a failed run with nothing to resume from offers no Resume ------------------------------
def test_resume_is_offered_only_where_a_run_can_go_on(tmp_path):
    from desktop.widgets.run_tab import resumable

    kept = tmp_path / "run-0002"
    kept.mkdir()
    assert not resumable({"status": "error", "checkpoint": str(tmp_path / "run-0001")})  # removed empty
    assert not resumable({"status": "error", "checkpoint": None})
    assert resumable({"status": "error", "checkpoint": str(kept)})  # e.g. the disk filled up mid-run
    assert resumable({"status": "stopped", "checkpoint": str(kept)})
    assert not resumable({"status": "complete", "checkpoint": str(kept)})


# -- 6. the summarizer's target fits the data's format by default -----------------------------
def test_the_summarizer_tab_detects_the_target_by_default(qtbot, tmp_path):
    from desktop.widgets.train_summarizer import SummarizerTrainTab

    tab = SummarizerTrainTab(fakes.tab_service(tmp_path))
    qtbot.addWidget(tab)
    assert tab.config()["target"] == "auto"  # "title" failed on a documented .jsonl


# -- 9. conversation export --------------------------------------------------------------------
class _Emitter:
    def __init__(self) -> None:
        self.calls: list = []

    def emit(self, *args) -> None:
        self.calls.append(args)


class _Slots:
    """What ChatSlots._export uses of the service."""

    def __init__(self, text: str) -> None:
        self.exported = _Emitter()
        self._store = type("Store", (), {"export_conversation": lambda _self, cid, fmt: text})()


def _export(path: Path, text: str = "# A chat\n") -> _Slots:
    from desktop.chat_slots import ChatSlots

    slots = _Slots(text)
    ChatSlots._export(slots, 1, "markdown", str(path))
    return slots


def test_a_failed_export_leaves_no_temporary_file_and_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "chat.md"
    target.write_text("old export")

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        _export(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.md"]  # no chat.md.part left
    assert target.read_text() == "old export"


def test_an_export_over_a_private_file_keeps_it_private(tmp_path):
    target = tmp_path / "chat.md"
    target.write_text("old")
    target.chmod(0o600)
    old_umask = os.umask(0o022)
    try:
        slots = _export(target, "new")
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new" and slots.exported.calls == [(str(target),)]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # was 0644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.md"]


# -- 10. the --screenshot run's temporary folders ----------------------------------------------
def test_stale_screenshot_folders_are_removed_and_live_ones_kept(tmp_path):
    from desktop import screenshot

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    dead = tmp_path / f"parlance-shot-{dead_pid}-abc"
    live = tmp_path / f"parlance-shot-{os.getpid()}-def"
    old = tmp_path / "parlance-caption-demo-x1y2"  # an earlier version's name, without a pid
    young = tmp_path / "parlance-shot-k3j4l5"
    other = tmp_path / "something-else"
    for folder in (dead, live, old, young, other):
        folder.mkdir()
        (folder / "history.db").write_text("demo")
    hours_ago = time.time() - 3 * 3600
    os.utime(old, (hours_ago, hours_ago))
    removed = screenshot.remove_stale(tmp_path)
    assert sorted(removed) == sorted([dead, old])
    assert not dead.exists() and not old.exists()
    assert live.is_dir() and young.is_dir() and other.is_dir()


def test_a_screenshot_run_keeps_its_temporary_files_under_one_folder(monkeypatch, tmp_path):
    from desktop import screenshot

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with screenshot.scratch() as data:
        root = data.parent
        assert root.parent == tmp_path and root.name.startswith(f"parlance-shot-{os.getpid()}-")
        demo = Path(tempfile.mkdtemp(prefix="parlance-caption-demo-"))  # what the caption demo makes
        assert demo.parent.parent == root
    assert not root.exists() and tempfile.tempdir == str(tmp_path)


def test_the_model_pickers_mark_a_run_that_did_not_finish(tmp_path):
    """A cancelled or cut-off run looked like a finished model in the Chat, Summarize and Caption
    pickers."""
    import json

    from desktop.chat_ops import model_entry
    from engine.lab.jobs import RUN_FILE

    shipped = tmp_path / "shipped"
    (shipped / "dialogue").mkdir(parents=True)
    runs = tmp_path / "models"
    for name, status in (("run-done", "complete"), ("run-cut", "running"), ("run-old", None)):
        (runs / name).mkdir(parents=True)
        if status:
            (runs / name / RUN_FILE).write_text(json.dumps({"status": status}), encoding="utf-8")
    names = {f.name: model_entry(f, shipped)["name"] for f in runs.iterdir()}
    assert names == {"run-done": "run-done", "run-cut": "run-cut (unfinished)", "run-old": "run-old"}
    assert model_entry(shipped / "dialogue", shipped)["name"] == "dialogue"
