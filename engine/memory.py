"""Will a model fit in memory? Checked before any weight is allocated, with a clear message if not.

The parameter count comes from building the model on PyTorch's ``meta`` device (shapes only, no
storage). Training needs, per parameter, the fp32 weights, their gradients, Adam's two moments
and the CPU copies written to a checkpoint: ``BYTES_PER_PARAM``. Activations come on top, so the
estimate is a floor: a config refused here could never have trained, and one accepted can still
run out of memory mid-run, which :func:`memory_errors` turns into the same kind of message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

BYTES_PER_PARAM = 4 * 5  # fp32 weights + gradients + Adam m and v + checkpoint copy
_OOM_MARKERS = ("out of memory", "can't allocate memory", "not enough memory", "failed to allocate")


class TooLargeError(ValueError):
    """A training config that does not fit in this machine's memory (a bad input: say which sizes)."""


def count_params(build: Callable[[], object], trainable_only: bool = True) -> int:
    """Parameters of the module ``build()`` makes, built on the meta device (no memory used)."""
    import torch

    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def available_bytes(device: str = "cpu") -> int | None:
    """Memory free for a new allocation on ``device`` (None when it cannot be told)."""
    if str(device).startswith("cuda"):
        import torch

        with contextlib.suppress(RuntimeError, AssertionError):
            free, _total = torch.cuda.mem_get_info(torch.device(device))
            return int(free)
        return None
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return None


def _gb(n: float) -> str:
    if n >= 1e8:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def check_fits(n_params: int, device: str = "cpu", what: str = "this model", extra_bytes: int = 0) -> int:
    """Raise :class:`TooLargeError` when training ``n_params`` parameters needs more than the free
    memory of ``device``, or ``extra_bytes`` of data held in the computer's memory (RAM, whatever
    the device: the captioner's image features) do not fit there; returns the estimate. The data
    were counted against the GPU's memory on CUDA, and the computer's memory went unchecked."""
    on_gpu = str(device).startswith("cuda")
    model = n_params * BYTES_PER_PARAM
    need = model + (0 if on_gpu else int(extra_bytes))
    free = available_bytes(device)
    if free is not None and need > free:
        where = "GPU memory" if on_gpu else "memory"
        raise TooLargeError(
            f"{what} does not fit: {n_params / 1e6:.1f} M parameters need at least {_gb(need)} of {where} "
            f"to train, and {_gb(free)} is free. Choose smaller sizes (embedding, hidden, vocabulary) "
            "or close other programs."
        )
    if on_gpu and extra_bytes:
        ram = available_bytes("cpu")
        if ram is not None and extra_bytes > ram:
            raise TooLargeError(
                f"{what} does not fit: its training data need {_gb(extra_bytes)} of the computer's memory, "
                f"and {_gb(ram)} is free. Train on fewer images or close other programs."
            )
    return model + int(extra_bytes)


def is_out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, torch.cuda.OutOfMemoryError or an allocator RuntimeError."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OOM_MARKERS)


@contextlib.contextmanager
def memory_errors(what: str = "training"):
    """Turn running out of memory inside the block into a :class:`TooLargeError` saying what to do."""
    try:
        yield
    except TooLargeError:
        raise
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise TooLargeError(
            f"{what} ran out of memory ({detail}). Choose smaller sizes or a smaller batch, or close "
            "other programs; the last saved checkpoint is kept and the run can be resumed."
        ) from exc
