"""``python -m engine caption PATH...``: caption images, folders and videos from the terminal."""

from __future__ import annotations

import argparse
import math
import sys

from engine.cli_args import count, json_text, positive, positive_number

HELP = "caption images, folders of images and videos (clip caption + a caption per scene)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="image files, folders of images, or video files")
    p.add_argument("--model", default=None, help="captioner model folder (default: the shipped model)")
    p.add_argument("--beam", type=int, default=3, help="beam size (1 = greedy)")
    p.add_argument(
        "--alternatives", type=count, default=0, help="also print this many other beams (beam search)"
    )
    p.add_argument("--length-penalty", type=float, default=0.0, help="GNMT length penalty alpha")
    p.add_argument("--no-block-repeats", action="store_true", help="allow content words to repeat")
    p.add_argument("--batch-size", type=positive, default=16, help="images encoded together")
    p.add_argument(
        "--every", type=positive_number, default=2.0, help="video: seconds between uniform samples"
    )
    p.add_argument(
        "--scene-threshold", type=positive_number, default=0.4, help="video: histogram distance of a cut"
    )
    p.add_argument("--attention", action="store_true", help="JSON: include per-word 7x7 attention maps")
    p.add_argument("--threads", type=count, default=0, help="torch CPU threads (0 = torch default)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="decoder search precision (auto: bf16 where the hardware is fast at it)",
    )


def _caption_dict(cap, args) -> dict:
    d = {"caption": cap.text, "logprob": round(cap.logprob, 4)}
    if getattr(cap, "low_information", False):
        d["low_information"] = True  # a blank picture: a plain caption, not the model's
    if args.alternatives:
        d["alternatives"] = [
            {"caption": t, "logprob": round(lp, 4)} for t, lp in cap.alternatives[: args.alternatives]
        ]
    if args.attention:
        d["words"] = cap.words
        d["attention"] = [[[round(float(v), 4) for v in row] for row in m] for m in cap.attention]
    return d


def run(args) -> int:
    from pathlib import Path

    import torch

    from engine.caption.captioner import Captioner, caption_options
    from engine.caption.images import IMAGE_EXTENSIONS, list_images
    from engine.caption.video import (
        VIDEO_EXTENSIONS,
        SamplingOptions,
        VideoError,
        caption_video,
        media_kind,
        scene_ends,
    )
    from engine.device import choose_device
    from engine.paths import default_model

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.beam < 1:
        raise ValueError("--beam must be >= 1")
    missing = [p for p in args.paths if not Path(p).exists()]
    if len(missing) == len(args.paths):
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")
    if args.length_penalty is not None and not math.isfinite(args.length_penalty):
        raise ValueError(f"--length-penalty must be a finite number, not {args.length_penalty}")
    files = list_images(args.paths, IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
    if not files:
        kinds = " ".join(sorted({*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS}))
        raise FileNotFoundError(
            f"no images or videos in {', '.join(map(str, args.paths))} (read: {kinds}; subfolders are "
            "not searched: name them)"
        )
    info = choose_device(args.device)
    cap = Captioner.from_folder(args.model or default_model("captioner"), info.name, args.precision)
    opts = caption_options(args.beam, length_penalty=args.length_penalty)
    block = not args.no_block_repeats
    if args.alternatives:  # other beams need a beam search, also with --beam 1
        opts.method = "beam"
        opts.beam_size = max(opts.beam_size, args.alternatives + 1)
    kinds = {f: media_kind(f) for f in files}  # by the bytes: a video named .jpg is a video
    videos = [f for f in files if kinds[f] == "video"]
    images = [f for f in files if kinds[f] == "image"]
    results: list[dict] = []
    if images:
        for r in cap.caption_files(images, opts, batch_size=args.batch_size, block_repeats=block):
            results.append(
                {"path": r.path, "error": r.error}
                if r.caption is None
                else {"path": r.path, **_caption_dict(r.caption, args)}
            )
    sampling = SamplingOptions(every_s=args.every, scene_threshold=args.scene_threshold)
    for v in videos:
        try:
            vc = caption_video(cap, v, opts, sampling)
        except VideoError as exc:
            results.append({"path": str(v), "error": str(exc)})
            continue
        length = vc.length_s
        results.append(
            {
                "path": str(v),
                **_caption_dict(vc.caption, args),
                "frames_sampled": vc.n_sampled,
                "duration_s": round(length, 2),
                **({"note": vc.note} if vc.note else {}),
                "scenes": [
                    {
                        "start_s": round(s.start_s, 2),
                        "end_s": round(s.end_s, 2),  # its last sampled frame
                        "until_s": round(until, 2),  # where the next scene starts (or the video ends)
                        "frames": s.n_frames,
                        **_caption_dict(s.caption, args),
                    }
                    for s, until in zip(vc.scenes, scene_ends([s.start_s for s in vc.scenes], length))
                ],
            }
        )
    order = {str(p): i for i, p in enumerate(files)}
    results.sort(key=lambda r: order.get(r["path"], 0))
    failed = sum(1 for r in results if "error" in r)
    if args.json:
        print(json_text({"results": results, "failed": failed}, indent=2))
    else:
        for r in results:
            if "error" in r:
                reason = r["error"].removeprefix(f"{Path(r['path']).name}: ")
                print(f"{r['path']}: error: {reason}", file=sys.stderr)
                continue
            print(f"{r['path']}: {r['caption']}")
            if r.get("note"):
                print(f"    note: {r['note']}")
            for alt in r.get("alternatives", []):
                print(f"    alt ({alt['logprob']:.2f}): {alt['caption']}")
            for s in r.get("scenes", []):
                print(f"    [{s['start_s']:7.2f}s - {s['until_s']:7.2f}s] {s['caption']}")
    return 1 if failed else 0
