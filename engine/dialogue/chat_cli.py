"""``python -m engine chat``: talk to a dialogue model in the terminal, or answer once."""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli_args import db_file
from engine.text.normalize import has_visible

HELP = "chat with the dialogue model in the terminal (or answer one message)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("message", nargs="?", help="answer this one message and exit")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--method", choices=["greedy", "beam", "sample"], default=None)
    p.add_argument("--beam-size", type=int, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--max-len", type=int, default=None)
    p.add_argument("--repetition-penalty", type=float, default=None)
    p.add_argument(
        "--self-repeat-penalty",
        type=float,
        default=None,
        help="taken off the logit of pieces that would repeat the bot's own earlier replies (0 = off)",
    )
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--db", type=db_file, default=None, help="record the conversation in this history database"
    )


def _options(bot, args):
    from engine.decoding import DecodeOptions

    d = bot.default_options.to_dict()
    for key in (
        "method",
        "beam_size",
        "temperature",
        "top_k",
        "top_p",
        "max_len",
        "repetition_penalty",
        "self_repeat_penalty",
        "seed",
    ):
        if getattr(args, key) is not None:
            d[key] = getattr(args, key)
    return DecodeOptions.from_dict(d)


def run(args) -> int:
    from engine.dialogue.bot import ChatBot
    from engine.paths import default_model

    bot = ChatBot.load(args.model or default_model("dialogue"), device=args.device)
    opts = _options(bot, args)
    store, cid, parent = None, None, None
    from engine.history import NotFoundError

    if args.db is not None:
        from engine.history import HistoryStore

        store = HistoryStore(args.db, named_by_user=True)
        if store.recovered_from:
            print(
                f"note: the history database was damaged; kept it as {store.recovered_from}", file=sys.stderr
            )
    turns: list[str] = []

    def gone() -> None:
        """The conversation was deleted meanwhile (in the app, or by `history delete`): the chat
        ended with "error: no conversation with id 1"; now the next message starts a new one."""
        nonlocal parent, cid
        print(
            f"note: conversation {cid} was deleted from the history; the chat goes on in a new one",
            file=sys.stderr,
        )
        cid, parent = None, None

    def record_user(text: str) -> None:
        nonlocal parent, cid
        if cid is None:  # a conversation is recorded with its first message, not before
            cid = store.create_conversation(model=bot.name, settings={"decoding": opts.to_dict()})
        parent = store.add_message(cid, "user", text, parent)

    def answer(text: str) -> None:
        nonlocal parent, cid
        if not has_visible(text):
            raise ValueError("empty message: type something to send")
        text = text.encode("utf-8", "replace").decode("utf-8")  # undecodable stdin bytes become "?"
        turns.append(text)
        if store:
            try:
                record_user(text)
            except NotFoundError:
                gone()
                record_user(text)
        stream = None if args.json else (lambda piece: print(piece, end="", flush=True))
        if stream:
            print("bot: ", end="", flush=True)
        reply = bot.reply(turns, opts, on_token=stream)
        turns.append(reply.text)
        if store:
            try:
                parent = store.add_message(
                    cid,
                    "bot",
                    reply.text,
                    parent,
                    model=bot.name,
                    settings=opts.to_dict(),
                    latency_ms=reply.latency_ms,
                )
            except NotFoundError:  # deleted while the reply was written: the next message starts anew
                gone()
        if args.json:
            print(
                json.dumps(
                    {"reply": reply.text, "latency_ms": round(reply.latency_ms, 1), "tokens": reply.n_tokens}
                )
            )
        else:
            print()

    try:
        if args.message is not None:
            answer(args.message)
            return 0
        if not args.json:
            print(
                f"Chatting with {bot.name} on {bot.device_label} ({opts.method}). Empty line or Ctrl+D quits."
            )
        typed = sys.stdin.isatty()
        for line in sys.stdin:
            if not has_visible(line):
                if typed:
                    break  # an empty line quits a typed chat; piped input just skips blank lines
                continue
            answer(line.rstrip("\n"))
        return 0
    finally:
        if store:
            store.close()
