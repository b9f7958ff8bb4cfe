"""Train a small ensemble of forecasting networks with early stopping, and calibrate its intervals.

Shared by the per-series forecaster (lstm.py, hybrid.py) and the global one (global_model.py).
Data come as lists of tensors ``[x (W, L, C), future (W, H, F), rel (W, L), target (W, H)]``.

Members train at the same time on threads when the machine has spare cores (``LSTMConfig.workers``):
each network is initialised from its seed under a lock and nothing in training draws from torch's
global generator, so the result is the same as training them one after another. Progress events
of the members are relayed to the caller's thread, which keeps the caller's callbacks (the
desktop's event pump) on the thread they expect.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.lstm_model import LOSSES, ForecastNet, LSTMConfig

_INIT_LOCK = threading.Lock()  # torch's global seed + a network's initialisation, one member at a time
RELAY_WAIT_S = 0.05  # how often the caller's thread looks for members' progress events


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def member_workers(cfg: LSTMConfig) -> int:
    """Members trained at once: ``cfg.workers`` (0 = as many as the cores allow at ``cfg.threads``
    torch threads each), at most ``cfg.seeds``; 1 when dropout is on (dropout draws from torch's
    global generator, which threads would interleave)."""
    if cfg.seeds <= 1 or (cfg.dropout > 0 and cfg.layers > 1):
        return 1
    return max(1, min(cfg.workers or cpu_cores() // max(1, cfg.threads), cfg.seeds))


class _Stop:
    """The members' cancel token: the caller's, and a flag that ends them all early when one
    member fails or the caller's thread is interrupted."""

    def __init__(self, token) -> None:
        self.token, self.flag = token, threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.flag.is_set() or bool(getattr(self.token, "cancelled", False))

    @property
    def paused(self) -> bool:
        return not self.flag.is_set() and bool(getattr(self.token, "paused", False))

    def wait_while_paused(self) -> float:
        t0 = time.monotonic()
        while self.paused and not self.cancelled:
            self.flag.wait(RELAY_WAIT_S)
        return time.monotonic() - t0


def train_member(
    data: list,
    val: list,
    cfg: LSTMConfig,
    dims: tuple[int, int, int, int],
    seed: int,
    ctx: FitContext,
    member: int,
    epochs: int | None = None,
    start=None,
    lr: float | None = None,
):
    """Train one network; returns (model at its best validation epoch, best epoch, curve).

    ``data``/``val``: [x, future, rel, target] tensors. ``epochs`` fixed: no early stopping.
    ``start``: a trained network to continue (it is changed in place); ``lr``: instead of ``cfg.lr``.
    """
    import torch

    rng = np.random.default_rng(seed)
    n_in, n_time, input_len, horizon = dims
    if start is not None:
        net = start
    else:
        with _INIT_LOCK:
            torch.manual_seed(seed)
            net = ForecastNet(cfg, n_in, n_time, input_len, horizon)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr if lr is None else lr, weight_decay=cfg.weight_decay)
    loss_fn = LOSSES[cfg.loss]
    n = data[0].shape[0]
    best, best_epoch, best_state, wait, curve = np.inf, 0, None, 0, []
    if epochs is None:  # the untrained network is the base forecast: training must beat it
        with torch.no_grad():
            best = float(loss_fn(net(*val[:3]), val[3]))
        best_state = copy.deepcopy(net.state_dict())
    for epoch in range(1, (cfg.epochs if epochs is None else epochs) + 1):
        net.train()
        order = rng.permutation(n)[: cfg.windows_per_epoch]
        total = 0.0
        for i in range(0, order.size, cfg.batch_size):
            ctx.check()
            idx = torch.as_tensor(order[i : i + cfg.batch_size])
            x, fut, rel, tgt = (t[idx] for t in data)
            loss = loss_fn(net(x, fut, rel), tgt)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip)
            opt.step()
            total += loss.detach().item() * idx.numel()
        train_loss = total / max(order.size, 1)
        if epochs is not None:  # refit on every window for a fixed epoch count: no validation
            curve.append({"epoch": epoch, "loss": train_loss})
            ctx.report(
                stage="lstm_refit",
                member=member,
                members=cfg.seeds,
                epoch=epoch,
                epochs=epochs,
                loss=train_loss,
            )
            best_epoch = epoch
            continue
        net.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(net(*val[:3]), val[3]))
        curve.append({"epoch": epoch, "loss": train_loss, "val_loss": val_loss})
        ctx.report(stage="lstm", member=member, epoch=epoch, loss=train_loss, val_loss=val_loss)
        if val_loss < best - 1e-5:
            best, best_epoch, wait = val_loss, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            wait += 1
            if wait >= cfg.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return net, best_epoch, curve


class Then:
    """What a member's stage returns when it has a next stage: ``run_members`` queues ``fn(context)``
    (so a member's refit can start on whichever thread is free)."""

    def __init__(self, fn) -> None:
        self.fn = fn


def run_members(fn, count: int, workers: int, ctx: FitContext) -> list:
    """``[fn(k, context) for k in range(count)]``, on ``workers`` threads when more than one; a stage
    that returns :class:`Then` continues with its ``fn(context)``. The members' progress events come
    back through a queue and are reported on this thread."""
    if workers <= 1:
        out = []
        for k in range(count):
            r = fn(k, ctx)
            while isinstance(r, Then):
                r = r.fn(ctx)
            out.append(r)
        return out
    events: queue.SimpleQueue = queue.SimpleQueue()
    stop = _Stop(ctx.cancel)
    relay = dataclasses.replace(ctx, progress=events.put if ctx.progress is not None else None, cancel=stop)

    def forward(wait: float) -> None:
        try:
            event = events.get(timeout=wait) if wait else events.get_nowait()
            while True:
                ctx.report(**event)
                event = events.get_nowait()
        except queue.Empty:
            pass

    pool = ThreadPoolExecutor(workers, thread_name_prefix="forecast-member")
    try:
        live = {pool.submit(fn, k, relay): k for k in range(count)}
        out: dict[int, object] = {}
        while live:
            forward(RELAY_WAIT_S)
            for f in [f for f in live if f.done()]:
                k = live.pop(f)
                r = f.result()  # a member's error (or Cancelled) ends the fit: see below
                if isinstance(r, Then):
                    live[pool.submit(r.fn, relay)] = k
                else:
                    out[k] = r
        forward(0)
    except BaseException:
        stop.flag.set()  # running members stop at their next step; queued ones never start
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [out[k] for k in range(count)]


def calibration_factors(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Factors on the quantile distances from the median so the 80% / 95% bands cover their level on
    validation windows. pred (W, H, 5), target (W, H). Clamped to [0.5, 3] against tiny samples."""
    med = pred[..., 2]
    factors = []
    for lo_i, hi_i, level in ((1, 3, 0.8), (0, 4, 0.95)):
        lo_d = np.maximum(med - pred[..., lo_i], 1e-9)
        hi_d = np.maximum(pred[..., hi_i] - med, 1e-9)
        # the smallest factor c with the band med - c*lo_d .. med + c*hi_d covering `level` of targets
        need = np.where(target >= med, (target - med) / hi_d, (med - target) / lo_d).ravel()
        factors.append(float(np.clip(np.quantile(need, level), 0.5, 3.0)))
    return factors[0], factors[1]


def apply_calibration(q: np.ndarray, c80: float, c95: float) -> np.ndarray:
    med = q[..., 2:3]
    out = q.copy()
    out[..., 1:2] = med - c80 * (med - q[..., 1:2])
    out[..., 3:4] = med + c80 * (q[..., 3:4] - med)
    out[..., 0:1] = med - c95 * (med - q[..., 0:1])
    out[..., 4:5] = med + c95 * (q[..., 4:5] - med)
    return out


def fit_ensemble(
    data: list, val: list, all_data: list | None, now: list, cfg: LSTMConfig, dims, ctx: FitContext
):
    """Train ``cfg.seeds`` members; return calibrated, sorted quantiles at ``now`` (W, H, 5), facts, nets.

    ``all_data``: every window (train + validation) for ``cfg.refit``; ``now``: [x, future, rel] of the
    origins to forecast. Validation quantiles of the (pre-refit) members set the calibration factors.
    """
    import torch

    def member(k: int, mctx: FitContext):
        seed = ctx.seed * 1000 + k
        net, best_epoch, curve = train_member(data, val, cfg, dims, seed, mctx, k)
        with torch.no_grad():
            q_val = net.quantiles(net(*val[:3])).numpy()  # (V, H, 5)

        def finish(fctx: FitContext):
            final = net
            if cfg.refit and all_data is not None:
                if cfg.refit_warm <= 0:  # from scratch, for the epoch count early stopping chose
                    final, _, _ = train_member(all_data, val, cfg, dims, seed, fctx, k, epochs=best_epoch)
                elif more := int(np.ceil(cfg.refit_warm * best_epoch)):  # 0: the untrained net stays
                    final, _, _ = train_member(
                        all_data, val, cfg, dims, seed, fctx, k, epochs=more, start=net, lr=cfg.lr / 3
                    )
            with torch.no_grad():
                q_now = final.quantiles(final(*now)).numpy()  # (W, H, 5)
            return q_now, q_val, best_epoch, curve, final

        return Then(finish)

    results = run_members(member, cfg.seeds, member_workers(cfg), ctx)
    q_now, q_val, epochs, curves, nets = (list(x) for x in zip(*results))
    q = np.mean(q_now, axis=0)  # (W, H, 5) quantile average over members
    c80 = c95 = 1.0
    if cfg.calibrate:
        c80, c95 = calibration_factors(np.mean(q_val, axis=0), val[3].numpy())
        q = apply_calibration(q, c80, c95)
    facts = {"best_epochs": epochs, "calibration": [round(c80, 3), round(c95, 3)], "curve": curves[0]}
    return np.sort(q, axis=-1), facts, nets


def floor_widths(q: np.ndarray, step_sd: float, share: float) -> np.ndarray:
    """Widen quantiles (…, H, 5) so each band is at least ``share`` of a random walk's with one-step
    standard deviation ``step_sd`` (same units as q): small-sample network quantiles are overconfident."""
    if share <= 0 or step_sd <= 0:
        return q
    h = np.arange(1, q.shape[-2] + 1)[:, None]  # (H, 1)
    z = np.array([-1.959963984540054, -1.2815515655446004, 0.0, 1.2815515655446004, 1.959963984540054])
    walk = share * step_sd * np.sqrt(h) * z  # (H, 5) offsets from the median
    med = q[..., 2:3]
    out = q.copy()
    out[..., :2] = np.minimum(q[..., :2], med + walk[:, :2])
    out[..., 3:] = np.maximum(q[..., 3:], med + walk[:, 3:])
    return out
