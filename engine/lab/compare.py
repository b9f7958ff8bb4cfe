"""Compare recurrent cells on a synthetic task: accuracy against sequence length.

For every (cell, length) a fresh small model (one :class:`~engine.nn.recurrent.Recurrent` plus a
linear head) is trained for the same number of steps on freshly generated batches with the
generic :class:`~engine.training.Trainer`, then scored on held-out batches. Every run starts from
the same seed, so the cells see the same data. Progress goes to ``on_event(dict)``; a cancel token
(anything with ``.cancelled``) stops between batches and returns what was measured so far.

Events (plain dicts, so they cross thread boundaries as they are):

* ``{"kind": "progress", "cell", "length", "step", "steps", "loss", "run", "runs"}``
* ``{"kind": "point", "cell", "length", "accuracy", "loss", "seconds", "run", "runs"}``
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from engine.lab.tasks import Task, make_task
from engine.nn.cells import CELLS
from engine.nn.recurrent import Recurrent
from engine.training import ProgressEvent, TrainConfig, Trainer

LECTURE_CELLS = ("rnn", "irnn", "gru", "lstm", "peephole_lstm", "cifg_lstm")


@dataclass
class CompareConfig:
    task: str = "parity"  # a name from engine.lab.tasks.TASKS
    cells: tuple[str, ...] = LECTURE_CELLS  # names from engine.nn.cells.CELLS
    lengths: tuple[int, ...] = (5, 10, 20, 40)  # sequence lengths T to train and score at
    hidden_size: int = 32  # H of every model
    num_layers: int = 1  # stacked recurrent layers
    steps: int = 300  # optimisation steps per (cell, length)
    batch_size: int = 64  # sequences per step
    lr: float = 3e-3  # Adam learning rate
    clip_norm: float = 1.0  # max global gradient norm; 0 disables clipping
    eval_batches: int = 4  # held-out batches (of batch_size) scored per point
    seed: int = 0  # data and initialisation seed, the same for every cell
    log_every: int = 10  # progress event every N steps
    task_options: dict = field(default_factory=dict)  # e.g. {"tolerance": 0.05} for adding

    def validate(self) -> None:
        unknown = [c for c in self.cells if c not in CELLS]
        if unknown:
            raise ValueError(f"unknown cell(s) {unknown}; known: {', '.join(CELLS)}")
        if not self.cells or not self.lengths:
            raise ValueError("choose at least one cell and one sequence length")
        if self.steps < 1 or self.batch_size < 1 or self.hidden_size < 1 or self.eval_batches < 1:
            raise ValueError("steps, batch_size, hidden_size and eval_batches must be positive")
        task = make_task(self.task, **self.task_options)
        for length in self.lengths:
            task.check_length(int(length))


class SequenceModel(nn.Module):
    """A recurrent stack and a linear head; ``forward(x (B, T, I))`` gives the task's prediction."""

    def __init__(self, task: Task, cell: str, hidden_size: int, num_layers: int = 1, **cell_kw):
        super().__init__()
        self.many_to_one = task.many_to_one
        self.rnn = Recurrent(cell, task.input_size, hidden_size, num_layers=num_layers, **cell_kw)
        self.head = nn.Linear(hidden_size, task.output_size)

    def predict(self, outputs: Tensor) -> Tensor:
        """Recurrent outputs (B, T, H) -> (B, O) from the last step, or (B, T, O) per step."""
        return self.head(outputs[:, -1] if self.many_to_one else outputs)

    def forward(self, x: Tensor) -> Tensor:
        outputs, _ = self.rnn(x)  # (B, T, H)
        return self.predict(outputs)


def fixed_batches(task: Task, count: int, batch: int, length: int, seed: int, device) -> list:
    gen = torch.Generator().manual_seed(seed)
    return [tuple(t.to(device) for t in task.sample(batch, length, gen)) for _ in range(count)]


def accuracy(model: nn.Module, task: Task, batches: list) -> tuple[float, float]:
    """(accuracy, mean loss) of ``model`` over ``batches`` of (x, y)."""
    model.eval()
    correct = counted = 0
    loss = 0.0
    with torch.no_grad():
        for x, y in batches:
            pred = model(x)
            c, n = task.score(pred, y)
            correct, counted = correct + c, counted + n
            loss += float(task.loss(pred, y))
    model.train()
    return correct / max(counted, 1), loss / max(len(batches), 1)


def train_one(
    task: Task,
    cell: str,
    length: int,
    cfg: CompareConfig,
    device: str = "cpu",
    callbacks: list[Callable] = (),
    cancel=None,
    cell_kw: dict | None = None,
) -> tuple[SequenceModel, str]:
    """Train one model on ``task`` at ``length``; returns it and the trainer's finish reason."""
    torch.manual_seed(cfg.seed)
    model = SequenceModel(task, cell, cfg.hidden_size, cfg.num_layers, **(cell_kw or {})).to(device)
    gen = torch.Generator().manual_seed(cfg.seed + 1)

    def batches(_epoch: int):
        for _ in range(cfg.steps):
            x, y = task.sample(cfg.batch_size, length, gen)
            yield x.to(device), y.to(device)

    def step_loss(m, batch):
        x, y = batch
        return task.loss(m(x), y), x.shape[0]

    tcfg = TrainConfig(
        epochs=1,
        lr=cfg.lr,
        optimizer="adam",
        clip_norm=cfg.clip_norm,
        checkpoint_every=0,
        patience=0,
        log_every=max(1, cfg.log_every),
        seed=cfg.seed,
        amp=False,
    )
    trainer = Trainer(
        model,
        tcfg,
        batches,
        step_loss,
        callbacks=callbacks,
        cancel=cancel,
        device=device,
        steps_per_epoch=cfg.steps,
    )
    done = trainer.fit()
    return model, done.reason


def run_comparison(
    cfg: CompareConfig,
    device: str = "cpu",
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """Train and score every cell at every length. Returns::

    {"task", "description", "chance", "cells", "lengths", "accuracy": {cell: [acc or None]},
     "loss": {cell: [...]}, "seconds": {cell: [...]}, "cancelled": bool, "config": {...}}
    """
    cfg.validate()
    task = make_task(cfg.task, **cfg.task_options)
    cells, lengths = list(cfg.cells), [int(n) for n in cfg.lengths]
    result = {
        "task": cfg.task,
        "description": task.describe(),
        "chance": task.chance,
        "cells": cells,
        "lengths": lengths,
        "accuracy": {c: [None] * len(lengths) for c in cells},
        "loss": {c: [None] * len(lengths) for c in cells},
        "seconds": {c: [None] * len(lengths) for c in cells},
        "cancelled": False,
        "config": asdict(cfg),
    }
    emit = on_event or (lambda _e: None)
    runs = len(cells) * len(lengths)
    run = 0
    for j, length in enumerate(lengths):
        held_out = fixed_batches(task, cfg.eval_batches, cfg.batch_size, length, cfg.seed + 99, device)
        for cell in cells:
            run += 1

            def on_train(event, cell=cell, length=length, run=run) -> None:
                if isinstance(event, ProgressEvent):
                    emit(
                        {
                            "kind": "progress",
                            "cell": cell,
                            "length": length,
                            "step": event.step,
                            "steps": cfg.steps,
                            "loss": event.loss,
                            "run": run,
                            "runs": runs,
                        }
                    )

            t0 = time.perf_counter()
            model, reason = train_one(task, cell, length, cfg, device, [on_train], cancel)
            if reason == "cancelled":
                result["cancelled"] = True
                return result
            acc, loss = accuracy(model, task, held_out)
            secs = time.perf_counter() - t0
            result["accuracy"][cell][j], result["loss"][cell][j] = acc, loss
            result["seconds"][cell][j] = secs
            emit(
                {
                    "kind": "point",
                    "cell": cell,
                    "length": length,
                    "accuracy": acc,
                    "loss": loss,
                    "seconds": secs,
                    "run": run,
                    "runs": runs,
                }
            )
    return result
