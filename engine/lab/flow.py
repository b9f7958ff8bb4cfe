"""Gradient flow during training: ``||dLoss/dh_t||`` per step and layer, measured live.

A small model learns a synthetic task (engine.lab.tasks) with the generic trainer; every
``probe_every`` steps (and once before training) the gradient of the loss on a fixed probe batch
is taken with respect to every hidden state (:func:`engine.lab.probes.gradient_flow`) and with
respect to the parameters (their global norm, and whether clipping at ``clip_norm`` would cut it).
Toggle ``clip_norm`` and ``identity_init`` to see the lecture's two remedies at work.

Events to ``on_event`` (plain dicts): ``{"kind": "flow", "step", "steps", "train_loss", "loss",
"h": [[...T] per layer], "c": same or None, "param_grad_norm", "clipped"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from engine.lab.compare import SequenceModel, fixed_batches
from engine.lab.probes import gradient_flow
from engine.lab.tasks import make_task
from engine.nn.cells import CELLS
from engine.training import ProgressEvent, TrainConfig, Trainer

ELMAN = ("rnn", "irnn")


@dataclass
class FlowConfig:
    task: str = "adding"  # a name from engine.lab.tasks.TASKS
    cell: str = "rnn"  # a name from engine.nn.cells.CELLS
    length: int = 30  # sequence length T
    hidden_size: int = 32  # H
    num_layers: int = 1  # stacked layers (norms are reported per layer)
    steps: int = 200  # optimisation steps
    batch_size: int = 32  # sequences per step
    lr: float = 3e-3  # Adam learning rate
    clip_norm: float = 0.0  # max global gradient norm; 0 = no clipping
    identity_init: bool = False  # Elman cells only: recurrent W = I and zero biases (Le et al.)
    probe_every: int = 10  # measure the gradient flow every N steps
    probe_batch: int = 16  # sequences in the fixed probe batch
    seed: int = 0  # data and initialisation seed

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; known: {', '.join(CELLS)}")
        if self.identity_init and self.cell not in ELMAN:
            raise ValueError(
                f"identity initialisation applies to Elman cells ({', '.join(ELMAN)}), not {self.cell!r}"
            )
        if self.steps < 0 or self.probe_every < 1 or self.probe_batch < 1 or self.batch_size < 1:
            raise ValueError("steps must be >= 0; probe_every, probe_batch and batch_size >= 1")
        make_task(self.task).check_length(self.length)


def _param_grad_norm(model: SequenceModel, loss_fn, x) -> float:
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        loss = loss_fn(model.rnn(x)[0])
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    return float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None)))


def probe(model: SequenceModel, task, batch: tuple) -> dict:
    """Gradient flow and parameter gradient norm of ``model`` on one (x, y) batch."""
    x, y = batch

    def loss_fn(outputs):
        return task.loss(model.predict(outputs), y)

    flow = gradient_flow(model.rnn, x, loss_fn)
    return {
        "h": flow["h"].tolist(),
        "c": None if flow["c"] is None else flow["c"].tolist(),
        "loss": flow["loss"],
        "param_grad_norm": _param_grad_norm(model, loss_fn, x),
    }


def run_flow(
    cfg: FlowConfig,
    device: str = "cpu",
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """Train while probing. Returns ``{"config", "probes": [event, …], "reason"}``."""
    cfg.validate()
    task = make_task(cfg.task)
    emit = on_event or (lambda _e: None)
    cell_kw = {"identity_init": True} if cfg.identity_init and cfg.cell == "rnn" else {}
    torch.manual_seed(cfg.seed)
    model = SequenceModel(task, cfg.cell, cfg.hidden_size, cfg.num_layers, **cell_kw).to(device)
    probe_batch = fixed_batches(task, 1, cfg.probe_batch, cfg.length, cfg.seed + 7, device)[0]
    probes: list[dict] = []

    def record(step: int, train_loss: float | None) -> None:
        p = probe(model, task, probe_batch)
        clipped = bool(cfg.clip_norm) and p["param_grad_norm"] > cfg.clip_norm
        event = {
            "kind": "flow",
            "step": step,
            "steps": cfg.steps,
            "train_loss": train_loss,
            **p,
            "clipped": clipped,
        }
        probes.append(event)
        emit(event)

    record(0, None)
    reason = "completed"
    if cfg.steps:
        gen = torch.Generator().manual_seed(cfg.seed + 1)

        def batches(_epoch: int):
            for _ in range(cfg.steps):
                x, y = task.sample(cfg.batch_size, cfg.length, gen)
                yield x.to(device), y.to(device)

        def step_loss(m, batch):
            return task.loss(m(batch[0]), batch[1]), batch[0].shape[0]

        def on_train(event) -> None:
            if isinstance(event, ProgressEvent):
                record(event.step, event.loss)

        tcfg = TrainConfig(
            epochs=1,
            lr=cfg.lr,
            optimizer="adam",
            clip_norm=cfg.clip_norm,
            checkpoint_every=0,
            patience=0,
            log_every=cfg.probe_every,
            seed=cfg.seed,
            amp=False,
        )
        trainer = Trainer(
            model,
            tcfg,
            batches,
            step_loss,
            callbacks=[on_train],
            cancel=cancel,
            device=device,
            steps_per_epoch=cfg.steps,
        )
        done = trainer.fit()
        reason = done.reason
        if (
            done.step > probes[-1]["step"]
        ):  # steps past the last multiple of probe_every: the end is probed too
            record(done.step, None)
    return {"config": asdict(cfg), "probes": probes, "reason": reason}
