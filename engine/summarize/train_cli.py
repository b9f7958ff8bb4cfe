"""``python -m engine train summarizer``: the pointer-generator on article -> headline pairs."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields

from engine.cli_args import boolean, count, folder, json_text, positive

HELP = "train the abstractive summarizer (pointer-generator with coverage) on article/headline pairs"

# PointerConfig fields settable from the command line (the rest are fixed by the tokenizer)
MODEL_FLAGS = {
    "emb_dim": int,
    "enc_hidden": int,
    "dec_hidden": int,
    "attn_dim": int,
    "dropout": float,
    "cov_weight": float,
    "max_source": int,
    "max_target": int,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="BBC News Summary folder, or a .jsonl file/folder")
    # "auto" defaults: a .jsonl in the documented {"text", "summary"} format failed with bbc / title
    p.add_argument(
        "--format", dest="fmt", default="auto", help="bbc | jsonl | auto (default: jsonl for .jsonl files)"
    )
    p.add_argument(
        "--target",
        default="auto",
        help="title: headline generation | summary | auto (default: title for bbc, summary for jsonl)",
    )
    p.add_argument(
        "--out", type=folder, required=True, help="output model folder (resumable state in OUT/checkpoint)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in OUT")
    p.add_argument("--overwrite", action="store_true", help="replace a model or run already in OUT")
    p.add_argument(
        "--init-from",
        default="",
        metavar="DIR",
        help="fine-tune: start from this summarizer model folder (e.g. resources/models/summarizer or a "
        "finished run): its architecture, tokenizer and weights; the model-size flags, --vocab-size and "
        "--word-vectors do not apply",
    )
    p.add_argument("--epochs", type=positive, default=40)
    p.add_argument("--minutes", type=float, default=0.0, help="wall-clock training budget (0 = none)")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--batch-size", type=positive, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=2.0)
    p.add_argument("--patience", type=int, default=6, help="evaluations without improvement before stopping")
    p.add_argument("--eval-every", type=int, default=0, help="steps between validations (0 = every epoch)")
    # None = not given (a new model's default): with --init-from they are refused, not ignored
    p.add_argument("--vocab-size", type=int, default=None, help="sentencepiece vocabulary (default 6000)")
    p.add_argument("--word-vectors", type=boolean, default=True, help="on/off: Word2Vec start for embeddings")
    p.add_argument("--pointer", type=boolean, default=None, help="on/off: the copy mechanism (ablation)")
    p.add_argument("--coverage", type=boolean, default=None, help="on/off: coverage (ablation)")
    p.add_argument("--limit", type=count, default=0, help="use at most N training pairs (0 = all)")
    p.add_argument(
        "--denoise",
        type=int,
        default=0,
        help="denoising pairs per epoch from the training articles' sentences (auxiliary task; 0 = off)",
    )
    p.add_argument("--denoise-drop", type=float, default=0.25, help="share of words dropped when denoising")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=count, default=0, help="torch CPU threads (0 = torch default)")
    for name, kind in MODEL_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None, help=f"model {name}")


def run(args) -> int:
    from engine.cancel import interrupt_cancels
    from engine.device import choose_device
    from engine.summarize.data import DEFAULT_TARGET, detect_format
    from engine.summarize.train import SummarizerTrainConfig, train_summarizer
    from engine.training import check_out_dir, tqdm_callback

    architecture = [*MODEL_FLAGS, "pointer", "coverage", "vocab_size"]
    given = ["--" + n.replace("_", "-") for n in architecture if getattr(args, n) is not None]
    if args.init_from and given:
        raise ValueError(
            f"{', '.join(given)}: a fine-tuned model keeps the architecture and tokenizer of "
            f"--init-from {args.init_from}; leave these flags out (or train a new model without --init-from)"
        )
    check_out_dir(args.out, args.resume, args.overwrite)
    names = {f.name for f in fields(SummarizerTrainConfig)} - {"model", "word_vectors", "vocab_size"}
    cfg = SummarizerTrainConfig(**{n: getattr(args, n) for n in names if hasattr(args, n)})
    cfg.word_vectors = args.word_vectors
    if args.vocab_size is not None:
        cfg.vocab_size = args.vocab_size
    cfg.model = {n: getattr(args, n) for n in architecture[:-1] if getattr(args, n) is not None}
    if cfg.fmt == "auto":
        cfg.fmt = detect_format(cfg.data)
    if cfg.target == "auto":
        cfg.target = DEFAULT_TARGET.get(cfg.fmt, "title")
    info = choose_device(args.device)
    quiet = bool(args.json)
    t0 = time.time()
    with interrupt_cancels() as cancel:
        done = train_summarizer(
            cfg,
            args.out,
            device=info.name,
            cancel=cancel,
            resume=args.resume,
            callbacks=[] if quiet else [tqdm_callback("train summarizer")],
            log=(lambda s: None) if quiet else print,
        )
    summary = {
        "reason": done.reason,
        "steps": done.step,
        "best_rouge_l": done.best_metric,
        "minutes": round((time.time() - t0) / 60, 2),
        "model": str(args.out),
    }
    if quiet:
        print(json_text(summary))
    else:
        best = "n/a" if done.best_metric is None else f"{done.best_metric:.4f}"
        print(f"done ({done.reason}): best validation ROUGE-L {best}, {done.step} steps, model in {args.out}")
    return 0
