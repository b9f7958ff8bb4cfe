"""``python -m engine bench NAME``: run a registered micro-benchmark and print its table.

A bench is a function ``fn(args) -> dict`` registered below as ``"module:function"`` and imported
only when it runs. It reads the shared options (``--batch``, ``--seq``, ``--hidden``,
``--repeats``, ``--warmup``, ``--only``; None means "the bench's own default") and ``--device``;
``--threads`` is applied here before the bench starts. It returns::

    {"title": str, "columns": [str, ...], "rows": [{column: value, ...}, ...],
     "notes": [str, ...], "meta": {...}}

This module prints that as an aligned table, or as JSON with ``--json``. To add a bench, write
the function in its own module and add one line to ``BENCHES``.
"""

from __future__ import annotations

import argparse
import importlib

from engine.cli_args import count, json_text

HELP = "measure throughput of a part of the engine (benches: rnn)"

# bench name -> "module:function" returning the result dict described above
BENCHES: dict[str, str] = {
    "rnn": "engine.nn.bench_rnn:bench_rnn",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help=f"which bench: {', '.join(BENCHES)}")
    parser.add_argument("--batch", type=int, default=None, help="batch size (bench default if omitted)")
    parser.add_argument("--seq", type=int, default=None, help="sequence length (bench default if omitted)")
    parser.add_argument("--hidden", type=int, default=None, help="hidden size (bench default if omitted)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats; the median is reported")
    parser.add_argument("--warmup", type=int, default=None, help="untimed warm-up runs per variant")
    parser.add_argument("--only", default=None, help="comma-separated subset of the bench's variants")
    parser.add_argument(
        "--threads", type=count, default=None, help="torch intra-op threads (default: torch's)"
    )


def load_bench(name: str):
    """The bench function for ``name``; unknown names raise ValueError listing the known ones."""
    if name not in BENCHES:
        raise ValueError(f"unknown bench {name!r}; known: {', '.join(BENCHES)}")
    module, _, func = BENCHES[name].partition(":")
    return getattr(importlib.import_module(module), func)


def format_table(result: dict) -> str:
    """Render a bench result as a plain aligned text table with its title and notes."""
    cols = result["columns"]
    cells = [[_fmt(row.get(c, "")) for c in cols] for row in result["rows"]]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(cols)]
    lines = [result.get("title", ""), ""]
    lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths)))
    notes = result.get("notes") or []
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)


def _numeric(s: str) -> bool:
    return s.replace(",", "").replace(".", "", 1).replace("x", "").lstrip("-").isdigit()


def run(args: argparse.Namespace) -> int:
    if args.threads == 0:  # 0 means torch's default, as in every other command
        args.threads = None
    for opt in ("batch", "seq", "hidden", "repeats"):  # (--threads is a count: 0 or more)
        value = getattr(args, opt)
        if value is not None and value < 1:
            raise ValueError(f"--{opt} must be >= 1, got {value}")
    if args.warmup is not None and args.warmup < 0:
        raise ValueError(f"--warmup must be >= 0, got {args.warmup}")
    bench = load_bench(args.name)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    result = bench(args)
    print(json_text(result, indent=2) if args.json else format_table(result))
    return 0
