"""One trainer per run folder (a lock held for the whole training), and the folder's run.json that
says a run is still training, for CLI runs too (bug hunt: two trainers in one folder overwrote each
other's model without a word; a CLI run in progress showed in the pickers as a finished model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.cancel import CancelToken
from engine.lab.jobs import run_state
from engine.training import (
    LOCK_FILE,
    RUN_FILE,
    ProgressEvent,
    RunFolderBusyError,
    RunFolderLock,
    TrainConfig,
    Trainer,
    check_out_dir,
    folder_in_use,
)

ROOT = Path(__file__).resolve().parents[2]


def _trainer(out, callbacks=(), cancel=None, epochs=2, step_loss=None):
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x.sum(-1)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]

    def loss(m, b):
        return torch.nn.functional.mse_loss(m(b[0]).squeeze(-1), b[1]), len(b[1])

    def evaluate(m):
        return {"val_loss": float(torch.nn.functional.mse_loss(m(x).squeeze(-1), y))}

    return Trainer(
        torch.nn.Linear(4, 1),
        TrainConfig(epochs=epochs, lr=0.01, log_every=1, patience=0),
        lambda e: batches,
        step_loss or loss,
        evaluate,
        out,
        lambda folder, m: (Path(folder) / "model.bin").write_bytes(b"weights"),
        list(callbacks),
        cancel=cancel,
        steps_per_epoch=4,
    )


def _run_file(out) -> dict:
    return json.loads((Path(out) / RUN_FILE).read_text(encoding="utf-8"))


def test_a_second_trainer_in_the_same_folder_is_refused_while_the_first_trains(tmp_path):
    out = tmp_path / "run"
    refused, seen_state = [], []

    def second_trainer(event):
        if isinstance(event, ProgressEvent) and event.step == 2 and not refused:
            with pytest.raises(RunFolderBusyError) as info:
                _trainer(out).fit(resume=True)
            refused.append(str(info.value))
            seen_state.append((_run_file(out)["status"], run_state(out), folder_in_use(out)))

    done = _trainer(out, [second_trainer]).fit()
    assert done.reason == "completed" and done.step == 8  # the first one trained to its end
    assert refused == [
        f"this run folder ({out}) is being trained by another process (pid {os.getpid()}); wait for "
        "it to end or choose another --out"
    ]
    # while it trained, its folder said so: "(unfinished)" in the pickers, as app runs are
    assert seen_state == [("running", "unfinished", os.getpid())]
    assert _run_file(out) == {"status": "complete", "reason": "completed"} and run_state(out) == "finished"
    assert not (out / LOCK_FILE).exists() and folder_in_use(out) is None  # released, and tidied away
    assert _trainer(out).fit(resume=True).reason == "completed"  # the next one may train there


def test_a_trainer_in_another_process_holds_the_folder_until_that_process_ends(tmp_path):
    out = tmp_path / "run"
    code = (
        "import sys, time; from engine.training import RunFolderLock; "
        f"lock = RunFolderLock({str(out)!r}).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        assert folder_in_use(out) == child.pid
        with pytest.raises(RunFolderBusyError, match=f"another process \\(pid {child.pid}\\)"):
            _trainer(out).fit()
        with pytest.raises(RunFolderBusyError, match="wait for it to end or choose another --out"):
            check_out_dir(out, resume=False)  # the CLIs say it before they read their data
        assert not (out / RUN_FILE).exists()  # the refused trainer wrote nothing there
    finally:
        child.send_signal(signal.SIGKILL)  # however it ends, the system drops its lock
        child.wait(timeout=30)
        child.stdout.close()
    assert folder_in_use(out) is None
    assert _trainer(out).fit().reason == "completed"


def test_run_file_says_stopped_or_error_and_keeps_the_apps_run_id(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / RUN_FILE).write_text(json.dumps({"run_id": 7, "status": "stopped", "reason": "cancelled"}))
    token = CancelToken()

    def cancel_at_three(event):
        if isinstance(event, ProgressEvent) and event.step == 3:
            token.cancel()

    assert _trainer(out, [cancel_at_three], cancel=token).fit(resume=True).reason == "cancelled"
    assert _run_file(out) == {"run_id": 7, "status": "stopped", "reason": "cancelled"}

    def broken(m, b):
        raise RuntimeError("the batch is broken")

    with pytest.raises(RuntimeError, match="the batch is broken"):
        _trainer(out, step_loss=broken).fit(resume=True)
    assert _run_file(out) == {"run_id": 7, "status": "error", "reason": "RuntimeError"}
    assert run_state(out) == "unfinished" and folder_in_use(out) is None


def test_the_lock_is_released_on_every_exit_and_a_leftover_lock_file_holds_nobody(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_FILE).write_text("999999\n")  # left by a process that ended (the file alone is no lock)
    assert folder_in_use(out) is None
    with RunFolderLock(out):
        assert folder_in_use(out) == os.getpid()
        with pytest.raises(RunFolderBusyError):
            RunFolderLock(out).acquire()
    assert folder_in_use(out) is None
    with pytest.raises(KeyboardInterrupt), RunFolderLock(out):
        raise KeyboardInterrupt
    lock = RunFolderLock(out).acquire()  # free again after an interrupt
    lock.release()
    lock.release()  # twice is harmless


def test_the_lm_cli_writes_its_run_file_and_refuses_a_folder_another_trainer_holds(tmp_path, capsys):
    """Bug hunt: `train lm --resume` into a folder another trainer was training ran alongside it."""
    from engine.cli import main

    text = tmp_path / "t.txt"
    text.write_text("The cat sat on the mat. The dog sat on the log. A bird sang. " * 12, encoding="utf-8")
    out = tmp_path / "m"
    argv = ["train", "lm", "--text", str(text), "--out", str(out), "--epochs", "1", "--emb-dim", "8"]
    argv += ["--hidden-size", "8", "--vocab-size", "300", "--json"]
    assert main(argv) == 0
    capsys.readouterr()
    assert _run_file(out) == {"status": "complete", "reason": "completed"} and run_state(out) == "finished"
    with RunFolderLock(out):
        assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: this run folder ({out}) is being trained by another process (pid {os.getpid()}); wait for "
        "it to end or choose another --out"
    )
    assert _run_file(out)["status"] == "complete"  # the refused run changed nothing there


def test_a_filesystem_without_locks_trains_anyway_and_says_so_once(tmp_path, monkeypatch, caplog):
    """Review: on a mount where flock fails with ENOTSUP/ENOLCK/ENOSYS every trainer with a folder
    failed at start (it trained before the lock existed), and folder_in_use raised in place of a
    run's real error (RunRecorder.fail)."""
    import errno
    import fcntl

    from engine import training

    def no_flock(fd, op):
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    monkeypatch.setattr(training, "_warned_no_locking", False, raising=False)
    with caplog.at_level("WARNING", logger=training.log.name):
        assert _trainer(tmp_path / "a").fit().reason == "completed"
        assert _trainer(tmp_path / "b").fit().reason == "completed"
    said = [r for r in caplog.records if "cannot be locked on this filesystem" in r.getMessage()]
    assert len(said) == 1
    (tmp_path / "b" / LOCK_FILE).write_text("123\n")
    assert folder_in_use(tmp_path / "b") is None
    monkeypatch.setattr(fcntl, "flock", lambda fd, op: (_ for _ in ()).throw(OSError(errno.EIO, "I/O")))
    assert folder_in_use(tmp_path / "b") is None  # any error: nobody can be seen holding it
    with pytest.raises(OSError, match="I/O"):  # but a trainer is not started on an unknown error
        RunFolderLock(tmp_path / "c").acquire()


def test_a_probe_holding_the_lock_for_a_moment_does_not_refuse_a_starting_trainer(tmp_path):
    """Review: folder_in_use takes the lock for microseconds; a trainer starting then was refused
    ("its pid not written yet"). A lock without a pid is retried for a moment."""
    import fcntl
    import threading

    out = tmp_path / "run"
    out.mkdir()
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a probe: locked, no pid written
    threading.Timer(0.05, os.close, (fd,)).start()
    lock = RunFolderLock(out).acquire()  # waits out the probe
    assert folder_in_use(out) == os.getpid()
    lock.release()
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held for longer, still without a pid
        with pytest.raises(RunFolderBusyError, match="its pid not written yet"):
            RunFolderLock(out).acquire()
    finally:
        os.close(fd)


def test_run_file_writers_in_threads_of_one_process_never_lose_a_mark(tmp_path):
    """Review: every thread of a process wrote run.json through the same temporary name; a losing
    os.replace returned False and that mark was lost."""
    import threading

    from engine.training import mark_run_folder

    results = []

    def marker(n):
        results.extend(mark_run_folder(tmp_path, "running", None, run_id=n) for _ in range(100))

    threads = [threading.Thread(target=marker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 600 and all(results)
    assert _run_file(tmp_path)["status"] == "running" and not list(tmp_path.glob("*.part"))
