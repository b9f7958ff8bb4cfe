"""Feature cache: the frozen encoder trunk runs once per image, epochs read float16 arrays from disk.

One ``.npy`` (float16, ``(N, C, 7, 7)``, written through a memory map so memory stays bounded)
plus a ``.json`` index per split, named ``<split>-<key>``; the key hashes the encoder
description, the image folder (its resolved path) and the image list (names, file sizes and
modification times), so a changed image set, folder or encoder gets a new cache and a stale one is
never read. That makes one cache folder safe to share between runs (the Train panel's runs share
``<data folder>/cache/features``): a run on the same images reads it, one on other images (even
with the same names and sizes) extracts its own. The ``.json`` is written last, atomically: its
presence means the cache is complete; two runs extracting the same entry at once each write their
own part file and the last rename wins (both hold the same numbers). A failed, cancelled or
interrupted extraction removes its part file; one whose process was killed leaves it, and the next
extraction into the folder removes it (its pid, in its name, no longer runs). Images that fail to
load are recorded (``ok`` False, a message) and skipped by training; they do not stop the extraction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.cancel import wait_if_paused
from engine.caption.images import load_batches

CACHE_VERSION = 1  # the numbers' layout (in encoder_description); the key also hashes the folder
_PART = re.compile(r"\.(\d+)\.(?:npy|json)\.part$")  # <split>-<key>.<pid>.npy.part: the writer's pid


@dataclass
class FeatureSet:
    names: list[str]  # image names, in row order
    features: np.ndarray  # (N, C, 7, 7) float16 trunk features (zeros where not ok)
    ok: np.ndarray  # (N,) bool: the image loaded
    errors: dict[str, str]  # name -> why it failed

    def row(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}


def encoder_description(model) -> str:
    """What the cached numbers depend on: encoder, split point, input size, normalisation."""
    cfg = model.cfg
    return f"{cfg.encoder}|trunk={16 - cfg.fine_tune_blocks}|size={cfg.image_size}|norm=pm1|v{CACHE_VERSION}"


def cache_key(image_dir: Path, names: list[str], description: str) -> str:
    """The cache entry of ``names`` in ``image_dir`` read by the encoder ``description``."""
    image_dir = Path(image_dir)
    try:
        where = str(image_dir.resolve())
    except (OSError, RuntimeError):
        where = str(image_dir.absolute())
    h = hashlib.sha1(description.encode())
    h.update(f"\ndir\t{where}".encode())
    for n in names:
        try:
            st = (image_dir / n).stat()
            size, mtime = (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else (-1, 0)
        except OSError:
            size, mtime = -1, 0
        h.update(f"\n{n}\t{size}\t{mtime}".encode())
    return h.hexdigest()[:16]


def extract(
    model,
    image_dir: str | Path,
    names: list[str],
    out_prefix: str | Path,
    batch_size: int = 8,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    cancel=None,
) -> FeatureSet:
    """Run the trunk on every image and write ``<out_prefix>.npy`` / ``.json``; returns the set."""
    import torch

    from engine.caption.encoder import normalize

    image_dir, out_prefix = Path(image_dir), Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_parts(out_prefix.parent)
    paths = [image_dir / n for n in names]
    C, g, size = model.trunk_channels, model.cfg.image_size // 32, model.cfg.image_size
    part = out_prefix.with_name(f"{out_prefix.name}.{os.getpid()}.npy.part")  # shared: one per writer
    ok = np.zeros(len(names), dtype=bool)
    errors: dict[str, str] = {}
    done = 0
    arr = None
    try:  # any failure (out of memory, a CUDA error, the app quitting) removes the part file
        try:
            arr = np.lib.format.open_memmap(part, mode="w+", dtype=np.float16, shape=(len(names), C, g, g))
            trunk = model.trunk.to(device).eval()
            for idx, images, errs in load_batches(paths, batch_size, size):
                wait_if_paused(cancel)  # the Train panel's Pause: wait between two batches
                if cancel is not None and cancel.cancelled:
                    raise InterruptedError("feature extraction cancelled")
                for i, msg in errs.items():
                    errors[names[i]] = msg
                if idx:
                    with torch.no_grad():
                        x = normalize(images).to(device).contiguous(memory_format=torch.channels_last)
                        feats = trunk(x).float().cpu().numpy()  # (n, C, 7, 7)
                    arr[idx] = feats.astype(np.float16)
                    ok[idx] = True
                done += len(idx) + len(errs)
                if progress is not None:
                    progress(done, len(names))
            arr.flush()
        finally:
            del arr  # unmapped: Windows can neither rename nor remove a mapped file
        os.replace(part, out_prefix.with_name(out_prefix.name + ".npy"))
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise
    index = {
        "version": CACHE_VERSION,
        "names": names,
        "ok": ok.tolist(),
        "errors": errors,
        "encoder": encoder_description(model),
        "image_dir": str(image_dir),
    }
    index_part = out_prefix.with_name(f"{out_prefix.name}.{os.getpid()}.json.part")
    try:
        index_part.write_text(json.dumps(index), encoding="utf-8")
        os.replace(index_part, out_prefix.with_name(out_prefix.name + ".json"))  # never read half written
    except BaseException:
        with contextlib.suppress(OSError):
            index_part.unlink(missing_ok=True)
        raise
    return load_cached(out_prefix)


def remove_dead_parts(folder: str | Path) -> list[Path]:
    """Remove the part files in ``folder`` whose writer is gone (killed mid-extraction: its pid,
    in the file's name, no longer runs); a live writer's, this process's too, are left. Returns
    those removed. Best effort: a folder that cannot be read is left as it is."""
    from engine.paths import pid_alive

    removed = []
    with contextlib.suppress(OSError):
        for path in Path(folder).iterdir():
            m = _PART.search(path.name)
            if m is None or pid_alive(int(m.group(1))):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def load_cached(prefix: str | Path, in_memory: bool = True) -> FeatureSet:
    """Read a complete cache (``<prefix>.json`` + ``.npy``); ValueError if damaged."""
    prefix = Path(prefix)
    idx_path, npy = prefix.with_name(prefix.name + ".json"), prefix.with_name(prefix.name + ".npy")
    try:
        index = json.loads(idx_path.read_text(encoding="utf-8"))
        feats = np.load(npy, mmap_mode=None if in_memory else "r")
    except (OSError, ValueError) as exc:
        raise ValueError(f"feature cache {prefix} is damaged ({exc}); delete it to rebuild") from None
    names = index["names"]
    if feats.shape[0] != len(names):
        raise ValueError(f"feature cache {prefix}: {feats.shape[0]} rows for {len(names)} names; delete it")
    return FeatureSet(names, feats, np.asarray(index["ok"], dtype=bool), dict(index["errors"]))


def cached_features(
    model,
    cache_dir: str | Path,
    image_dir: str | Path,
    names: list[str],
    split: str,
    batch_size: int = 8,
    device: str = "cpu",
    progress=None,
    cancel=None,
) -> FeatureSet:
    """Features of ``names`` from the cache, extracting them first if there is no matching cache."""
    image_dir = Path(image_dir)
    key = cache_key(image_dir, names, encoder_description(model))
    prefix = Path(cache_dir) / f"{split}-{key}"
    if prefix.with_name(prefix.name + ".json").is_file():
        return load_cached(prefix)
    return extract(model, image_dir, names, prefix, batch_size, device, progress, cancel)
