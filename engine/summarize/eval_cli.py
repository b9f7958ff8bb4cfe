"""``python -m engine eval summarize``: ROUGE of Parlance's extractive variants against baselines.

Every method chooses from the same sentences (``parse_document`` of each text: its title line is
never a candidate) with the same budget, the reference's sentence count; scores are ROUGE-1, -2
and -Lsum F1 from Google's ``rouge-score`` with stemming, sentences joined by newlines.
``--target title`` scores one-sentence summaries of the article body against its headline (a
setting where the first sentence is hard to beat, like CNN/DailyMail highlights).
"""

from __future__ import annotations

import time

from engine.cli_args import json_text, positive

HELP = "ROUGE of TextRank variants vs Lead and sumy baselines on held-out summaries"
METRICS = ("rouge1", "rouge2", "rougeLsum")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--data", default=None, help="data folder (BBC layout) or .jsonl file/folder (required)"
    )
    parser.add_argument("--format", default="bbc", help="data format: bbc or jsonl (default bbc)")
    parser.add_argument("--split", default="test", help="test (held-out), train (for tuning) or all")
    parser.add_argument("--limit", type=positive, default=None, help="use at most N examples of the split")
    parser.add_argument(
        "--methods", default=None, help="comma-separated method names (default: all); see --list-methods"
    )
    parser.add_argument("--list-methods", action="store_true", help="print the method names and exit")
    parser.add_argument(
        "--target", default="summary", help="summary (the reference summary) or title (bbc: the headline)"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="abstractive summarizer folder for the 'abstractive' method (default: the shipped one)",
    )
    parser.add_argument(
        "--beam", type=positive, default=4, help="beam size of the abstractive method (default 4)"
    )
    vec = parser.add_mutually_exclusive_group()
    vec.add_argument("--vectors", default=None, help="word vectors (.txt/.vec/.bin) for the vectors variant")
    vec.add_argument(
        "--train-vectors",
        action="store_true",
        help="train Word2Vec on the train part of --data (never the test part) for the vectors variant",
    )


def method_registry(keyed_vectors=None) -> dict:
    """name -> function(sentences, k, title) -> chosen indices, for every evaluated method; with
    ``keyed_vectors`` also the default config on averaged word vectors (``parlance-vectors``)."""
    from engine.summarize.baselines import SUMY_ALGORITHMS, lead, sumy_baseline
    from engine.summarize.summary import Budget
    from engine.summarize.textrank import VARIANTS, TextRankConfig, summarize_sentences

    def parlance(config, kv=None):
        return lambda sents, k, title: (
            summarize_sentences(sents, Budget(sentences=k), config, title, kv).indices
        )

    def sumy(name):
        cache = {}  # built on first use, so listing methods needs no sumy

        def run(sents, k, title):
            if "f" not in cache:
                cache["f"] = sumy_baseline(name)
            return cache["f"](sents, k)

        return run

    methods = {f"parlance-{name}": parlance(cfg) for name, cfg in VARIANTS.items()}
    if keyed_vectors is not None:
        methods["parlance-vectors"] = parlance(TextRankConfig(representation="vectors"), keyed_vectors)
    methods["lead-3"] = lambda sents, k, title: lead(sents, 3)
    methods["lead-k"] = lambda sents, k, title: lead(sents, k)
    # a headline-length prefix: the first 10 words of the text (a method may return text itself)
    methods["lead-10-words"] = lambda sents, k, title: " ".join(" ".join(sents).split()[:10])
    methods.update({name: sumy(name) for name in SUMY_ALGORITHMS})
    return methods


def abstractive_method(folder, beam: int = 4, device: str | None = None):
    """The pointer-generator as an evaluated method (it writes text rather than choosing sentences);
    loaded on first use, on ``device`` (None: the best available, as ``--device`` says)."""
    from engine.paths import default_model

    folder = folder or default_model("summarizer")
    cache = {}

    def run(sents, k, title):
        from engine.summarize.abstractive import Abstractor, default_options

        if "m" not in cache:
            cache["m"] = Abstractor.load(folder, device=device)
        return cache["m"].summarize(" ".join(sents), default_options(beam), n_best=1).text

    return run


def evaluate(examples, methods: dict, target: str = "summary") -> dict:
    """Mean ROUGE F1 (and its standard error) per method over ``examples``."""
    import numpy as np
    from rouge_score import rouge_scorer

    from engine.summarize.document import parse_document

    if target not in ("summary", "title"):
        raise ValueError(f"unknown target {target!r}; known: summary, title")
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    scores = {name: {m: [] for m in METRICS} for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    used = 0
    for ex in examples:
        doc = parse_document(ex.text)
        reference, title = ex.reference, doc.title
        if target == "title":
            reference, title = [doc.title], ""
        if not doc.sentences or not reference or not reference[0]:
            continue
        used += 1
        k = min(len(reference), len(doc.sentences)) if target == "summary" else 1
        ref_text = "\n".join(reference)
        for name, choose in methods.items():
            t0 = time.perf_counter()
            picked = choose(doc.sentences, k, title)
            seconds[name] += time.perf_counter() - t0
            summary = picked if isinstance(picked, str) else "\n".join(doc.sentences[i] for i in picked)
            result = scorer.score(ref_text, summary)
            for m in METRICS:
                scores[name][m].append(result[m].fmeasure)
    table = {}
    for name in methods:
        row = {}
        for m in METRICS:
            vals = np.asarray(scores[name][m])
            row[m] = float(vals.mean()) if used else 0.0
            row[m + "_se"] = float(vals.std(ddof=1) / np.sqrt(used)) if used > 1 else 0.0
        row["ms_per_text"] = 1000.0 * seconds[name] / max(used, 1)
        table[name] = row
    return {"n_examples": used, "methods": table}


def word_vectors(args, examples):
    """KeyedVectors for the vectors variant from --vectors or --train-vectors, else None."""
    if args.vectors:
        from engine.text.vectors import load_vectors

        return load_vectors(args.vectors)
    if not args.train_vectors:
        return None
    from engine.summarize.data import select_split
    from engine.summarize.document import parse_document
    from engine.text.vectors import simple_tokenize, train_word2vec

    corpus = [
        simple_tokenize(s)
        for ex in select_split(examples, "train")
        for s in parse_document(ex.text).sentences
    ]
    return train_word2vec([toks for toks in corpus if toks], dim=100, epochs=10, workers=1, seed=1)


def run(args) -> int:
    from engine.summarize.data import load_examples, select_split

    known = [*method_registry(), "parlance-vectors", "abstractive"]  # every name --methods takes
    if args.list_methods:
        print("\n".join(known))
        return 0
    if args.data is None:
        raise ValueError("--data DIR is required (a BBC News Summary folder or a .jsonl file)")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be >= 1")
    wanted = [m.strip() for m in (args.methods or "").split(",") if m.strip()]
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(known)}")
    from engine.summarize.cli import check_beam

    check_beam(args.beam)
    if "parlance-vectors" in wanted and not (args.vectors or args.train_vectors):
        raise ValueError("parlance-vectors needs --vectors FILE or --train-vectors")
    everything = load_examples(args.data, args.format)
    from engine.extras import require_bench

    # after the arguments and the data are checked, before any work (it was a traceback at the end)
    require_bench("rouge_score", "ROUGE scoring (eval summarize)")
    methods = method_registry(word_vectors(args, everything))
    if "abstractive" in wanted or args.model:
        methods["abstractive"] = abstractive_method(args.model, args.beam, getattr(args, "device", None))
    if wanted:
        methods = {m: methods[m] for m in wanted}
    examples = select_split(everything, args.split)
    if args.limit is not None:
        examples = examples[: args.limit]
    if not examples:
        hint = "; try --split all" if args.split != "all" else ""
        raise ValueError(
            f"no examples in the {args.split} split of {args.data} ({len(everything)} in all){hint}"
        )
    result = evaluate(examples, methods, args.target)
    if not result["n_examples"]:
        raise ValueError(f"none of the {len(examples)} examples could be scored (empty texts or references?)")
    result = {
        "data": str(args.data),
        "format": args.format,
        "split": args.split,
        "target": args.target,
        "budget": "reference sentence count" if args.target == "summary" else "1 sentence",
        **result,
    }
    if args.json:
        print(json_text(result, indent=2))
    else:
        print(format_table(result))
    return 0


def format_table(result: dict) -> str:
    """A Markdown table of the result, best ROUGE-Lsum first."""
    lines = [
        f"{result['n_examples']} examples ({result['split']} split, target {result['target']}, "
        f"budget: {result['budget']})",
        "",
        "| method | ROUGE-1 | ROUGE-2 | ROUGE-Lsum | ms/text |",
        "|---|---|---|---|---|",
    ]
    rows = sorted(result["methods"].items(), key=lambda kv: -kv[1]["rougeLsum"])
    for name, r in rows:
        cells = " | ".join(f"{100 * r[m]:.2f} ± {100 * r[m + '_se']:.2f}" for m in METRICS)
        lines.append(f"| {name} | {cells} | {r['ms_per_text']:.1f} |")
    return "\n".join(lines)
