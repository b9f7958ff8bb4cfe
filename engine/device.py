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


class DeviceError(ValueError):
    """A device that cannot be used. ``reason`` says why, without the value; ``from_env`` is the
    raw ``PARLANCE_DEVICE`` value when the device came from it (None for an explicit request)."""

    def __init__(self, message: str, reason: str, from_env: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.from_env = from_env


def choose_device(requested: str | None = None, *, force_cpu: bool = False) -> DeviceInfo:
    """Pick the compute device. ``requested`` wins over the environment, which wins over detection.

    A device that is not here, or not a device name, raises :class:`DeviceError` (a ValueError);
    its message names ``PARLANCE_DEVICE`` when the value came from it (it used to read as if the
    user had typed it, so nobody could tell where "cuda" came from).
    """
    import torch

    raw_env = None if force_cpu or requested else os.environ.get(ENV_VAR, "").strip() or None
    want = "cpu" if force_cpu else (requested or raw_env or "").strip().lower()

    def refuse(explicit: str, reason: str) -> DeviceError:
        if raw_env is None:
            return DeviceError(explicit, reason)
        msg = f"{ENV_VAR}={raw_env} cannot be used ({reason}); unset {ENV_VAR} or set it to cpu"
        return DeviceError(msg, reason, raw_env)

    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if not want or want == "auto":
        want = "cuda" if cuda_ok else "mps" if mps_ok else "cpu"
    if want.startswith("cuda"):
        if not cuda_ok:
            raise refuse(
                f"device {want!r} requested but CUDA is not available; use 'cpu'", "CUDA is not available"
            )
        # under torchrun each process takes its own GPU (LOCAL_RANK) unless one is named
        local = os.environ.get("LOCAL_RANK") if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
        try:
            idx = int(want.split(":", 1)[1]) if ":" in want else int(local or 0)
        except ValueError:
            idx = -1
        if idx < 0:
            raise refuse(
                f"unknown device {want!r}; known: auto, cpu, cuda, cuda:N, mps",
                "not a device name; known: auto, cpu, cuda, cuda:N, mps",
            )
        count = torch.cuda.device_count()
        if idx >= count:
            raise refuse(
                f"device {want!r}: only {count} CUDA device(s) present",
                f"only {count} CUDA device(s) present",
            )
        name = torch.cuda.get_device_name(idx)
        return DeviceInfo(f"cuda:{idx}", f"CUDA: {name}", torch.cuda.is_bf16_supported())
    if want == "mps":
        if not mps_ok:
            raise refuse("device 'mps' requested but MPS is not available; use 'cpu'", "MPS is not available")
        return DeviceInfo("mps", "Apple MPS", False)
    if want == "cpu":
        return DeviceInfo("cpu", "CPU", False)
    raise refuse(
        f"unknown device {want!r}; known: auto, cpu, cuda, cuda:N, mps",
        "not a device name; known: auto, cpu, cuda, cuda:N, mps",
    )


def autocast(info: DeviceInfo, enabled: bool = True):
    """bf16 autocast on CUDA where supported; a no-op context elsewhere."""
    import torch

    if enabled and info.bf16 and info.name.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
