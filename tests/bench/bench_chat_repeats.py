"""How often the chat bot repeats itself within a conversation (self-play on held-out dialogues).

    python tests/bench/bench_chat_repeats.py [--model DIR] [--split valid|test] [--dialogues 150]
        [--turns 6] [--penalties 0 1 2 3] [--threads 1] [--json]

For each of the first ``--dialogues`` held-out chitchat conversations (``--split``: choose the
penalty on "valid", report on "test"), the first speaker's turns (up to ``--turns``) are
replayed as the user and the bot answers each of them, its own replies (not the corpus's)
forming the context of the next answers - as in the app. Over the bot's replies
after the first in each conversation it reports the share that repeat an earlier reply of the same
conversation exactly (after lower-casing and dropping punctuation) and nearly (word-set Jaccard
>= 0.6 with one of them), distinct-2 over all replies, mean reply length in words and the
milliseconds per reply. The shipped default decoding is measured with every ``self_repeat_penalty``
of ``--penalties`` (0 = off) in the same run, and plain greedy decoding (no penalties) beside it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def near(a: list[str], b: list[str], level: float = 0.6) -> bool:
    sa, sb = set(a), set(b)
    return bool(sa or sb) and len(sa & sb) / len(sa | sb) >= level


def play(bot, dialogues, turns: int, options) -> dict:
    exact = close = later = 0
    replies, ms = [], []
    for d in dialogues:
        user = list(d.turns[0::2])[:turns]
        context: list[str] = []
        mine: list[list[str]] = []
        for message in user:
            context.append(message)
            t0 = time.perf_counter()
            r = bot.reply(context, options)
            ms.append((time.perf_counter() - t0) * 1000)
            w = words(r.text)
            if mine:
                later += 1
                exact += any(w == m for m in mine)
                close += any(near(w, m) for m in mine)
            mine.append(w)
            replies.append(w)
            context.append(r.text)
    grams = [tuple(w[i : i + 2]) for w in replies for i in range(len(w) - 1)]
    ms.sort()
    return {
        "replies": len(replies),
        "exact_repeat_share": round(exact / max(later, 1), 4),
        "near_repeat_share": round(close / max(later, 1), 4),
        "distinct_2": round(len(set(grams)) / max(len(grams), 1), 4),
        "mean_words": round(sum(map(len, replies)) / max(len(replies), 1), 2),
        "median_ms": round(ms[len(ms) // 2], 1),
    }


def main(argv=None) -> int:
    import torch

    from engine.decoding import DecodeOptions
    from engine.dialogue.bot import ChatBot
    from engine.dialogue.corpus import load_corpus, split

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "resources" / "models" / "dialogue"))
    p.add_argument("--dialogues", type=int, default=150)
    p.add_argument("--turns", type=int, default=6)
    p.add_argument("--split", default="test", choices=["valid", "test"])
    p.add_argument("--penalties", type=float, nargs="*", default=[0.0, 1.0, 2.0, 3.0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    bot = ChatBot.load(args.model)
    dialogues = [d for d in split(load_corpus("chitchat"), args.split) if len(d.turns) >= 4][: args.dialogues]
    base = bot.default_options.to_dict()
    decodings = {
        f"default, self_repeat_penalty {x:g}": base | {"self_repeat_penalty": x} for x in args.penalties
    }
    decodings["greedy, no penalties"] = {
        "method": "greedy",
        "max_len": base["max_len"],
        "repetition_penalty": 1.0,
    }
    decodings["greedy, no penalties"] |= {"block_ngram": 0, "self_repeat_penalty": 0.0}
    out = {}
    for name, opts in decodings.items():
        out[name] = play(bot, dialogues, args.turns, DecodeOptions.from_dict(opts))
        if not args.json:
            print(f"{name:36s} {out[name]}", flush=True)
    if args.json:
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
