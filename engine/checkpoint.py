"""A model is a folder: ``config.json`` + ``model.safetensors`` (+ tokenizer files, MODEL_CARD.md).

``config.json`` holds ``kind``, ``schema_version`` and the model's dataclass config under
``config``; anything else the model needs to rebuild itself (e.g. a tokenizer file name) goes in
``extra``. Loading never unpickles: weights come from safetensors, the rest is JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "MODEL_CARD.md"


class CheckpointError(ValueError):
    """A model folder that cannot be used; the message names the file and what is wrong."""


def _atomic_write(path: Path, data: bytes) -> None:
    # Write next to the target then rename: a crash or a full disk never leaves half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; model files are meant to be shared/readable
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(
    folder: str | os.PathLike,
    kind: str,
    schema_version: int,
    config: Any,
    state_dict: dict,
    extra: dict | None = None,
    half: bool = False,
) -> Path:
    """Write a model folder. ``config`` is a dataclass; ``half`` stores float tensors as fp16."""
    import torch
    from safetensors.torch import save as st_save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, t in state_dict.items():
        t = t.detach().cpu().contiguous()
        if half and t.is_floating_point():
            t = t.to(torch.float16)
        tensors[name] = t
    # Tied weights share storage; safetensors refuses shared tensors, so clone duplicates.
    seen: dict[int, str] = {}
    for name, t in list(tensors.items()):
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen:
            tensors[name] = t.clone()
        seen[ptr] = name
    _atomic_write(folder / WEIGHTS_FILE, st_save(tensors, metadata={"kind": kind}))
    meta = {
        "kind": kind,
        "schema_version": schema_version,
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config),
        "extra": extra or {},
    }
    _atomic_write(folder / CONFIG_FILE, json.dumps(meta, indent=2).encode())
    return folder


def read_config(folder: str | os.PathLike, kind: str | None = None, max_schema: int | None = None) -> dict:
    """Read and validate ``config.json``; raises :class:`CheckpointError` with the file named."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"model folder not found: {folder}")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (not a Parlance model folder)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: damaged JSON ({exc})") from None
    if not isinstance(meta, dict) or "kind" not in meta or "config" not in meta:
        raise CheckpointError(f"{path}: missing 'kind' or 'config'")
    if not isinstance(meta["config"], dict):
        raise CheckpointError(f"{path}: 'config' must be an object, not {type(meta['config']).__name__}")
    if meta.get("extra") is None:
        meta["extra"] = {}
    if not isinstance(meta["extra"], dict):
        raise CheckpointError(f"{path}: 'extra' must be an object, not {type(meta['extra']).__name__}")
    if kind is not None and meta["kind"] != kind:
        raise CheckpointError(f"{path}: this is a {meta['kind']!r} model, expected {kind!r}")
    version = meta.get("schema_version")
    if not isinstance(version, int):
        raise CheckpointError(f"{path}: missing schema_version")
    if max_schema is not None and version > max_schema:
        raise CheckpointError(
            f"{path}: schema_version {version} is newer than this Parlance understands ({max_schema}); "
            "update Parlance to load it"
        )
    return meta


def load_state(folder: str | os.PathLike, device: str = "cpu") -> dict:
    """Load ``model.safetensors`` (no pickle); a missing or truncated file raises CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    _check_readable(path)
    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: damaged or truncated weights ({exc})") from None


def _check_readable(path: Path) -> None:
    """CheckpointError "cannot be read (Permission denied)" for a file that exists but cannot be
    opened: safetensors called a chmod-000 file "damaged or truncated (No such file or directory)",
    and a person might delete a good model for it."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def fits_default(default: Any, value: Any) -> bool:
    """``value`` has the type of a dataclass field's ``default``: bool, int (not bool), a finite
    number, str; anything goes for other defaults (None, containers)."""
    import math

    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(default, str):
        return isinstance(value, str)
    return True


def config_from_dict(cls, data: dict, where: str | os.PathLike = CONFIG_FILE):
    """Build dataclass ``cls`` from a dict, ignoring unknown keys (older/newer minor fields). Each
    known field must have its default's type (an edited ``"hidden": "256"`` or ``256.0`` would
    otherwise fail deep inside torch); CheckpointError naming ``where`` otherwise."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in data.items():
        f = fields.get(name)
        if f is not None and f.default is not dataclasses.MISSING and not fits_default(f.default, value):
            kind = type(f.default).__name__
            raise CheckpointError(f"{where}: {name} must be a {kind}, not {value!r}")
    try:
        return cls(**{k: v for k, v in data.items() if k in fields})
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: bad config ({exc})") from None


RESTORE = "restore the model folder or reinstall Parlance"


def check_sizes(cfg: Any, limits: dict[str, tuple[int, int | None]], where: str | os.PathLike) -> None:
    """Each ``limits`` field of ``cfg`` lies in ``(lowest, highest)`` (None: no upper limit), else
    CheckpointError naming ``where`` (config.json). Sizes that change no tensor shape (image_size 0)
    otherwise failed far away (every image "cannot decode"), and a bad vocab_size was blamed on the
    tokenizer."""
    for name, (low, high) in limits.items():
        value = getattr(cfg, name)
        if low >= 1 and value < 1:
            raise CheckpointError(f"{where}: {name} must be a positive number (got {value})")
        if value < low or (high is not None and value > high):
            span = f"at least {low}" if high is None else f"between {low} and {high}"
            raise CheckpointError(f"{where}: {name} must be {span} (got {value})")


def model_file(folder: str | os.PathLike, extra: dict, key: str, default: str) -> Path:
    """The file ``extra[key]`` of config.json names (``default`` when absent), in ``folder``. Only a
    plain file name is accepted: a downloaded folder's config could name any path ("/etc/passwd",
    "../../x") and have it read."""
    name = extra.get(key, default)
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or any(c in name for c in "/\\\0")
        or Path(name).name != name
    ):
        raise CheckpointError(
            f"{Path(folder) / CONFIG_FILE}: extra.{key} must be a file in the model folder (got {name!r})"
        )
    return Path(folder) / name


def _some(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (" …" if len(names) > n else "")


def check_shapes(folder: str | os.PathLike, build, stored=None) -> None:
    """Before a model is built for real: build it with ``build()`` on torch's meta device (no
    memory) and compare its tensor names and shapes with the weights file's header. A config.json
    whose sizes were edited (hidden 10^9, -5) is then a clear error instead of gigabytes allocated
    first or a tensor error deep inside torch; so is another kind of model's weights file, which
    used to give torch's 2,000-character "Missing key(s)" list. ``stored(model)``: the state the
    file holds (default: all of ``model.state_dict()``)."""
    import torch
    from safetensors import SafetensorError, safe_open

    folder = Path(folder)
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    _check_readable(path)
    try:
        with safe_open(str(path), "pt") as fh:
            shapes = {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged or truncated weights ({exc})") from None
    try:
        with torch.device("meta"):
            model = build()
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: sizes that make no model ({exc})") from None
    state = stored(model) if stored is not None else model.state_dict()
    missing, unexpected = sorted(set(state) - set(shapes)), sorted(set(shapes) - set(state))
    if missing or unexpected:
        kinds = (("missing", missing), ("unexpected", unexpected))
        parts = [f"{len(v)} {k} tensor{'s' * (len(v) > 1)}: {_some(v)}" for k, v in kinds if v]
        raise CheckpointError(f"{path} does not match {CONFIG_FILE} ({'; '.join(parts)}); {RESTORE}")
    for name, tensor in state.items():
        if name in shapes and tuple(tensor.shape) != shapes[name]:
            raise CheckpointError(
                f"{folder / CONFIG_FILE}: its sizes do not match {WEIGHTS_FILE} ({name}: the config "
                f"makes {tuple(tensor.shape)}, the file holds {shapes[name]})"
            )


def read_card(folder: str | os.PathLike) -> str | None:
    """The folder's model card; None when there is none or it cannot be read. Never an error: a
    card is documentation, and a damaged one (not UTF-8) must not make the model unusable."""
    path = Path(folder) / CARD_FILE
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None


def find_model_folders(kind: str, *roots: str | os.PathLike) -> list[Path]:
    """Model folders whose config.json says ``kind``, directly under (or equal to) each root, in
    root order and by name within a root; unreadable folders and configs are skipped."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        try:
            children = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        except OSError:
            children = []
        for c in [root, *children]:
            try:
                data = json.loads((c / CONFIG_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("kind") == kind and c not in found:
                found.append(c)
    return found
