"""Files and folders that misbehave (bug hunt on the file system, findings 4, 9, 10d and 11): a
read-only export target, a symlink, a folder that is gone, a full disk, a parent that cannot be
entered, a name too long, a weights file that cannot be read. A full disk is simulated by making
the write raise ENOSPC after half the data; permissions by chmod (skipped as root, where chmod does
not bite) or by making the open raise EACCES."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from engine import checkpoint, cli
from engine.checkpoint import CheckpointError
from engine.history_export import write_whole

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LONG = "a" * 300  # one name past every file system's 255


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_write_whole_refuses_a_read_only_file_and_leaves_it(tmp_path, monkeypatch):
    target = tmp_path / "ro.md"
    target.write_text("kept")
    target.chmod(0o444)
    real_access = os.access
    if AS_ROOT:  # what a 0444 file gives a user who is not root
        monkeypatch.setattr(os, "access", lambda p, m, **k: False if p == target else real_access(p, m, **k))
    with pytest.raises(PermissionError, match="ro.md is read-only"):
        write_whole(target, "new text")
    assert target.read_text() == "kept" and _leftovers(tmp_path) == []


@pytest.mark.skipif(AS_ROOT, reason="chmod does not bite as root")
def test_write_whole_refuses_a_chmod_444_file(tmp_path):
    target = tmp_path / "ro.md"
    target.write_text("kept")
    target.chmod(0o444)
    with pytest.raises(PermissionError, match="is read-only"):
        write_whole(target, "new text")
    assert target.read_text() == "kept"


def test_write_whole_writes_through_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "notes.md"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_whole(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays a link
    assert real.read_text() == "new" and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []


def test_write_whole_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        write_whole(tmp_path / "nope" / "x.md", "text")
    assert str(err.value) == f"the folder {tmp_path / 'nope'} does not exist"
    assert ".part" not in str(err.value)


def test_history_export_into_a_missing_folder_says_so(tmp_path, capsys):
    from engine.history import HistoryStore

    db = tmp_path / "h.db"
    with HistoryStore(db) as store:
        cid = store.create_conversation()
        store.add_message(cid, "user", "hello")
    out = tmp_path / "nope" / "x.md"
    assert cli.main(["history", "--db", str(db), "export", str(cid), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and ".part" not in err


def test_write_whole_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.md"
    target.write_text("the old export\n")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    with pytest.raises(OSError) as err:
        write_whole(target, "a much longer new export\n" * 100)
    assert err.value.errno == errno.ENOSPC
    assert target.read_text() == "the old export\n" and _leftovers(tmp_path) == []


def test_write_whole_new_file_modes(tmp_path):
    write_whole(tmp_path / "private.md", "x")
    assert stat.S_IMODE((tmp_path / "private.md").stat().st_mode) == 0o600
    old = os.umask(0o022)
    try:
        write_whole(tmp_path / "plain.csv", b"a,b\r\n", private=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plain.csv").stat().st_mode) == 0o644
    assert (tmp_path / "plain.csv").read_bytes() == b"a,b\r\n"


def test_write_whole_follows_the_umask_without_reading_proc(tmp_path, monkeypatch):
    """Review: the umask was read from /proc/self/status, which only Linux has; elsewhere 0o022 was
    assumed and a new export was 0644 under umask 077. The system now applies the umask itself."""
    import builtins

    real_open = builtins.open

    def no_proc(file, *a, **k):  # as on macOS and Windows
        if str(file).startswith("/proc/"):
            raise FileNotFoundError(file)
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", no_proc)
    kept = tmp_path / "kept.csv"
    kept.write_text("old")
    kept.chmod(0o640)
    old = os.umask(0o077)
    try:
        write_whole(tmp_path / "plain.csv", "a,b\n", private=False)
        write_whole(tmp_path / "private.md", "x")
        write_whole(kept, "new", private=False)
        os.umask(0o027)
        write_whole(tmp_path / "group.csv", "a,b\n", private=False)
        os.umask(0)
        write_whole(tmp_path / "private2.md", "x")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {
        "plain.csv": 0o600,
        "private.md": 0o600,
        "kept.csv": 0o640,  # an existing file keeps its mode
        "group.csv": 0o640,
        "private2.md": 0o600,  # private whatever the umask
    }
    assert kept.read_text() == "new"


# --db: a parent that cannot be entered, a name too long (a traceback from argparse's type=)


def test_db_option_with_a_name_too_long_is_an_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["history", "--db", str(tmp_path / LONG / "h.db"), "list"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "cannot be used (File name too long)" in err and "Traceback" not in err


def test_db_option_under_a_folder_that_cannot_be_entered_is_an_error_line(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    real_is_dir = Path.is_dir

    def is_dir(self):
        if "locked" in self.parts:  # what Python 3.11 does under a 0700 folder of another user
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    with pytest.raises(SystemExit) as done:
        cli.main(["history", "--db", str(tmp_path / "locked" / "h.db"), "list"])
    assert done.value.code == 2
    assert "cannot be used (Permission denied)" in capsys.readouterr().err


@pytest.mark.skipif(AS_ROOT, reason="chmod does not bite as root")
def test_db_option_under_a_chmod_000_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(SystemExit):
            cli.main(["history", "--db", str(locked / "sub" / "h.db"), "list"])
    finally:
        locked.chmod(0o700)
    assert "Permission denied" in capsys.readouterr().err


# weights that exist but cannot be read


@pytest.fixture
def model_folder(tmp_path):
    import torch

    folder = tmp_path / "m"
    folder.mkdir()
    layer = torch.nn.Linear(3, 2)
    from safetensors.torch import save_file

    tensors = {k: v.contiguous() for k, v in layer.state_dict().items()}
    save_file(tensors, str(folder / checkpoint.WEIGHTS_FILE))
    return folder


def _deny(monkeypatch, path):
    """Opening ``path`` fails as a chmod-000 file does for its owner."""
    real_open = open

    def fake(file, *a, **k):
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, *a, **k)

    monkeypatch.setattr(checkpoint, "open", fake, raising=False)


def test_unreadable_weights_are_not_called_damaged(model_folder, monkeypatch):
    import torch

    path = model_folder / checkpoint.WEIGHTS_FILE
    _deny(monkeypatch, path)
    for load in (
        lambda: checkpoint.load_state(model_folder),
        lambda: checkpoint.check_shapes(model_folder, lambda: torch.nn.Linear(3, 2)),
    ):
        with pytest.raises(CheckpointError) as err:
            load()
        assert str(err.value) == f"{path}: cannot be read (Permission denied)"


@pytest.mark.skipif(AS_ROOT, reason="chmod does not bite as root")
def test_chmod_000_weights_are_not_called_damaged(model_folder):
    path = model_folder / checkpoint.WEIGHTS_FILE
    path.chmod(0)
    try:
        with pytest.raises(CheckpointError, match="cannot be read") as err:
            checkpoint.load_state(model_folder)
    finally:
        path.chmod(0o600)
    assert "damaged" not in str(err.value)


def test_truncated_weights_are_still_damaged(model_folder):
    import torch

    path = model_folder / checkpoint.WEIGHTS_FILE
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        checkpoint.load_state(model_folder)
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        checkpoint.check_shapes(model_folder, lambda: torch.nn.Linear(3, 2))


# -- a full disk under the history: the result is kept, the entry is not ------------------------
def test_a_full_disk_loses_the_history_entry_never_the_result(tmp_path):
    """SQLite's "database or disk is full" (SQLITE_FULL, here from a page limit the file has reached)
    is said in words; a finished summary was thrown away with "Unexpected error (OperationalError…)"."""
    from engine.history import HistoryStore, save_or_note

    store = HistoryStore(tmp_path / "history.db")
    first = store.add_summary("source " * 10, "a summary", "textrank")
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # no room for another page
    with pytest.raises(OSError) as info:
        store.add_summary("word " * 50_000, "a long one", "textrank")
    assert info.value.errno == errno.ENOSPC and "disk is full" in str(info.value)
    saved, note = save_or_note(lambda: store.add_summary("word " * 50_000, "again", "textrank"), "summary")
    assert saved is None and note.startswith("This summary is not saved to history: the disk is full")
    assert [s["id"] for s in store.list_summaries()] == [first]  # nothing half written
    store.close()
