"""``python -m engine eval caption``: BLEU-1..4 and CIDEr on a held-out split of captioned images."""

from __future__ import annotations

import argparse
import json
import time

from engine.cli_args import count, json_text, new_file, positive

HELP = "evaluate a captioner: corpus BLEU-1..4 and CIDEr (pycocoevalcap) against all references"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="captioner model folder (default: the shipped model)")
    p.add_argument("--images", required=True, help="folder holding the images named in the caption file")
    p.add_argument(
        "--captions", required=True, help="captions: CSV 'image,caption', Flickr8k tokens or COCO JSON"
    )
    p.add_argument(
        "--split",
        default="test",
        choices=["test", "val", "train", "all"],
        help="hash split of the images to score (all: every image is held out)",
    )
    p.add_argument("--beam", type=positive, default=3, help="beam size (1 = greedy)")
    p.add_argument("--length-penalty", type=float, default=0.0, help="GNMT length penalty alpha")
    p.add_argument("--no-block-repeats", action="store_true", help="allow content words to repeat")
    p.add_argument("--limit", type=count, default=0, help="score at most this many images (0 = all)")
    p.add_argument("--batch-size", type=positive, default=16)
    p.add_argument(
        "--save", type=new_file, default=None, help="write the generated captions to this JSON file"
    )
    p.add_argument("--threads", type=count, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="decoder search precision (auto: bf16 where the hardware is fast at it)",
    )


def run(args) -> int:
    import torch

    from engine.caption import data as D
    from engine.caption.captioner import Captioner, caption_options
    from engine.caption.metrics import caption_scores
    from engine.device import choose_device
    from engine.extras import require_caption_metrics
    from engine.paths import default_model

    require_caption_metrics()  # scoring comes last: say so before captioning every image
    if args.threads:
        torch.set_num_threads(args.threads)
    info = choose_device(args.device)
    cs = D.with_images(D.read_captions(args.captions), args.images)
    refs = D.split(cs, args.split)
    if not refs:
        raise ValueError(f"no images of the {args.split!r} split are in {args.captions}")
    names = sorted(refs)[: args.limit or None]
    folder = args.model or default_model("captioner")
    cap = Captioner.from_folder(folder, info.name, args.precision)
    t0 = time.perf_counter()
    from pathlib import Path

    results = cap.caption_files(
        [Path(args.images) / n for n in names],
        caption_options(args.beam, length_penalty=args.length_penalty),
        batch_size=args.batch_size,
        block_repeats=not args.no_block_repeats,
    )
    seconds = time.perf_counter() - t0
    hyps = {n: r.caption.text for n, r in zip(names, results) if r.caption is not None}
    errors = {n: r.error for n, r in zip(names, results) if r.caption is None}
    scores = caption_scores({n: refs[n] for n in hyps}, hyps)
    out = {
        **scores,
        "split": args.split,
        "precision": str(cap.dtype).removeprefix("torch."),
        "beam": args.beam,
        "n_failed": len(errors),
        "model": str(folder),
        "seconds": round(seconds, 2),
    }
    if args.save:
        Path(args.save).write_text(
            json.dumps({"captions": hyps, "errors": errors, "metrics": out}, indent=2), encoding="utf-8"
        )
    if args.json:
        print(json_text(out, indent=2))
    else:
        for k in ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "cider"):
            print(f"{k:8s} {out[k]:.4f}")
        print(f"n_images {out['n_images']} ({args.split} split, beam {args.beam}, {seconds:.1f} s)")
        for e in list(errors.values())[:5]:
            print(f"skipped {e}")
    return 0
