"""The ``rnn`` bench: forward+backward throughput of every cell through ``Recurrent``.

Each variant runs one forward and one backward pass over the same fixed batch (B, T, H) of full
length sequences; raw ``nn.GRU`` / ``nn.LSTM`` run in the same process as the peers. Variants are
timed round-robin (repeat 1 of every variant, then repeat 2, …) so that a noisy neighbour on a
shared machine slows all of them alike; the median of the repeats is reported.

Goals (issue 2): the fused path within 5% of raw ``nn.GRU``; custom cells within 4x of it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

DEFAULTS = {"batch": 32, "seq": 50, "hidden": 256, "repeats": 5, "warmup": 1}
FUSED_GOAL = 1.05  # fused Recurrent time / raw nn.GRU or nn.LSTM time
CUSTOM_GOAL = 4.0  # custom cell time / raw nn.GRU time


def _variants(hidden: int) -> dict[str, tuple[str, Callable]]:
    """name -> (path label, factory() -> module taking x (B, T, H) and returning (out, state))."""
    from torch import nn

    from engine.nn.cells import CELLS
    from engine.nn.recurrent import Recurrent

    out: dict[str, tuple[str, Callable]] = {
        "torch nn.GRU": ("raw torch", lambda: nn.GRU(hidden, hidden, batch_first=True)),
        "torch nn.LSTM": ("raw torch", lambda: nn.LSTM(hidden, hidden, batch_first=True)),
        "gru": ("fused", lambda: Recurrent("gru", hidden, hidden)),
        "lstm": ("fused", lambda: Recurrent("lstm", hidden, hidden)),
    }
    for name in CELLS:
        label = f"{name} (loop)" if name in ("gru", "lstm") else name
        out[label] = ("loop", lambda name=name: Recurrent(name, hidden, hidden, fused=False))
    return out


def _time_once(module, x, device_type: str) -> float:
    import torch

    if device_type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out, state = module(x)
    h = state[0] if isinstance(state, tuple) else state
    (out.float().sum() + h.float().sum()).backward()
    if device_type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_rnn(args: argparse.Namespace) -> dict:
    import torch

    from engine.device import choose_device

    cfg = {
        k: getattr(args, k, None) if getattr(args, k, None) is not None else v for k, v in DEFAULTS.items()
    }
    info = choose_device(getattr(args, "device", None))
    device = torch.device(info.name)
    variants = _variants(cfg["hidden"])
    if getattr(args, "only", None) is not None:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        if not wanted:
            raise ValueError(f"--only names no variant; known: {', '.join(variants)}")
        unknown = [w for w in wanted if w not in variants]
        if unknown:
            raise ValueError(f"unknown rnn bench variant(s) {unknown}; known: {', '.join(variants)}")
        variants = {k: v for k, v in variants.items() if k in wanted}

    torch.manual_seed(0)
    x = torch.randn(cfg["batch"], cfg["seq"], cfg["hidden"], device=device)  # (B, T, H)
    modules = {name: factory().to(device).train() for name, (_, factory) in variants.items()}
    times: dict[str, list[float]] = {name: [] for name in modules}
    for module in modules.values():
        for _ in range(cfg["warmup"]):
            _time_once(module, x, device.type)
            module.zero_grad(set_to_none=True)
    for _ in range(cfg["repeats"]):
        for name, module in modules.items():
            times[name].append(_time_once(module, x, device.type))
            module.zero_grad(set_to_none=True)

    med = {name: statistics.median(t) for name, t in times.items()}

    def ratio(name: str, peer: str) -> float:
        """Median of per-repeat time ratios: both ran in the same round, so load noise cancels."""
        return statistics.median(a / b for a, b in zip(times[name], times[peer]))

    peers = {"gru": "torch nn.GRU", "lstm": "torch nn.LSTM"}
    has_gru = "torch nn.GRU" in times
    rows = []
    for name, seconds in med.items():
        path = variants[name][0]
        row = {
            "variant": name,
            "path": path,
            "seq/s": cfg["batch"] / seconds,
            "ms/iter": seconds * 1e3,
            "x nn.GRU": f"{ratio(name, 'torch nn.GRU'):.2f}x" if has_gru else "",
            "goal": "",
        }
        if path == "fused" and peers[name] in times:
            r = ratio(name, peers[name])
            row["goal"] = f"{'ok' if r <= FUSED_GOAL else 'MISS'} ({r:.3f}x {peers[name]})"
        elif path == "loop" and has_gru:
            row["goal"] = "ok (<= 4x)" if ratio(name, "torch nn.GRU") <= CUSTOM_GOAL else "MISS (> 4x)"
        rows.append(row)
    shape = f"B={cfg['batch']} T={cfg['seq']} H={cfg['hidden']}"
    return {
        "title": f"rnn bench: forward+backward, 1 layer, {shape}, on {info.label}",
        "columns": ["variant", "path", "seq/s", "ms/iter", "x nn.GRU", "goal"],
        "rows": rows,
        "notes": [
            f"median of {cfg['repeats']} round-robin repeats after {cfg['warmup']} warm-up run(s); "
            "ratios are medians of per-round ratios; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}",
            "goals: fused within 5% of its raw torch peer; custom loop cells within 4x of raw nn.GRU",
        ],
        "meta": {**cfg, "device": info.name, "torch": torch.__version__, "times_s": times},
    }
