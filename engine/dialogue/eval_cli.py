"""``python -m engine eval dialogue``: perplexity and reply diversity on held-out dialogues."""

from __future__ import annotations

import argparse

from engine.cli_args import json_text, positive

HELP = "evaluate a dialogue model: per-token/per-word perplexity, distinct-1/2, top reply share"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--data", default="chitchat", help="chitchat | chatterbot | a corpus file")
    p.add_argument(
        "--format", default=None, choices=["chitchat", "chatterbot", "dailydialog", "text", "json", "csv"]
    )
    p.add_argument(
        "--split",
        default="test",
        choices=["test", "valid", "train", "all"],
        help="which hash split of the data to use (all: the whole file is held out)",
    )
    p.add_argument("--sources", type=positive, default=300, help="contexts whose greedy replies are scored")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from engine.dialogue import corpus as C
    from engine.dialogue.bot import ChatBot
    from engine.paths import default_model

    bot = ChatBot.load(args.model or default_model("dialogue"), device=args.device)
    dialogues = C.load_corpus(
        args.data, args.format if args.format != "chitchat" or args.data != "chitchat" else None
    )
    n_all = len(dialogues)
    if args.split != "all":
        dialogues = C.split(dialogues, args.split)
    pairs = list(C.examples(dialogues, bot.context_turns))
    if not pairs:
        hint = (
            f" ({n_all} dialogue(s) in the corpus; a small corpus may have none in the "
            f"{args.split} split: try --split all)"
            if args.split != "all"
            else " (each dialogue needs at least two turns)"
        )
        raise ValueError(f"{args.data}: no (context, reply) pairs in the {args.split} split{hint}")
    from engine.dialogue.evaluate import evaluate

    result = evaluate(bot, pairs, n_sources=args.sources, seed=args.seed, extra_options=bot.default_options)
    result["model"] = str(bot.folder)
    if args.json:
        print(json_text(result, indent=2))
    else:
        for k in (
            "per_token_perplexity",
            "per_word_perplexity",
            "distinct_1",
            "distinct_2",
            "mean_reply_length",
            "top_reply_share",
            "n_targets",
        ):
            print(f"{k:22s} {result[k]:.4f}" if isinstance(result[k], float) else f"{k:22s} {result[k]}")
        print(f"most frequent reply: {result['top_reply']!r}")
    return 0
