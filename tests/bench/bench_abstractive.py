"""Speed of the abstractive summarizer (pointer-generator) next to TextRank, on the sample articles.

    python tests/bench/bench_abstractive.py [--model DIR] [--runs 7] [--beam 4] [--json]

For each sample article in resources/samples/: model load time (once), then the median of
``--runs`` calls of ``abstractive.summarize_text`` (read the lead, encode, beam search, attention
maps) with beam 1 and ``--beam``; the peer, TextRank's ``summarize`` with 3 sentences, runs in the
same process on the same text. One torch thread (the app's engine thread on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return round(statistics.median(times), 1)


def main(argv=None) -> int:
    import torch

    from engine.paths import default_model
    from engine.summarize.abstractive import Abstractor, summarize_text
    from engine.summarize.textrank import summarize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model("summarizer")))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    ab = Abstractor.load(args.model, device="cpu")
    load_ms = round(1000 * (time.perf_counter() - t0), 1)
    rows = []
    for path in sorted((ROOT / "resources" / "samples").glob("article_*.txt")):
        text = path.read_text(encoding="utf-8")
        rows.append(
            {
                "article": path.name,
                "words": len(text.split()),
                "abstractive_beam1_ms": median_ms(lambda t=text: summarize_text(ab, t, beam=1), args.runs),
                f"abstractive_beam{args.beam}_ms": median_ms(
                    lambda t=text: summarize_text(ab, t, beam=args.beam), args.runs
                ),
                "textrank_ms": median_ms(lambda t=text: summarize(t, sentences=3), args.runs),
                "summary": summarize_text(ab, text, beam=args.beam).sentences[0],
            }
        )
    result = {
        "model": args.model,
        "load_ms": load_ms,
        "runs": args.runs,
        "rows": rows,
        "machine": f"{platform.machine()} {os.cpu_count()} CPU(s), torch threads 1",
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"model load {load_ms} ms ({result['machine']}, median of {args.runs} runs)")
        for r in rows:
            print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
