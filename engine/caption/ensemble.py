"""Captioner ensembles: captioners trained apart (e.g. with different seeds) that choose every word
together.

A model folder becomes an ensemble when its ``config.json`` lists member folders under
``extra["ensemble"]`` (paths inside the folder, e.g. ``members/m1``); each member is an ordinary
captioner folder with the same vocabulary and encoder. The main folder is the first member.
:class:`engine.caption.captioner.Captioner` loads them all: the frozen encoder trunk runs once, each
member's fine-tuned top gives its own regions, and at every step of the (batched) search the
members' word probabilities are averaged; the attention shown for a word is their mean map.

``python -m engine.caption.ensemble --out DIR FOLDER FOLDER…`` builds one (fp16 weights by default,
so two members take the room of one fp32 model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import checkpoint as ckpt
from engine.cli_args import folder

MEMBERS_KEY = "ensemble"
MEMBERS_DIR = "members"


def member_folders(folder: str | Path, meta: dict) -> list[Path]:
    """The extra members listed in ``meta`` (a folder's config.json), checked to lie inside it."""
    folder = Path(folder).resolve()
    out = []
    for rel in meta.get("extra", {}).get(MEMBERS_KEY, []) or []:
        path = (folder / str(rel)).resolve()
        if not path.is_relative_to(folder) or path == folder:
            raise ckpt.CheckpointError(
                f"{folder / ckpt.CONFIG_FILE}: ensemble member {rel!r} is outside the folder"
            )
        out.append(path)
    return out


def make_ensemble(out: str | Path, folders: list[str | Path], half: bool = True) -> Path:
    """Write an ensemble of the captioner ``folders`` into ``out`` (the first is the main member)."""
    from engine.caption.model import load, save

    if len(folders) < 2:
        raise ValueError("an ensemble needs at least two captioner folders")
    out = Path(out)
    loaded = [load(f, "cpu") for f in folders]
    (model0, vocab0, meta0) = loaded[0]
    for f, (model, vocab, _) in zip(folders[1:], loaded[1:]):
        if vocab.itos != vocab0.itos:
            raise ValueError(f"{f}: its vocabulary differs from {folders[0]}'s; members must share one")
        if model.cfg != model0.cfg:
            raise ValueError(f"{f}: its config differs from {folders[0]}'s; members must share one")
    names = [f"{MEMBERS_DIR}/m{i}" for i in range(1, len(folders))]
    for name, (model, vocab, meta) in zip(names, loaded[1:]):
        save(out / name, model, vocab, extra=_member_extra(meta), half=half)
    extra = {**_member_extra(meta0), MEMBERS_KEY: names, "ensemble_of": [str(f) for f in folders]}
    save(out, model0, vocab0, extra=extra, half=half)
    return out


def _member_extra(meta: dict) -> dict:
    return {k: v for k, v in meta.get("extra", {}).items() if k not in (MEMBERS_KEY, "vocab")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.caption.ensemble", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=folder, required=True, help="the ensemble's model folder")
    p.add_argument("folders", nargs="+", help="captioner folders (the first is the main member)")
    p.add_argument("--fp32", action="store_true", help="keep fp32 weights (default: fp16)")
    args = p.parse_args(argv)
    try:
        make_ensemble(args.out, args.folders, half=not args.fp32)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote an ensemble of {len(args.folders)} captioners to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
