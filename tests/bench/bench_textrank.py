"""Speed of the extractive summarizer on long texts (issue 5: 5,000 words < 300 ms, 50,000 < 5 s).

    python tests/bench/bench_textrank.py [--runs 5] [--json]

Texts of 5,000 and 50,000 words are generated from the sample articles in resources/samples/:
sentences drawn at random (fixed seed) with a third of their words swapped for other words of the
samples, so that no two sentences are identical, grouped into paragraphs of about 100 words. Each
figure is the median of ``--runs`` end-to-end calls of ``textrank.summarize`` (sentence splitting,
TF-IDF, similarity graph, PageRank, selection, 10 keywords), with the split alone timed too. The
peer, sumy's TextRank on the same sentences and budget, runs in the same process on the 5,000-word
text (it is quadratic in pure Python, so it is not run on 50,000 words).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.summarize.document import parse_document  # noqa: E402
from engine.summarize.summary import Budget  # noqa: E402
from engine.summarize.textrank import summarize, summarize_sentences  # noqa: E402


def make_text(n_words: int, seed: int = 0) -> str:
    """About ``n_words`` words of news-like text built from the shipped sample articles."""
    rng = random.Random(seed)
    sentences = []
    for path in sorted((ROOT / "resources" / "samples").glob("article_*.txt")):
        sentences.extend(parse_document(path.read_text(encoding="utf-8")).sentences)
    vocab = [w for s in sentences for w in s.split() if w.isalpha() and w.islower()]
    paragraphs, para, total = [], [], 0
    while total < n_words:
        words = rng.choice(sentences).split()
        for i in range(1, len(words) - 1):
            if rng.random() < 1 / 3 and words[i].isalpha():
                words[i] = rng.choice(vocab)
        para.append(" ".join(words))
        total += len(words)
        if sum(len(s.split()) for s in para) >= 100:
            paragraphs.append(" ".join(para))
            para = []
    paragraphs.append(" ".join(para))
    return "Generated benchmark text\n\n" + "\n\n".join(p for p in paragraphs if p)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for n_words in (5_000, 50_000):
        text = make_text(n_words)
        doc = parse_document(text)
        row = {
            "words": len(text.split()),
            "sentences": len(doc.sentences),
            "split_ms": median_ms(lambda text=text: parse_document(text), args.runs),
            "textrank_ms": median_ms(lambda text=text: summarize(text, sentences=10, keywords=10), args.runs),
            "rank_only_ms": median_ms(
                lambda doc=doc: summarize_sentences(doc.sentences, Budget(sentences=10), title=doc.title),
                args.runs,
            ),
        }
        if n_words <= 5_000:
            try:
                from engine.summarize.baselines import sumy_baseline

                peer = sumy_baseline("sumy-textrank")
                row["sumy_textrank_ms"] = median_ms(
                    lambda doc=doc, peer=peer: peer(doc.sentences, 10), args.runs
                )
            except ValueError:  # sumy not installed
                row["sumy_textrank_ms"] = None
        rows.append(row)
    result = {"machine": f"{platform.machine()} {platform.python_version()}", "runs": args.runs, "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"median of {args.runs} runs, {result['machine']}")
        for r in rows:
            print(
                f"{r['words']:>6} words {r['sentences']:>5} sentences: textrank {r['textrank_ms']:.0f} ms "
                f"(split {r['split_ms']:.0f} ms, rank+select {r['rank_only_ms']:.0f} ms)"
                + (f", sumy TextRank {r['sumy_textrank_ms']:.0f} ms" if r.get("sumy_textrank_ms") else "")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
