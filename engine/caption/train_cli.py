"""``python -m engine train captioner``: feature cache + Show-Attend-Tell training in one command."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields

from engine.cli_args import boolean, count, folder, json_text

HELP = "train an image captioner (EfficientNet-Lite0 regions + attention LSTM) on captioned images"

# flags spelled differently from their config field
_ALIASES = {"images_per_batch": "--batch", "max_minutes": "--minutes"}
_SKIP_MODEL = {"vocab_size", "feature_dim", "encoder", "image_size"}


def _comments(cls) -> dict[str, str]:
    """Field name -> its trailing ``# comment`` in the dataclass source (the house style)."""
    import inspect
    import re

    out: dict[str, str] = {}
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):  # no source shipped (a frozen build): plain defaults then
        return out
    for line in source.splitlines():
        m = re.match(r"\s+(\w+):[^#]*#\s*(.+)", line)
        if m:
            out[m.group(1)] = m.group(2).replace("%", "%%")
    return out


def _add_fields(p: argparse.ArgumentParser, cls, skip=(), title: str = "") -> None:
    group = p.add_argument_group(title)
    notes = _comments(cls)
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = _ALIASES.get(f.name, "--" + f.name.replace("_", "-"))
        kind = boolean if isinstance(f.default, bool) else type(f.default)
        group.add_argument(
            flag,
            dest=f.name,
            type=kind,
            default=f.default,
            metavar=kind.__name__.upper().lstrip("_"),
            help=f"{notes.get(f.name, '')} (default {f.default})",
        )


def _lazy(factory, *a):
    """A callback made on its first event (the tqdm bar must not open before feature extraction)."""
    made = []

    def cb(event) -> None:
        if not made:
            made.append(factory(*a))
        made[0](event)

    return cb


def extract_bar(quiet: bool):
    """A ``progress(done, total)`` for feature extraction showing a tqdm bar (silent if ``quiet``)."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def extract_progress(done: int, total: int) -> None:
        if quiet:
            return
        bar = bars.get("x")
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            bar = bars["x"] = tqdm(total=total, desc="encode images", unit="img", dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            bars.pop("x", None)

    return extract_progress


def check_out(args) -> None:
    """``--out`` must not hold a model or a run unless ``--resume`` (checked by the trainer) or
    ``--overwrite`` (the trainer clears the old run's checkpoint once the new run can start)."""
    from engine.training import check_out_dir

    if not args.resume:
        check_out_dir(args.out, False, args.overwrite)


def report(done, metric: str, out: str, t0: float, quiet: bool) -> None:
    """Print how a training run ended: one JSON object (``quiet``) or a sentence."""
    summary = {
        "reason": done.reason,
        "steps": done.step,
        f"best_{metric}": done.best_metric,
        "train_minutes": round(done.elapsed_s / 60, 2),
        "total_minutes": round((time.time() - t0) / 60, 2),
        "model": str(out),
        "last_eval": done.history[-1] if done.history else None,
    }
    if quiet:
        print(json_text(summary))
    else:
        best = "n/a" if done.best_metric is None else f"{done.best_metric:.4f}"
        print(f"done ({done.reason}): best val {metric} {best} after {done.step} steps; model in {out}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from engine.caption.config import CaptionerConfig, CaptionTrainConfig

    p.add_argument("--images", required=True, help="folder holding the images named in the caption file")
    p.add_argument(
        "--captions",
        required=True,
        help="captions: CSV 'image,caption', Flickr8k tokens 'name.jpg#i<TAB>caption' or COCO JSON",
    )
    p.add_argument(
        "--out", type=folder, required=True, help="output model folder (resumable state in OUT/checkpoint)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in OUT")
    p.add_argument("--overwrite", action="store_true", help="replace a model or run already in OUT")
    p.add_argument("--cache", default=None, help="feature cache folder (default OUT/features)")
    p.add_argument("--threads", type=count, default=0, help="torch CPU threads (0 = torch default)")
    _add_fields(p, CaptionTrainConfig, title="training")
    _add_fields(p, CaptionerConfig, _SKIP_MODEL, title="model")


def run(args) -> int:
    import torch

    from engine.cancel import interrupt_cancels
    from engine.caption.config import CaptionerConfig, CaptionTrainConfig
    from engine.caption.train import train_captioner
    from engine.device import choose_device
    from engine.training import tqdm_callback

    check_out(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = choose_device(args.device)
    tcfg = CaptionTrainConfig(**{f.name: getattr(args, f.name) for f in fields(CaptionTrainConfig)})
    mcfg = CaptionerConfig(
        **{f.name: getattr(args, f.name) for f in fields(CaptionerConfig) if f.name not in _SKIP_MODEL}
    )
    quiet = bool(args.json)
    extract_progress = extract_bar(quiet)
    t0 = time.time()
    with interrupt_cancels() as cancel:
        done = train_captioner(
            args.images,
            args.captions,
            args.out,
            tcfg,
            mcfg,
            device=info.name,
            cache_dir=args.cache,
            resume=args.resume,
            overwrite=args.overwrite,
            cancel=cancel,
            callbacks=[] if quiet else [_lazy(tqdm_callback, "train captioner")],
            log=(lambda s: None) if quiet else print,
            extract_progress=extract_progress,
        )
    report(done, tcfg.metric, args.out, t0, quiet)
    return 0
