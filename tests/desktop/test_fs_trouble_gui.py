"""The window and the file system (bug hunt on the file system, findings 4 and 10a): a data folder
whose parent cannot be entered or whose name is too long crashed the start with a traceback; an
unexpected error said "The details were written to the log" when there was no log, and a full disk
read "Unexpected error (OperationalError: database or disk is full)"."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from desktop import paths
from desktop.jobs import human_message

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LONG = "a" * 300


def test_a_data_folder_name_too_long_is_a_notice_not_a_crash(tmp_path):
    problem = paths.check_writable(tmp_path / LONG / "data")
    assert problem is not None and "cannot be used (File name too long)" in problem
    data = paths.resolve_data_dir(tmp_path / LONG)
    assert not data.writable and "File name too long" in data.problem


def test_a_data_folder_under_a_parent_that_cannot_be_entered_is_a_notice(tmp_path, monkeypatch):
    real_exists = Path.exists

    def exists(self):
        if "locked" in self.parts:  # Python 3.11 under a 0700 folder of another user
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_exists(self)

    monkeypatch.setattr(Path, "exists", exists)
    folder = tmp_path / "locked" / "Parlance"
    assert paths.check_writable(folder) == f"The data folder {folder} cannot be used (Permission denied)."


@pytest.mark.skipif(AS_ROOT, reason="chmod does not bite as root")
def test_a_data_folder_under_a_chmod_000_parent_is_a_notice(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        data = paths.resolve_data_dir(locked / "Parlance")
    finally:
        locked.chmod(0o700)
    assert not data.writable and "Permission denied" in data.problem


def test_the_start_does_not_crash_on_a_name_too_long(tmp_path):
    from desktop import app

    assert app._lock_data_dir(str(tmp_path / LONG)) is None  # history off, no lock: nothing is saved


# human_message: a full disk, and where the details of an unexpected error are


def test_a_full_disk_is_said_in_words():
    full = sqlite3.OperationalError("database or disk is full")
    assert human_message(full) == (
        "The disk is full (the history database: database or disk is full). Free some space, then try again."
    )
    nospace = OSError(errno.ENOSPC, "No space left on device", "/data/out.csv")
    assert human_message(nospace).startswith("The disk is full (No space left on device: /data/out.csv)")
    written = OSError(errno.ENOSPC, "The disk is full: the checkpoint at step 5 could not be saved")
    assert human_message(written) == "The disk is full: the checkpoint at step 5 could not be saved"
    assert human_message(OSError(errno.EIO, "Input/output error")) == "Input/output error"


@pytest.fixture
def root_handlers(monkeypatch):
    root = logging.getLogger()

    def use(*handlers):
        monkeypatch.setattr(root, "handlers", list(handlers))

    return use


def test_an_unexpected_error_names_the_log_file_when_there_is_one(root_handlers, tmp_path):
    log = logging.FileHandler(tmp_path / "parlance.log", delay=True)
    root_handlers(logging.StreamHandler(), log)
    text = human_message(ZeroDivisionError("division by zero"))
    assert text == (
        "Unexpected error (ZeroDivisionError: division by zero). "
        f"The details were written to the log {tmp_path / 'parlance.log'}."
    )


def test_an_unexpected_error_without_a_log_says_to_run_from_a_terminal(root_handlers):
    root_handlers(logging.StreamHandler())  # history off, a read-only folder, a log that failed to open
    text = human_message(ZeroDivisionError("division by zero"))
    assert "written to the log" not in text
    assert text.endswith("Run Parlance from a terminal to see the details.")
