"""A SIGKILL of the app while a reply streams loses no committed message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.history import HistoryStore

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_during_streaming_loses_no_committed_message(tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "app_driver.py"), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tokens = 0
    deadline = time.monotonic() + 60
    try:
        for line in proc.stdout:
            if line.startswith("TOKEN"):
                tokens = int(line.split()[1])
                if tokens >= 80:  # > 1 s of streaming: the partial text was committed at least once
                    break
            assert time.monotonic() < deadline, "the app did not stream in time"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and tokens >= 80
    store = HistoryStore(data / "history.db")
    try:
        (conv,) = store.list_conversations()
        user, bot = store.messages(conv["id"])
        assert (user["role"], user["text"], user["status"]) == (
            "user",
            "please keep talking for a while",
            "complete",
        )
        assert bot["role"] == "bot" and bot["status"] == "streaming" and bot["parent_id"] == user["id"]
        assert bot["text"].startswith("piece0 piece1") and len(bot["text"].split()) < 2000
        assert conv["title"] == "please keep talking for a while"
    finally:
        store.close()
