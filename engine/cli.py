"""``python -m engine …``: the command-line front door.

Every subcommand lives in its own module, registered here by dotted path and imported only when
it runs (or when ``--help`` is built), so a light command never pays for torch. A command module
exposes ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``; it must import
heavy libraries inside ``run``. ``train`` and ``eval`` take a model kind, each kind a module of
its own with the same three names. Every subcommand gets ``--json`` and ``--device``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sqlite3
import sys

# name -> module with HELP, add_arguments, run
COMMANDS: dict[str, str] = {
    "bench": "engine.bench",
    "history": "engine.history_cli",
    "chat": "engine.dialogue.chat_cli",
    "summarize": "engine.summarize.cli",
    "caption": "engine.caption.cli",
    "forecast": "engine.forecast.cli",
    "inspect": "engine.lab.inspect_cli",
}
# `train KIND` and `eval KIND`: kind -> module
TRAIN: dict[str, str] = {
    "dialogue": "engine.dialogue.train_cli",
    "lm": "engine.lab.lm_cli",
    "captioner": "engine.caption.train_cli",
    "captioner-scst": "engine.caption.scst_cli",
    "summarizer": "engine.summarize.train_cli",
}
EVAL: dict[str, str] = {
    "dialogue": "engine.dialogue.eval_cli",
    "summarize": "engine.summarize.eval_cli",
    "caption": "engine.caption.eval_cli",
    "forecast": "engine.forecast.eval_cli",
}


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    return p


def _load(path: str):
    """Import a command module; None if that part of Parlance is not installed/built yet."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name):
            return None
        raise


def _add_group(sub, name: str, registry: dict[str, str], common, help_text: str) -> None:
    group = sub.add_parser(name, help=help_text)
    kinds = group.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, path in registry.items():
        mod = _load(path)
        if mod is None:
            continue
        p = kinds.add_parser(kind, help=mod.HELP, parents=[common], description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Parlance engine commands.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common()
    for name, path in COMMANDS.items():
        mod = _load(path)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, parents=[common], description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    _add_group(sub, "train", TRAIN, common, "train a model (progress, checkpoints, resume)")
    _add_group(sub, "eval", EVAL, common, "evaluate a model on held-out data")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `… | head`: the reader has gone; stop quietly, as other tools do
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, FileNotFoundError, OSError) as exc:
        # One error path: a clear message, no traceback, non-zero exit.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: not enough memory for these settings; choose smaller sizes", file=sys.stderr)
        return 2
    except (RuntimeError, ArithmeticError) as exc:  # torch's "can't allocate", a diverged training …
        print(f"error: {_runtime_words(exc)}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"error: the history database: {exc}", file=sys.stderr)
        return 2


def _runtime_words(exc: BaseException) -> str:
    """A runtime failure caused by the settings, in words with what to change."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if "allocate" in low or "out of memory" in low:
        return f"not enough memory for these settings ({text}); choose smaller sizes"
    if "nan" in low or "overflow" in low or "inf" in low.split():
        return f"the training diverged ({text}); lower --lr or clip the gradient norm"
    return text
