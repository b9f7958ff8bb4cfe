"""``python -m engine summarize FILE...|-``: summarise texts from the command line.

One input: the summary, one sentence per line (then, with ``--keywords``, a blank line and a
``keywords:`` line). Several inputs, or ``--json``: JSON Lines, one object per input with
``file``, ``sentences``, ``indices``, ``scores`` (one per source sentence), ``keywords`` and
``method``; an input that fails gives ``{"file": ..., "error": ...}`` instead. Every failure is
also reported on stderr and makes the exit status 2, after the other inputs are done.

HTML is stripped, binary files are refused, and the extractive method imports neither torch nor
gensim (unless ``--vectors`` asks for word vectors).
"""

from __future__ import annotations

import sys

from engine.cli_args import json_text, positive

MAX_BEAM = 32

HELP = "summarise text files (extractive TextRank, or the abstractive pointer-generator)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="text, Markdown or HTML files; - reads stdin"
    )
    parser.add_argument("--method", default="textrank", help="textrank (default) or abstractive")
    parser.add_argument(
        "--variant", default="default", help="TextRank variant: default, plain, lead, title, mmr, stem"
    )
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--sentences", type=int, default=None, help="summary length in sentences (default 3)")
    length.add_argument(
        "--ratio", type=float, default=None, help="summary length as a fraction of the sentences"
    )
    length.add_argument("--words", type=int, default=None, help="summary length budget in words")
    parser.add_argument("--keywords", type=int, default=0, metavar="K", help="also extract K key phrases")
    parser.add_argument("--model", default=None, help="abstractive model folder (default: the shipped one)")
    parser.add_argument(
        "--beam", type=positive, default=4, help=f"abstractive: beam size, 1-{MAX_BEAM} (default 4)"
    )
    parser.add_argument(
        "--vectors",
        default=None,
        help="word vectors (.txt/.vec/.bin) for sentence similarity instead of TF-IDF",
    )


def _textrank(args):
    """The TextRank summarizer configured by ``args``, as a function(text, budget) -> Summary."""
    from engine.summarize.textrank import summarize_text, variant

    config = variant(args.variant)
    kv = None
    if args.vectors:
        from engine.text.vectors import load_vectors

        kv = load_vectors(args.vectors)  # once, for every input
        config.representation = "vectors"
    return lambda text, budget: summarize_text(
        text, budget, config, keyed_vectors=kv, n_keywords=args.keywords
    )


def _abstractive(args):
    """The pointer-generator (``--model`` or the shipped one): a one-sentence, headline-style
    summary written by the model; the length options do not apply."""
    from engine.paths import default_model
    from engine.summarize.abstractive import Abstractor, summarize_text

    folder = args.model or default_model("summarizer")
    abstractor = Abstractor.load(folder, device=args.device)  # CheckpointError (a ValueError) if unusable
    return lambda text, budget: summarize_text(abstractor, text, args.beam, args.keywords)


# method name -> factory(args) -> function(text, budget) -> Summary; a factory raises ValueError when
# the method cannot run at all (missing model or vectors), before any input is read
METHODS = {"textrank": _textrank, "abstractive": _abstractive}


def check_beam(beam: int) -> None:
    """``--beam`` of the abstractive summarizer (here and in ``eval summarize``)."""
    if beam > MAX_BEAM:
        raise ValueError(f"--beam must be at most {MAX_BEAM} (a wider search does not help a headline)")


def run(args) -> int:
    from engine.summarize.summary import Budget
    from engine.summarize.textio import read_source

    if args.method not in METHODS:
        raise ValueError(f"unknown method {args.method!r}; known: {', '.join(METHODS)}")
    if args.keywords < 0:
        raise ValueError("--keywords must be >= 0")
    if args.files.count("-") > 1:
        raise ValueError("stdin (-) can be read only once")
    check_beam(args.beam)
    budget = Budget.of(args.sentences, args.ratio, args.words)  # ValueError for a bad limit
    given = [
        n for n, v in (("--sentences", args.sentences), ("--ratio", args.ratio), ("--words", args.words)) if v
    ]
    if args.method == "abstractive" and (given or args.variant != "default"):
        unused = ", ".join(given + (["--variant"] if args.variant != "default" else []))
        print(
            f"note: {unused} do not apply to the abstractive method (it writes one headline)", file=sys.stderr
        )
    summarize = METHODS[args.method](args)
    as_json = args.json or len(args.files) > 1
    failed = 0
    for path in args.files:
        try:
            text = read_source(path)
            if not text.strip():
                raise ValueError(f"{path}: nothing to summarise (the text is empty)")
            summary = summarize(text, budget)
            if not summary.source_sentences:
                raise ValueError(f"{path}: nothing to summarise (no words in the text)")
        except (ValueError, OSError) as exc:
            failed += 1
            message = str(exc) if str(exc).startswith(path) else f"{path}: {exc}"
            print(f"error: {message}", file=sys.stderr)
            if as_json:
                print(json_text({"file": path, "error": message}, ensure_ascii=False))
            continue
        if as_json:
            record = {
                "file": path,
                "sentences": summary.sentences,
                "indices": summary.indices,
                "scores": [round(s, 6) for s in summary.scores],
                "keywords": summary.keywords,
                "method": summary.method,
            }
            if summary.method == "abstractive":
                record["alternatives"] = summary.extras.get("alternatives", [])
                if summary.extras.get("note"):
                    record["note"] = summary.extras["note"]
            print(json_text(record, ensure_ascii=False))
        else:
            if summary.extras.get("note"):
                print(f"note: {summary.extras['note']}", file=sys.stderr)
            print("\n".join(summary.sentences))
            if args.keywords:
                print(f"\nkeywords: {', '.join(summary.keywords)}")
        sys.stdout.flush()
    return 2 if failed else 0
