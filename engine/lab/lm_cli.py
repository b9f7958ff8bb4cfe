"""``python -m engine train lm``: a small subword language model on any text (resumable)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from engine.cli_args import folder, json_text

HELP = "train a small subword language model (LSTM by default) on any UTF-8 text file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from engine.lab.lm_config import LMConfig, LMTrainConfig

    p.add_argument("--text", required=True, help="a UTF-8 text file (split into sentences)")
    p.add_argument(
        "--out", type=folder, required=True, help="model folder (checkpoints go in OUT/checkpoint)"
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace a model or run already in OUT")
    for cls in (LMConfig, LMTrainConfig):
        for f in fields(cls):
            if cls is LMConfig and f.name == "vocab_size":
                continue
            flag = "--" + f.name.replace("_", "-")
            p.add_argument(flag, type=type(f.default), default=f.default, help=f"(default {f.default})")


def run(args) -> int:
    from engine.cancel import interrupt_cancels
    from engine.device import choose_device
    from engine.lab.lm import read_sentences, train_lm
    from engine.lab.lm_config import LMConfig, LMTrainConfig
    from engine.training import check_out_dir, ppl_words, tqdm_callback

    def pick(cls, skip=()):
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if f.name not in skip})

    check_out_dir(args.out, args.resume, args.overwrite)
    model_cfg = pick(LMConfig, ("vocab_size",))
    train_cfg = pick(LMTrainConfig)
    sentences = read_sentences(args.text)
    device = choose_device(args.device).name
    callbacks = [] if args.json else [tqdm_callback("train lm")]
    with interrupt_cancels() as cancel:
        summary = train_lm(
            sentences, args.out, model_cfg, train_cfg, device, callbacks, cancel=cancel, resume=args.resume
        )
    if args.json:
        print(json_text(summary))
    else:
        ppl = summary["best_val_ppl"]
        print(
            f"done ({summary['reason']}) after {summary['steps']} steps: validation perplexity "
            f"{ppl_words(ppl)}; model in {args.out}"
            if ppl
            else f"done ({summary['reason']}); no evaluation yet"
        )
    return 0
