"""``python -m engine train dialogue``: tokenizer, word vectors and HRED training in one command."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path

from engine.cli_args import boolean, count, folder, json_text, positive

HELP = "train a dialogue model (HRED) on chitchat, chatterbot or your own chat files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--corpus",
        default="chitchat",
        help="chitchat | chatterbot | a file/folder (chitchat JSON, chatterbot YAML, "
        "DailyDialog __eou__ lines, plain text, JSON list of {id, turns}, CSV/TSV chat export)",
    )
    p.add_argument("--format", default=None, help="force the corpus reader (see --corpus)")
    p.add_argument(
        "--out", type=folder, required=True, help="output model folder (checkpoints go in OUT/checkpoint)"
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace a model or run already in OUT")
    p.add_argument(
        "--init-from",
        default="",
        metavar="DIR",
        help="fine-tune: start from this dialogue model (its config and tokenizer; model flags ignored)",
    )
    p.add_argument("--epochs", type=positive, default=10)
    p.add_argument("--minutes", type=float, default=0.0, help="wall-clock training budget (0 = none)")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--batch-size", type=positive, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--eval-every", type=int, default=500, help="steps between validations")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument(
        "--word-vectors",
        choices=["word2vec", "fasttext", "none"],
        default="word2vec",
        help="initialise embeddings from gensim vectors trained on the training text",
    )
    p.add_argument("--max-train-examples", type=count, default=0, help="cap training pairs (0 = all)")
    p.add_argument("--valid-examples", type=int, default=3000, help="validation pairs per evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=count, default=0, help="torch CPU threads (0 = torch default)")
    from engine.dialogue.config import HREDConfig

    for f in fields(HREDConfig):
        if f.name == "vocab_size":
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            p.add_argument(
                flag,
                type=boolean,
                default=f.default,
                metavar="BOOL",
                help=f"model config (default {f.default})",
            )
        else:
            p.add_argument(
                flag, type=type(f.default), default=f.default, help=f"model config (default {f.default})"
            )


def run(args) -> int:
    from dataclasses import fields

    from engine.cancel import interrupt_cancels
    from engine.device import choose_device
    from engine.dialogue.config import HREDConfig
    from engine.dialogue.run import DialogueRunConfig, run_dialogue
    from engine.training import check_out_dir, ppl_words, tqdm_callback

    check_out_dir(args.out, args.resume, args.overwrite)
    t_start = time.time()
    info = choose_device(args.device)
    model = {f.name: getattr(args, f.name) for f in fields(HREDConfig) if f.name != "vocab_size"}
    cfg = DialogueRunConfig(
        corpus=args.corpus,
        fmt=args.format,
        epochs=args.epochs,
        minutes=args.minutes,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        clip=args.clip,
        patience=args.patience,
        eval_every=args.eval_every,
        vocab_size=args.vocab_size,
        word_vectors=args.word_vectors,
        max_train_examples=args.max_train_examples,
        valid_examples=args.valid_examples,
        seed=args.seed,
        threads=args.threads,
        model=model,
        init_from=args.init_from,
    )

    def on_info(start: dict) -> None:
        if not args.json:
            print(
                f"examples: {start['train_examples']} train, {start['valid_examples']} valid; "
                f"vocab {start['vocab']}; {start['params'] / 1e6:.2f} M parameters; device {info.label}"
            )

    callbacks = [] if args.json else [tqdm_callback("train dialogue")]
    with interrupt_cancels() as cancel:
        summary = run_dialogue(
            cfg,
            args.out,
            device=info.name,
            callbacks=callbacks,
            cancel=cancel,
            resume=args.resume,
            on_info=on_info,
        )
    summary["total_minutes"] = round((time.time() - t_start) / 60, 2)
    out = Path(args.out)
    (out / "train_log.json").write_text(json.dumps(summary, indent=2))
    if args.json:
        print(json_text({k: v for k, v in summary.items() if k != "history"}))
    else:
        print(
            f"done ({summary['reason']}): best validation perplexity {ppl_words(summary['best_val_ppl'])} "
            f"after {summary['steps']} steps; model in {out}"
        )
    return 0
