"""``python -m engine train captioner-scst``: self-critical CIDEr-D fine-tuning of a trained captioner."""

from __future__ import annotations

import time
from dataclasses import fields

from engine.caption.train_cli import _add_fields, _lazy, check_out, extract_bar, report
from engine.cli_args import count, folder

HELP = "fine-tune a trained captioner on CIDEr-D with self-critical sequence training (decoder only)"


def add_arguments(p) -> None:
    from engine.caption.config import ScstConfig

    p.add_argument("--init", help="the trained captioner folder to start from (not needed with --resume)")
    p.add_argument("--images", required=True, help="folder holding the images named in the caption file")
    p.add_argument("--captions", required=True, help="captions in a format `train captioner` reads")
    p.add_argument(
        "--out", type=folder, required=True, help="output model folder (resumable state in OUT/checkpoint)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in OUT")
    p.add_argument("--overwrite", action="store_true", help="replace a model or run already in OUT")
    p.add_argument("--cache", default=None, help="feature cache folder (default OUT/features)")
    p.add_argument("--threads", type=count, default=0, help="torch CPU threads (0 = torch default)")
    _add_fields(p, ScstConfig, title="self-critical training")


def run(args) -> int:
    import torch

    from engine.cancel import interrupt_cancels
    from engine.caption.config import ScstConfig
    from engine.caption.scst import train_scst
    from engine.device import choose_device
    from engine.training import tqdm_callback

    if not args.init and not args.resume:
        raise ValueError("train captioner-scst: --init MODEL_FOLDER is required (or --resume)")
    check_out(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = choose_device(args.device)
    scfg = ScstConfig(**{f.name: getattr(args, f.name) for f in fields(ScstConfig)})
    quiet = bool(args.json)
    t0 = time.time()
    with interrupt_cancels() as cancel:
        done = train_scst(
            args.init,
            args.images,
            args.captions,
            args.out,
            scfg,
            device=info.name,
            cache_dir=args.cache,
            resume=args.resume,
            overwrite=args.overwrite,
            cancel=cancel,
            callbacks=[] if quiet else [_lazy(tqdm_callback, "self-critical")],
            log=(lambda s: None) if quiet else print,
            extract_progress=extract_bar(quiet),
        )
    report(done, scfg.metric, args.out, t0, quiet)
    return 0
