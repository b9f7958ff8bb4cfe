"""Device choice and precision policy.

Order: an explicit argument, then ``PARLANCE_DEVICE``, then CUDA > MPS > CPU.
Nothing is decided at import time; callers pass what they get from :func:`choose_device`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

ENV_VAR = "PARLANCE_DEVICE"


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # torch device string, e.g. "cpu", "cuda:0", "mps"
    label: str  # what a person reads: "CPU", "CUDA: NVIDIA H200", "Apple MPS"
    bf16: bool  # bf16 autocast is supported and used for training on this device


def choose_device(requested: str | None = None, *, force_cpu: bool = False) -> DeviceInfo:
    """Pick the compute device. ``requested`` wins over the environment, which wins over detection.

    An unavailable explicit request raises ``ValueError`` naming what is available.
    """
    import torch

    want = "cpu" if force_cpu else (requested or os.environ.get(ENV_VAR) or "").strip().lower()
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if not want or want == "auto":
        want = "cuda" if cuda_ok else "mps" if mps_ok else "cpu"
    if want.startswith("cuda"):
        if not cuda_ok:
            raise ValueError(f"device {want!r} requested but CUDA is not available; use 'cpu'")
        # under torchrun each process takes its own GPU (LOCAL_RANK) unless one is named
        local = os.environ.get("LOCAL_RANK") if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
        idx = int(want.split(":", 1)[1]) if ":" in want else int(local or 0)
        if idx >= torch.cuda.device_count():
            raise ValueError(f"device {want!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        name = torch.cuda.get_device_name(idx)
        return DeviceInfo(f"cuda:{idx}", f"CUDA: {name}", torch.cuda.is_bf16_supported())
    if want == "mps":
        if not mps_ok:
            raise ValueError("device 'mps' requested but MPS is not available; use 'cpu'")
        return DeviceInfo("mps", "Apple MPS", False)
    if want == "cpu":
        return DeviceInfo("cpu", "CPU", False)
    raise ValueError(f"unknown device {want!r}; known: auto, cpu, cuda, cuda:N, mps")


def autocast(info: DeviceInfo, enabled: bool = True):
    """bf16 autocast on CUDA where supported; a no-op context elsewhere."""
    import torch

    if enabled and info.bf16 and info.name.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
