"""The generic trainer: events, early stopping, cancel, resume, checkpoints, DDP on gloo."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from engine import checkpoint
from engine.cancel import CancelToken
from engine.training import EvaluationEvent, FailedEvent, FinishedEvent, ProgressEvent, TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[2]


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 256, 32)]

    def step_loss(m, b):
        return torch.nn.functional.mse_loss(m(b[0]).squeeze(-1), b[1]), len(b[1])

    def evaluate(m):
        return {"val_loss": float(torch.nn.functional.mse_loss(m(x).squeeze(-1), y))}

    return batches, step_loss, evaluate


def test_trainer_learns_and_reports_events(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    batches, step_loss, evaluate = _problem()
    events = []
    saved = []
    t = Trainer(
        model,
        TrainConfig(epochs=30, lr=0.05, log_every=4, patience=0),
        lambda e: batches,
        step_loss,
        evaluate,
        tmp_path,
        lambda f, m: saved.append(f),
        [events.append],
        steps_per_epoch=8,
    )
    done = t.fit()
    assert isinstance(done, FinishedEvent) and done.reason == "completed" and done.step == 240
    assert done.best_metric < 1e-3
    prog = [e for e in events if isinstance(e, ProgressEvent)]
    assert prog and prog[-1].step == 240 and prog[0].total_steps == 240 and prog[0].items_per_s > 0
    assert [e for e in events if isinstance(e, EvaluationEvent)][0].improved
    assert saved and (tmp_path / "checkpoint" / "trainer_state.json").is_file()


def test_a_budget_ending_on_an_evaluation_step_is_not_evaluated_twice(tmp_path):
    torch.manual_seed(0)
    batches, step_loss, evaluate = _problem()
    calls = []

    def counted(m):
        calls.append(1)
        return evaluate(m)

    cfg = TrainConfig(epochs=5, lr=0.05, eval_every=4, max_steps=12, patience=0)
    done = Trainer(torch.nn.Linear(4, 1), cfg, lambda e: batches, step_loss, counted, tmp_path).fit()
    assert done.reason == "step_budget" and done.step == 12
    assert len(calls) == 3 and [h["step"] for h in done.history] == [4, 8, 12]
    cfg = TrainConfig(epochs=5, lr=0.05, eval_every=5, max_steps=12, patience=0)
    done = Trainer(torch.nn.Linear(4, 1), cfg, lambda e: batches, step_loss, evaluate, tmp_path / "b").fit()
    assert [h["step"] for h in done.history] == [5, 10, 12]  # a budget between evaluations still ends on one


def test_early_stopping_on_a_metric_that_stops_improving(tmp_path):
    model = torch.nn.Linear(4, 1)
    batches, step_loss, _ = _problem()
    values = iter([5.0, 4.0, 4.5, 4.6, 4.7, 1.0, 1.0])
    done = Trainer(
        model,
        TrainConfig(epochs=10, patience=3),
        lambda e: batches,
        step_loss,
        lambda m: {"val_loss": next(values)},
        steps_per_epoch=8,
    ).fit()
    assert done.reason == "early_stopped" and done.best_metric == 4.0 and len(done.history) == 5


def test_cancel_between_batches():
    model = torch.nn.Linear(4, 1)
    batches, step_loss, _ = _problem()
    cancel = CancelToken()

    def cb(e):
        if isinstance(e, ProgressEvent) and e.step >= 3:
            cancel.cancel()

    done = Trainer(
        model, TrainConfig(epochs=5, log_every=1), lambda e: batches, step_loss, callbacks=[cb], cancel=cancel
    ).fit()
    assert done.reason == "cancelled" and done.step == 3


def test_pause_waits_between_steps_and_stops_the_clock():
    import threading
    import time

    model = torch.nn.Linear(4, 1)
    batches, step_loss, _ = _problem()
    token = CancelToken()
    steps_seen = []

    def cb(e):
        if isinstance(e, ProgressEvent):
            steps_seen.append(e.step)
            if e.step == 3:
                token.pause()
                threading.Timer(0.6, token.resume).start()

    t0 = time.monotonic()
    done = Trainer(
        model, TrainConfig(epochs=2, log_every=1), lambda e: batches, step_loss, callbacks=[cb], cancel=token
    ).fit()
    wall = time.monotonic() - t0
    assert done.reason == "completed" and done.step == 16 and steps_seen == list(range(1, 17))
    assert wall >= 0.6 and done.elapsed_s <= wall - 0.55  # the paused time is not training time
    # cancelling a paused run wakes it and stops it
    token = CancelToken()
    token.pause()
    threading.Timer(0.2, token.cancel).start()
    done = Trainer(model, TrainConfig(epochs=2), lambda e: batches, step_loss, cancel=token).fit()
    assert done.reason == "cancelled" and done.step == 0 and not token.paused


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    batches, step_loss, evaluate = _problem()
    torch.manual_seed(0)
    full = torch.nn.Linear(4, 1)
    Trainer(
        full,
        TrainConfig(epochs=3, lr=0.01, checkpoint_every=5, schedule="cosine"),
        lambda e: batches,
        step_loss,
        evaluate,
        tmp_path / "a",
        steps_per_epoch=8,
    ).fit()
    torch.manual_seed(0)
    part = torch.nn.Linear(4, 1)
    cfg = TrainConfig(epochs=3, lr=0.01, checkpoint_every=5, schedule="cosine", log_every=1)
    cancel = CancelToken()

    def stop_at_13(e):
        if isinstance(e, ProgressEvent) and e.step == 13:
            cancel.cancel()

    first = Trainer(
        part,
        cfg,
        lambda e: batches,
        step_loss,
        evaluate,
        tmp_path / "b",
        callbacks=[stop_at_13],
        cancel=cancel,
        steps_per_epoch=8,
    ).fit()
    assert first.reason == "cancelled" and first.step == 13
    resumed_model = torch.nn.Linear(4, 1)
    cfg2 = TrainConfig(epochs=3, lr=0.01, checkpoint_every=5, schedule="cosine")
    done = Trainer(
        resumed_model, cfg2, lambda e: batches, step_loss, evaluate, tmp_path / "b", steps_per_epoch=8
    ).fit(resume=True)
    assert done.step == 24
    for p, q in zip(full.parameters(), resumed_model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    state = json.loads((tmp_path / "b" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 24


def test_resuming_a_budget_stop_at_an_epochs_end_trains_on_and_evaluates_each_step_once(tmp_path):
    """A step budget that ends on an epoch's last batch leaves the epoch counter there; the resumed
    run passes that epoch's (trained) batches and must go on training, not evaluate the same step
    again and count it against the patience."""
    batches, step_loss, evaluate = _problem()
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    for budget in (8, 16, 24):
        cfg = TrainConfig(epochs=5, lr=0.001, max_steps=budget, patience=1)
        done = Trainer(model, cfg, lambda e: batches, step_loss, evaluate, tmp_path, steps_per_epoch=8).fit(
            resume=budget > 8
        )
        assert done.reason == "step_budget" and done.step == budget
    steps = [h["step"] for h in done.history]
    assert steps == [8, 16, 24]  # one evaluation per step count, none repeated


def test_failure_is_reported_and_raised():
    model = torch.nn.Linear(4, 1)
    events = []

    def bad_loss(m, b):
        return torch.tensor(float("nan"), requires_grad=True), 1

    with pytest.raises(FloatingPointError):
        Trainer(model, TrainConfig(epochs=1), lambda e: [0], bad_loss, callbacks=[events.append]).fit()
    assert isinstance(events[-1], FailedEvent) and "nan" in events[-1].message


def test_checkpoint_round_trip_and_errors(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        size: int = 3

    model = torch.nn.Linear(3, 2)
    checkpoint.save(tmp_path / "m", "toy", 1, Cfg(), model.state_dict(), half=True)
    meta = checkpoint.read_config(tmp_path / "m", kind="toy", max_schema=1)
    assert meta["config"] == {"size": 3}
    sd = checkpoint.load_state(tmp_path / "m")
    assert sd["weight"].dtype == torch.float16
    assert torch.allclose(sd["weight"].float(), model.weight, atol=1e-3)
    with pytest.raises(ValueError, match="expected 'other'"):
        checkpoint.read_config(tmp_path / "m", kind="other")
    with pytest.raises(ValueError, match="newer"):
        checkpoint.read_config(tmp_path / "m", max_schema=0)
    (tmp_path / "m" / "model.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="model.safetensors"):
        checkpoint.load_state(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="missing"):
        checkpoint.load_state(tmp_path / "m")


def test_device_choice(monkeypatch):
    from engine.device import choose_device

    assert choose_device("cpu").name == "cpu"
    monkeypatch.setenv("PARLANCE_DEVICE", "cpu")
    assert choose_device().label == "CPU"
    with pytest.raises(ValueError, match="known"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            choose_device("cuda")
        monkeypatch.delenv("PARLANCE_DEVICE")
        assert choose_device().name in ("cpu", "mps")
    assert choose_device("cuda", force_cpu=True).name == "cpu"


DDP_SCRIPT = textwrap.dedent("""
    import json, os, sys, torch
    sys.path.insert(0, sys.argv[1])
    from engine.training import TrainConfig, Trainer
    torch.manual_seed(0)
    x = torch.randn(64, 4); y = x.sum(1)
    uneven = sys.argv[3] == "uneven"
    n = 9 if uneven else 8
    batches = [(x[i:i+8], y[i:i+8]) for i in range(0, 8 * n, 8)][:n]
    model = torch.nn.Linear(4, 1)
    def step_loss(m, b):
        return torch.nn.functional.mse_loss(m(b[0]).squeeze(-1), b[1]), len(b[1])
    scores = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])  # only rank 0 evaluates: worse every time
    cfg = TrainConfig(epochs=5 if uneven else 2, lr=0.05, patience=1, metric="loss", mode="min")
    evaluate = (lambda m: {"loss": next(scores)}) if uneven else None
    t = Trainer(model, cfg, lambda e: batches, step_loss, evaluate=evaluate, steps_per_epoch=n,
                ddp_backend="gloo")
    done = t.fit()
    out = {"rank": t.rank, "world": t.world, "step": done.step, "reason": done.reason,
           "w": model.weight.detach().tolist()}
    open(os.path.join(sys.argv[2], f"rank{t.rank}.json"), "w").write(json.dumps(out))
    torch.distributed.destroy_process_group()
""")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["even", "uneven"])
def test_ddp_two_cpu_processes_on_gloo(tmp_path, mode):
    """Even: 8 batches, 2 epochs. Uneven: 9 batches per epoch (the odd one is left out so both ranks
    step together) and early stopping decided on rank 0 alone: both ranks must stop at once, not
    hang in the next all-reduce."""
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(29517 if mode == "even" else 29518),
            str(script),
            str(ROOT),
            str(tmp_path),
            mode,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert sorted(r["rank"] for r in results) == [0, 1] and all(r["world"] == 2 for r in results)
    if mode == "even":
        assert all(r["step"] == 8 for r in results)  # 8 batches per epoch shared by 2 ranks, 2 epochs
    else:  # 4 steps per epoch; rank 0's second evaluation (end of epoch 2) is worse: stop there
        assert all(r["step"] == 8 and r["reason"] == "early_stopped" for r in results)
    assert results[0]["w"] == results[1]["w"]  # DDP keeps the replicas identical


def test_learning_rate_decay_follows_the_time_budget():
    cfg = TrainConfig(epochs=1000, lr=1.0, schedule="cosine", warmup_steps=0, max_minutes=1.0)
    tr = Trainer(torch.nn.Linear(2, 2), cfg, lambda e: [], lambda m, b: None, steps_per_epoch=10)
    for seconds, expected in ((0.0, 1.0), (30.0, 0.55), (60.0, 0.1), (600.0, 0.1)):
        tr.elapsed = lambda s=seconds: s
        assert tr._lr_at(5) == pytest.approx(expected, abs=1e-3)
    tr.cfg = TrainConfig(epochs=1, lr=1.0, schedule="cosine", max_minutes=1000.0)  # steps decide here
    tr.elapsed = lambda: 0.0
    assert tr._lr_at(10) == pytest.approx(0.1, abs=1e-3)


def test_resume_needs_a_checkpoint_and_the_same_model_settings(tmp_path):
    from engine.training import check_out_dir

    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        check_out_dir(tmp_path / "empty", resume=True)
    batches, step_loss, evaluate = _problem()
    cfg = TrainConfig(epochs=1, lr=0.01)
    Trainer(torch.nn.Linear(4, 1), cfg, lambda e: batches, step_loss, evaluate, tmp_path).fit()
    check_out_dir(tmp_path, resume=True)
    bigger = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 1))
    with pytest.raises(ValueError, match="trained with other model settings"):
        Trainer(bigger, cfg, lambda e: batches, step_loss, evaluate, tmp_path).fit(resume=True)


def test_cli_number_types_refuse_bad_values():
    import argparse

    from engine.cli_args import count, positive

    assert count("0") == 0 and positive("3") == 3
    for fn, bad in ((count, "-1"), (positive, "0"), (positive, "x"), (count, "1.5")):
        with pytest.raises(argparse.ArgumentTypeError):
            fn(bad)


def test_an_output_folder_that_is_a_file_is_a_usage_error(tmp_path):
    import argparse

    from engine.cli_args import folder

    assert folder(str(tmp_path / "new")) == str(tmp_path / "new") and folder(str(tmp_path)) == str(tmp_path)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(argparse.ArgumentTypeError, match="is a file"):
        folder(str(tmp_path / "afile"))


def test_a_folder_holding_a_run_is_not_replaced_without_overwrite(tmp_path):
    from engine.training import check_out_dir

    check_out_dir(tmp_path / "new", resume=False)
    batches, step_loss, evaluate = _problem()
    Trainer(
        torch.nn.Linear(4, 1), TrainConfig(epochs=1), lambda e: batches, step_loss, evaluate, tmp_path
    ).fit()
    with pytest.raises(FileExistsError, match="already holds a model or a training run"):
        check_out_dir(tmp_path, resume=False)
    check_out_dir(tmp_path, resume=False, overwrite=True)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "captioner", "--images", "IMG", "--captions", "CAP"],
        ["train", "captioner-scst", "--init", "IMG", "--images", "IMG", "--captions", "CAP"],
        ["train", "lm", "--text", "CAP"],
    ],
)
def test_every_training_cli_refuses_to_replace_a_model_without_overwrite(tmp_path, capsys, argv):
    """Every training command, not only chat and summarizer: ``--out`` at a model folder (the
    shipped one included) is refused before any data is read; ``--overwrite`` gets past the check
    (and then fails on the missing data, not on the folder)."""
    from engine.cli import main

    (tmp_path / "config.json").write_text("{}")
    argv = [a.replace("IMG", str(tmp_path / "none")).replace("CAP", str(tmp_path / "none.txt")) for a in argv]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "already holds a model" in capsys.readouterr().err
    assert (tmp_path / "config.json").read_text() == "{}"
    assert main([*argv, "--out", str(tmp_path), "--overwrite"]) == 2
    assert "already holds" not in capsys.readouterr().err


def test_the_cli_progress_bar_appears_with_the_first_event_and_ends_in_words(capsys):
    from engine.training import FailedEvent, FinishedEvent, ProgressEvent, tqdm_callback

    cb = tqdm_callback("train x")
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # nothing yet: a data error would print alone
    cb(
        ProgressEvent(
            step=3, epoch=0, total_steps=10, loss=1.5, lr=0.1, items_per_s=100.0, elapsed_s=1.0, eta_s=2.0
        )
    )
    cb(FinishedEvent("early_stopped", 3, 2.0, 90.0))
    out = capsys.readouterr()
    assert "train x" in out.err and "FinishedEvent" not in out.out + out.err
    # messages go to stderr with the bar: stdout is for results (--json, piped output)
    assert "finished at step 3 (stopped early: validation stopped improving, 1.5 min)" in out.err
    assert out.out == ""
    cb2 = tqdm_callback()
    cb2(FailedEvent("out of memory", 7))
    assert "failed at step 7: out of memory" in capsys.readouterr().err


def test_perplexity_of_a_diverged_run_is_inf_not_an_overflow_error():
    """A validation loss above ~709 raised OverflowError from math.exp after training had finished
    (train dialogue, train lm with a huge --lr) (bug hunt)."""
    import math

    from engine.training import perplexity

    assert perplexity(0.0) == 1.0 and perplexity(2.0) == pytest.approx(math.exp(2.0))
    assert perplexity(800.0) == math.inf and perplexity(1e300) == math.inf
