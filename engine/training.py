"""One generic trainer for every model.

The trainer knows nothing about models, data or Qt. The caller supplies:
- ``batches(epoch) -> iterable`` of batches (the same order for the same epoch: resumable),
- ``step_loss(model, batch) -> (loss, n_items)``: the mean loss of a batch and how many tokens
  (or items) it covered, for throughput,
- ``evaluate(model) -> dict`` of validation metrics (optional),
- ``save_best(folder, model)`` writing a self-describing model folder (optional).
Progress is reported as frozen event dataclasses to callbacks; a cancel token is checked between
batches. Under ``torchrun`` (WORLD_SIZE > 1) the model is wrapped in DistributedDataParallel,
batches are sharded by rank and only rank 0 evaluates, saves and reports.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.cancel import CancelToken, wait_if_paused

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 10  # passes over the training batches
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    optimizer: str = "adamw"  # "adam" | "adamw"
    clip_norm: float = 1.0  # max global gradient norm; 0 disables clipping
    schedule: str = "constant"  # "constant" | "cosine" | "linear" (decay to 10% after warmup)
    warmup_steps: int = 0  # linear warmup steps
    eval_every: int = 0  # evaluate every N steps; 0 = at the end of each epoch
    checkpoint_every: int = 200  # save resumable training state every N steps; 0 = per epoch only
    patience: int = 3  # stop after this many evaluations without improvement; 0 disables
    metric: str = "val_loss"  # key of evaluate()'s dict used for early stopping / best model
    mode: str = "min"  # "min" or "max" for ``metric``
    max_minutes: float = 0.0  # wall-clock budget; 0 = none
    max_steps: int = 0  # optimisation steps budget; 0 = none
    log_every: int = 10  # progress event every N steps
    seed: int = 0  # seeds python, numpy and torch
    amp: bool = True  # bf16 autocast on CUDA where supported


@dataclass(frozen=True)
class ProgressEvent:
    step: int
    epoch: int
    total_steps: int  # estimated steps for the whole run (0 if unknown)
    loss: float  # running mean loss since the last event
    lr: float
    items_per_s: float  # tokens (or items) per second since the last event
    elapsed_s: float
    eta_s: float  # estimated seconds to the end (nan if unknown)


@dataclass(frozen=True)
class EvaluationEvent:
    step: int
    epoch: int
    metrics: dict
    improved: bool
    elapsed_s: float


@dataclass(frozen=True)
class FinishedEvent:
    reason: str  # "completed" | "early_stopped" | "cancelled" | "time_budget" | "step_budget"
    step: int
    best_metric: float | None
    elapsed_s: float
    history: list = field(default_factory=list)  # list of evaluation metric dicts


@dataclass(frozen=True)
class FailedEvent:
    message: str
    step: int


STATE_DIR = "checkpoint"
STATE_FILE = "trainer_state.json"  # in STATE_DIR: what a resume needs first
# in a run folder: {"status": "running" | "complete" | "stopped" | "error", "reason", …}; the app's
# runs add "run_id" (engine.lab.jobs.RunRecorder). A run still training is "(unfinished)" in the
# model pickers (engine.lab.jobs.run_state), whoever trains it.
RUN_FILE = "run.json"
FINISHED_OK = ("completed", "early_stopped", "step_budget", "time_budget")  # reasons of a complete run
LOCK_FILE = ".train.lock"  # in a run folder while a trainer trains it; holds the trainer's pid
_LOCK_BYTE = 1 << 30  # Windows: the byte locked (a locked byte cannot be read there, the pid can)
# flock's "this filesystem cannot lock" (some SMB/FUSE mounts, NFS mounted with nolock)
_NO_LOCKING = {getattr(errno, n) for n in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS") if hasattr(errno, n)}
_PID_WAIT_S = 0.2  # a lock held by nobody's pid yet (a folder_in_use probe, a trainer starting): retried
_warned_no_locking = False


class RunFolderBusyError(OSError):
    """Another process is training in this run folder."""


def _busy(folder: Path, pid: int | None) -> RunFolderBusyError:
    who = f"pid {pid}" if pid else "its pid not written yet"
    return RunFolderBusyError(
        f"this run folder ({folder}) is being trained by another process ({who}); wait for it to end "
        "or choose another --out"
    )


def _read_pid(fd: int) -> int | None:
    """The pid a lock's holder wrote into it (None when not written yet)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _try_lock(fd: int) -> bool:
    """An exclusive lock on the open file ``fd`` without waiting; False when another holds it.
    OSError when it cannot be locked at all (errno in _NO_LOCKING: the filesystem has no locks)."""
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, _LOCK_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    """Drop ``fd``'s lock before it is closed. Windows may keep a byte-range lock for a moment after
    its file is closed ("depending upon available system resources"); closing drops flock's."""
    if os.name == "nt":
        import msvcrt

        with contextlib.suppress(OSError):  # not locked (a filesystem without locks)
            os.lseek(fd, _LOCK_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _lock_or_do_without(fd: int, folder: Path) -> bool:
    """_try_lock, where a filesystem that cannot lock counts as locked: the lock is advisory (it
    keeps two trainers out of one folder), and such a folder trained before it existed. Said once."""
    global _warned_no_locking
    try:
        return _try_lock(fd)
    except OSError as exc:
        if exc.errno not in _NO_LOCKING:
            raise
        if not _warned_no_locking:
            _warned_no_locking = True
            log.warning(
                "run folders cannot be locked on this filesystem (%s: %s); training anyway, but nothing "
                "keeps a second trainer out of the same folder",
                folder,
                exc.strerror or exc,
            )
        return True


class RunFolderLock:
    """An exclusive lock on a run folder for as long as one trainer trains in it (``LOCK_FILE``:
    flock on POSIX, msvcrt.locking on Windows; the system drops it when the process ends, however
    it ends). A second trainer in the same folder, in any process, is refused: RunFolderBusyError."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunFolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + _PID_WAIT_S
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                locked = _lock_or_do_without(fd, self.folder)
                if locked and (os.name == "nt" or _same_file(fd, self.path)):
                    break
                if not locked:
                    pid = _read_pid(fd)
                    # no pid: a folder_in_use probe holds it for a moment, or a trainer that is
                    # about to write its pid; either is known within _PID_WAIT_S
                    if pid is not None or time.monotonic() >= deadline:
                        raise _busy(self.folder, pid)
                else:
                    _unlock(fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # its holder removed it as we opened it (lock the file there now), or busy
            if not locked:
                time.sleep(0.005)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if os.name != "nt" and _same_file(fd, self.path):
                self.path.unlink(missing_ok=True)  # while still locked: nobody holds a removed file
        except OSError:
            pass  # left behind: the next trainer locks it as it is
        finally:
            _unlock(fd)
            os.close(fd)  # drops the lock
        if os.name == "nt":
            with contextlib.suppress(OSError):  # fails while another process has it open: kept
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunFolderLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def folder_in_use(folder: str | os.PathLike) -> int | None:
    """The pid of the process training in ``folder`` now (0 when it has not written it yet), or
    None when no trainer holds it, or it cannot be told (a filesystem without locks). Only looks:
    the folder's lock file is not created."""
    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)  # the probe's own lock (closing the file drops it on POSIX)
            return None
        return _read_pid(fd) or 0
    except OSError:  # cannot lock here at all: the lock is advisory, nobody can be seen holding it
        return None
    finally:
        os.close(fd)


def run_folder_owner(folder: str | os.PathLike) -> int | None:
    """The app's run id that ``folder``'s RUN_FILE names; None when it names none (no file, one that
    cannot be read, or a run the app did not record: the CLI's)."""
    try:
        record = json.loads((Path(folder) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run_id = record.get("run_id") if isinstance(record, dict) else None
    return run_id if isinstance(run_id, int) and not isinstance(run_id, bool) else None


def mark_run_folder(folder: str | os.PathLike, status: str, reason: str | None = None, **extra) -> bool:
    """Set ``status`` and ``reason`` (and ``extra``) in ``folder``'s RUN_FILE, keeping what else it
    says (the app's run id); written whole (a reader never sees half of it). False when it could
    not be written (the folder is gone or read-only): the run itself goes on."""
    path = Path(folder) / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict):
        record = {}
    record.update(extra, status=status, reason=reason)
    tmp = None
    try:  # a temporary file of its own: two threads of one process (isolate=False) write it too
        fd, name = tempfile.mkstemp(prefix=f"{RUN_FILE}.", suffix=".part", dir=path.parent)
        tmp = Path(name)
        with open(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(record))
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        return False
    return True


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _dist_info() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


class Trainer:
    def __init__(
        self,
        model,
        config: TrainConfig,
        batches: Callable[[int], Iterable],
        step_loss: Callable,
        evaluate: Callable[[Any], dict] | None = None,
        out_dir: str | os.PathLike | None = None,
        save_best: Callable[[Path, Any], None] | None = None,
        callbacks: Iterable[Callable] = (),
        cancel: CancelToken | None = None,
        device: str = "cpu",
        steps_per_epoch: int = 0,
        ddp_backend: str | None = None,
    ):
        import torch

        self.cfg = config
        self.model = model
        self.batches = batches
        self.step_loss = step_loss
        self.evaluate = evaluate
        self.out_dir = Path(out_dir) if out_dir else None
        self.save_best = save_best
        self.callbacks = list(callbacks)
        self.cancel = cancel or CancelToken()
        self.device = device
        self.steps_per_epoch = steps_per_epoch
        self.rank, self.world = _dist_info()
        self.ddp_model = model
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                backend = ddp_backend or ("nccl" if device.startswith("cuda") else "gloo")
                dist.init_process_group(backend)
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[int(device.split(":")[1])] if device.startswith("cuda:") else None
            )
        params = [p for p in model.parameters() if p.requires_grad]
        opt_cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(config.optimizer)
        if opt_cls is None:
            raise ValueError(f"unknown optimizer {config.optimizer!r}; known: adam, adamw")
        self.optimizer = opt_cls(params, lr=config.lr, weight_decay=config.weight_decay)
        self.step = 0
        self.epoch = 0
        self.best: float | None = None
        self.bad_evals = 0
        self.history: list[dict] = []
        self._t0 = time.monotonic()
        self._elapsed_before = 0.0
        self.saved_step: int | None = None  # step of the last complete resumable checkpoint

    # ---- events -------------------------------------------------------------------------------
    def _emit(self, event) -> None:
        if self.rank != 0:
            return
        for cb in self.callbacks:
            cb(event)

    def _lr_at(self, step: int) -> float:
        """Warmup, then the schedule's decay. Progress is the larger of the step fraction and,
        with a wall-clock budget, the time fraction: a ``--minutes`` run anneals fully whatever
        the machine's speed (the number of epochs it reaches is not known in advance)."""
        c = self.cfg
        if c.warmup_steps and step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        total = self._total_steps()
        if c.schedule == "constant" or not (total or c.max_minutes):
            return c.lr
        frac = (step - c.warmup_steps) / max(1, total - c.warmup_steps) if total else 0.0
        if c.max_minutes:
            frac = max(frac, self.elapsed() / (c.max_minutes * 60))
        frac = min(1.0, frac)
        if c.schedule == "cosine":
            return c.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        if c.schedule == "linear":
            return c.lr * (1.0 - 0.9 * frac)
        raise ValueError(f"unknown schedule {c.schedule!r}; known: constant, cosine, linear")

    def _total_steps(self) -> int:
        total = self.steps_per_epoch * self.cfg.epochs
        if self.cfg.max_steps:
            total = min(total, self.cfg.max_steps) if total else self.cfg.max_steps
        return total

    def elapsed(self) -> float:
        return self._elapsed_before + time.monotonic() - self._t0

    # ---- checkpoints --------------------------------------------------------------------------
    def save_state(self) -> None:
        """Resumable state: weights, optimizer tensors (safetensors) and counters (JSON).

        All three files are written next to their targets first and renamed into place only when
        every one was written, so a full disk (or a crash) mid-save leaves the previous checkpoint
        whole; the error then names the step of that last good checkpoint."""
        if self.rank != 0 or self.out_dir is None:
            return
        from safetensors.torch import save_file

        from engine.checkpoint import _atomic_write

        d = self.out_dir / STATE_DIR
        d.mkdir(parents=True, exist_ok=True)
        sd = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        opt = self.optimizer.state_dict()
        tensors, scalars = {}, {}
        for pid, st in opt["state"].items():
            for k, v in st.items():
                if hasattr(v, "detach"):
                    tensors[f"{pid}.{k}"] = v.detach().cpu().contiguous()
                else:
                    scalars[f"{pid}.{k}"] = v
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "best": self.best,
            "bad_evals": self.bad_evals,
            "history": self.history,
            "elapsed_s": self.elapsed(),
            "param_groups": opt["param_groups"],
            "opt_scalars": scalars,
            "config": asdict(self.cfg),
        }
        parts = {
            d / "model.safetensors.part": d / "model.safetensors",
            d / "optimizer.safetensors.part": d / "optimizer.safetensors",
            d / (STATE_FILE + ".part"): d / STATE_FILE,
        }
        tmp_model, tmp_opt, tmp_state = parts
        try:
            save_file(sd, str(tmp_model))
            save_file(tensors, str(tmp_opt))
            _atomic_write(tmp_state, json.dumps(state).encode())
        except Exception as exc:  # safetensors' own error is no OSError, a full disk included
            for tmp in parts:
                tmp.unlink(missing_ok=True)
            if disk_full(exc):
                raise OSError(
                    errno.ENOSPC,
                    f"The disk is full: the checkpoint at step {self.step} could not be saved; "
                    f"{self._kept()}. Free some space, then resume the run",
                    str(d),
                ) from exc
            raise
        for tmp, final in parts.items():
            os.replace(tmp, final)
        self.saved_step = self.step

    def _kept(self) -> str:
        if self.saved_step is None:
            return "no resumable checkpoint had been saved yet"
        return f"the last good checkpoint (step {self.saved_step}) is kept"

    def _evaluated_now(self) -> bool:
        """Whether the latest evaluation was at the current step."""
        return bool(self.history) and self.history[-1].get("step") == self.step

    def _load_model_state(self, tensors: dict) -> None:
        try:
            self.model.load_state_dict(tensors)
        except RuntimeError as exc:  # size mismatch / missing keys: other model settings
            first = str(exc).strip().splitlines()
            detail = next((ln.strip() for ln in first[1:] if ln.strip()), first[0] if first else "")
            raise ValueError(
                f"the checkpoint in {self.out_dir / STATE_DIR} was trained with other model settings "
                f"({detail[:160]}); resume with the settings it was started with, or start a new run "
                "in another folder"
            ) from None

    def load_state(self) -> bool:
        """Resume from ``out_dir/checkpoint`` if present. Returns True when resumed."""
        if self.out_dir is None or not (self.out_dir / STATE_DIR / STATE_FILE).is_file():
            return False
        import torch
        from safetensors.torch import load_file

        d = self.out_dir / STATE_DIR
        state = json.loads((d / STATE_FILE).read_text())
        self._load_model_state(load_file(str(d / "model.safetensors"), device=self.device))
        # on the CPU: load_state_dict moves each moment to its parameter's device and leaves "step"
        # where a fresh optimizer keeps it (the CPU; a CUDA step costs a sync per parameter per step)
        tensors = load_file(str(d / "optimizer.safetensors"), device="cpu")
        opt_state: dict = {}
        for key, v in tensors.items():
            pid, k = key.split(".", 1)
            opt_state.setdefault(int(pid), {})[k] = v
        for key, v in state["opt_scalars"].items():
            pid, k = key.split(".", 1)
            opt_state.setdefault(int(pid), {})[k] = torch.tensor(v) if k == "step" else v
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
        self.step, self.epoch = state["step"], state["epoch"]
        self.best, self.bad_evals = state["best"], state["bad_evals"]
        self.history, self._elapsed_before = state["history"], state["elapsed_s"]
        self.saved_step = self.step
        return True

    def _agree(self, flag: bool) -> bool:
        """Under DDP every rank must leave the loop at the same step (or the others wait forever in
        the next gradient all-reduce): True on every rank if it is True on any."""
        if self.world <= 1:
            return bool(flag)
        import torch
        import torch.distributed as dist

        t = torch.tensor(
            [1.0 if flag else 0.0], device=self.device if self.device.startswith("cuda") else "cpu"
        )
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    # ---- evaluation ---------------------------------------------------------------------------
    def _run_eval(self) -> bool:
        """Evaluate, track the best model; returns True if training should stop early."""
        if self.evaluate is None or self.rank != 0:
            return False
        import torch

        self.model.eval()
        with torch.no_grad():
            metrics = dict(self.evaluate(self.model))
        self.model.train()
        metrics.update(step=self.step, epoch=self.epoch, elapsed_s=round(self.elapsed(), 1))
        self.history.append(metrics)
        value = float(metrics[self.cfg.metric])
        better = self.best is None or (value < self.best if self.cfg.mode == "min" else value > self.best)
        if better:
            self.best, self.bad_evals = value, 0
            if self.save_best and self.out_dir is not None:
                self.save_best(self.out_dir, self.model)
        else:
            self.bad_evals += 1
        self._emit(EvaluationEvent(self.step, self.epoch, metrics, better, self.elapsed()))
        return bool(self.cfg.patience) and self.bad_evals >= self.cfg.patience

    # ---- the loop -----------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> FinishedEvent:
        """Train (``resume``: from ``out_dir``'s checkpoint). With an ``out_dir`` the folder is
        locked for the whole run (a second trainer there is refused: RunFolderBusyError) and its
        RUN_FILE says "running" until the run ends complete, stopped or with an error."""
        if self.out_dir is None or self.rank != 0:
            return self._fit(resume)
        with RunFolderLock(self.out_dir):
            mark_run_folder(self.out_dir, "running")
            try:
                done = self._fit(resume)
            except Exception as exc:
                mark_run_folder(self.out_dir, "error", type(exc).__name__)
                raise
            except BaseException:  # Ctrl+C in a terminal: resumable, as a cancelled run is
                mark_run_folder(self.out_dir, "stopped", "interrupted")
                raise
            mark_run_folder(
                self.out_dir, "complete" if done.reason in FINISHED_OK else "stopped", done.reason
            )
            return done

    def _fit(self, resume: bool) -> FinishedEvent:
        import torch

        from engine.device import autocast, choose_device

        try:
            if resume:
                self.load_state()
            seed_everything(self.cfg.seed + self.epoch)
            amp_ctx = autocast(choose_device(self.device), self.cfg.amp)
            self.model.train()
            self._t0 = time.monotonic()
            reason = "completed"
            run_loss, run_items, run_n, t_mark = 0.0, 0, 0, time.monotonic()
            skip = self.step - self.epoch * self.steps_per_epoch if self.steps_per_epoch else 0
            # DDP: every rank takes the same number of batches (a rank with one more would wait in its
            # gradient all-reduce for ever), so an epoch's last, incomplete round is left out
            usable = (self.steps_per_epoch // self.world) * self.world if self.world > 1 else None
            while self.epoch < self.cfg.epochs and reason == "completed":
                seed_everything(self.cfg.seed + self.epoch)
                for i, batch in enumerate(self.batches(self.epoch)):
                    if usable is not None and i >= usable:
                        break
                    if i % self.world != self.rank:
                        continue
                    if i < skip:  # resuming mid-epoch: these batches were already trained on
                        continue
                    waited = wait_if_paused(self.cancel)  # paused from the app: the clock stops too
                    self._t0 += waited
                    t_mark += waited
                    if self._agree(self.cancel.cancelled):
                        reason = "cancelled"
                        break
                    for g in self.optimizer.param_groups:
                        g["lr"] = self._lr_at(self.step)
                    with amp_ctx:
                        loss, n_items = self.step_loss(self.ddp_model, batch)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"loss became {loss.item()} at step {self.step}")
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if self.cfg.clip_norm:
                        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
                    self.optimizer.step()
                    self.step += 1
                    run_loss += float(loss.detach())
                    run_items += int(n_items)
                    run_n += 1
                    if self.step % self.cfg.log_every == 0:
                        now = time.monotonic()
                        total = self._total_steps()
                        rate = self.step / max(self.elapsed(), 1e-9)
                        eta = (total - self.step) / rate if total else float("nan")
                        self._emit(
                            ProgressEvent(
                                self.step,
                                self.epoch,
                                total,
                                run_loss / run_n,
                                self.optimizer.param_groups[0]["lr"],
                                run_items / max(now - t_mark, 1e-9),
                                self.elapsed(),
                                eta,
                            )
                        )
                        run_loss, run_items, run_n, t_mark = 0.0, 0, 0, now
                    if (
                        self.cfg.eval_every
                        and self.step % self.cfg.eval_every == 0
                        and self._agree(self._run_eval())
                    ):
                        reason = "early_stopped"
                        break
                    if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0:
                        self.save_state()
                    if self._agree(bool(self.cfg.max_minutes) and self.elapsed() > self.cfg.max_minutes * 60):
                        reason = "time_budget"
                        break
                    if self.cfg.max_steps and self.step >= self.cfg.max_steps:
                        reason = "step_budget"
                        break
                skip = 0
                if reason == "completed":
                    self.epoch += 1
                    # a run that stopped on an epoch's last batch was evaluated there; resumed, it
                    # passes the rest of that epoch without a step and must not count it again
                    if (
                        not self.cfg.eval_every
                        and not self._evaluated_now()
                        and self._agree(self._run_eval())
                    ):
                        reason = "early_stopped"
                    self.save_state()
            if reason in ("time_budget", "step_budget", "cancelled") or (
                reason == "completed" and self.cfg.eval_every
            ):
                if reason != "cancelled" and not self._evaluated_now():
                    self._run_eval()
                self.save_state()
            event = FinishedEvent(reason, self.step, self.best, self.elapsed(), list(self.history))
            self._emit(event)
            return event
        except Exception as exc:
            self._emit(FailedEvent(f"{type(exc).__name__}: {exc}", self.step))
            # Leave the last good checkpoint as it is; the caller decides what to tell the user.
            if disk_full(exc) and exc.__cause__ is None:
                raise OSError(  # e.g. the best model's folder: name what is kept, as save_state does
                    errno.ENOSPC,
                    f"The disk is full at step {self.step} ({getattr(exc, 'strerror', None) or exc}); "
                    f"{self._kept()}. Free some space, then resume the run",
                    getattr(exc, "filename", None),
                ) from exc
            raise


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full: an OSError ENOSPC, or safetensors' SafetensorError
    (not an OSError) with "No space left on device (os error 28)" in its message."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    text = str(exc)
    return type(exc).__name__ == "SafetensorError" and ("os error 28" in text or "No space left" in text)


def perplexity(mean_nll: float) -> float:
    """exp(mean negative log-likelihood); inf for a run that diverged (exp overflows above ~709)."""
    return math.exp(mean_nll) if mean_nll < 700 else math.inf


def ppl_words(ppl: float | None) -> str:
    """A perplexity for a CLI line: "none yet", "12.34", or "inf (training diverged: lower --lr)"."""
    if ppl is None:
        return "none yet"
    return f"{ppl:.2f}" if math.isfinite(ppl) else "inf (training diverged: lower --lr)"


def check_out_dir(out_dir: str | os.PathLike, resume: bool, overwrite: bool = False) -> None:
    """What a training CLI checks of ``--out`` before it starts. ``resume``: the folder must hold a
    run's checkpoint (FileNotFoundError; on the wrong folder it would start over without a word).
    Otherwise it must not hold a model or a run (FileExistsError) unless ``overwrite`` — it would
    be replaced without a word, the shipped model's folder included. A folder another process is
    training in now is refused either way (RunFolderBusyError), before any data is read."""
    out = Path(out_dir)
    state = out / STATE_DIR / STATE_FILE
    pid = folder_in_use(out)
    if pid is not None:  # said before the data is read, not only when training starts
        raise _busy(out, pid)
    if resume:
        if not state.is_file():
            raise FileNotFoundError(
                f"nothing to resume: {state} is missing; run without --resume to start a new run there"
            )
        return
    held = [p for p in (out / "config.json", state) if p.is_file()]
    if held and not overwrite:
        raise FileExistsError(
            f"{out} already holds a model or a training run ({held[0].name}); pass --resume to continue "
            "it, choose another folder, or --overwrite to replace it"
        )


def write_train_log(folder: str | os.PathLike, done: FinishedEvent, best_key: str = "best", **extra) -> Path:
    """Write ``<folder>/train_log.json``: how a run ended, its steps, best metric (under
    ``best_key``), minutes, any ``extra`` fields and the evaluation history."""
    path = Path(folder) / "train_log.json"
    record = {
        "reason": done.reason,
        "steps": done.step,
        best_key: done.best_metric,
        "minutes": round(done.elapsed_s / 60, 2),
        **extra,
        "history": done.history,
    }
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


REASON_WORDS = {
    "completed": "all epochs done",
    "early_stopped": "stopped early: validation stopped improving",
    "cancelled": "cancelled",
    "time_budget": "time budget reached",
    "step_budget": "step budget reached",
}


def tqdm_callback(desc: str = "train"):
    """A callback printing a tqdm bar for the CLI (progress, evaluations, the end). The bar appears
    with the first event, so an error while the data is read is not preceded by an empty bar."""
    from tqdm import tqdm

    bar = None

    def cb(event) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(desc=desc, unit="step", dynamic_ncols=True)
        if isinstance(event, ProgressEvent):
            if event.total_steps and bar.total != event.total_steps:
                bar.total = event.total_steps
            bar.n = event.step
            bar.set_postfix(loss=f"{event.loss:.3f}", tok_s=f"{event.items_per_s:.0f}", refresh=False)
            bar.refresh()
        elif isinstance(event, EvaluationEvent):
            shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in event.metrics.items()}
            bar.write(
                f"eval @ step {event.step}: {shown}{' (best)' if event.improved else ''}", file=sys.stderr
            )
        elif isinstance(event, FinishedEvent):
            bar.close()
            bar.write(
                f"finished at step {event.step} ({REASON_WORDS.get(event.reason, event.reason)}, "
                f"{event.elapsed_s / 60:.1f} min)",
                file=sys.stderr,
            )
        elif isinstance(event, FailedEvent):
            bar.close()
            bar.write(f"failed at step {event.step}: {event.message}", file=sys.stderr)

    return cb
