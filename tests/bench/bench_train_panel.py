"""The Train panel adds no hidden cost: same validation perplexity and throughput as the CLI.

    python tests/bench/bench_train_panel.py [--corpus chitchat] [--steps 300] [--rounds 3] [--threads 1]

Each round trains the same config twice, in alternating order: ``python -m engine train dialogue``
(a subprocess, as a user runs it) and the panel's path, ``engine.lab.jobs.dialogue_job`` with
``isolate=True`` (a worker process whose events are relayed and recorded in a history store, exactly
what the panel submits to the engine service; only the Qt signal hop is missing, which runs on
other threads than the training). Reported: best validation perplexity of each (same seed: they
should agree to the last digit) and training throughput in steps/s between the first and the last
validation (tokenizer and set-up excluded), median over rounds and the median per-round ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MODEL = {"emb_dim": 64, "utt_hidden": 64, "ctx_hidden": 96, "dec_hidden": 96, "cell": "gru"}


def _throughput(history: list[dict]) -> float:
    first, last = history[0], history[-1]
    return (last["step"] - first["step"]) / max(last["elapsed_s"] - first["elapsed_s"], 1e-9)


def run_cli(args, out: Path) -> dict:
    argv = [
        sys.executable,
        "-m",
        "engine",
        "train",
        "dialogue",
        "--corpus",
        args.corpus,
        "--out",
        str(out),
        "--max-steps",
        str(args.steps),
        "--eval-every",
        str(args.eval_every),
        "--epochs",
        "100",
        "--batch-size",
        "32",
        "--vocab-size",
        str(args.vocab),
        "--word-vectors",
        "none",
        "--patience",
        "0",
        "--valid-examples",
        "500",
        "--threads",
        str(args.threads),
        "--device",
        "cpu",
        "--json",
    ]
    for key, value in MODEL.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True)
    log = json.loads((out / "train_log.json").read_text())
    return {"ppl": log["best_val_ppl"], "steps_per_s": _throughput(log["history"])}


def run_panel(args, out: Path) -> dict:
    import torch

    from engine.history import HistoryStore
    from engine.lab import jobs

    torch.set_num_threads(args.threads)  # the worker copies the app's thread count
    config = {
        "corpus": args.corpus,
        "max_steps": args.steps,
        "eval_every": args.eval_every,
        "epochs": 100,
        "batch_size": 32,
        "vocab_size": args.vocab,
        "word_vectors": "none",
        "patience": 0,
        "valid_examples": 500,
        "model": MODEL,
    }
    store = HistoryStore.open_in_memory()
    events: list[dict] = []
    result = jobs.dialogue_job(config, str(out), progress=events.append, store=store, device="cpu")
    evals = [{"step": e["step"], "elapsed_s": e["elapsed_s"]} for e in events if e.get("kind") == "eval"]
    return {"ppl": result["metrics"]["best_val_ppl"], "steps_per_s": _throughput(evals)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="chitchat")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--vocab", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    rows = {"cli": [], "panel": []}
    ratios = []
    for r in range(args.rounds):
        order = ("cli", "panel") if r % 2 == 0 else ("panel", "cli")
        got = {}
        for who in order:
            tmp = Path(tempfile.mkdtemp(prefix=f"bench-{who}-"))
            try:
                got[who] = (run_cli if who == "cli" else run_panel)(args, tmp / "run")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            rows[who].append(got[who])
        ratios.append(got["panel"]["steps_per_s"] / got["cli"]["steps_per_s"])
        print(f"round {r + 1}: cli {got['cli']}, panel {got['panel']}", flush=True)
    summary = {
        who: {
            "best_val_ppl": [round(x["ppl"], 4) for x in xs],
            "median_steps_per_s": round(statistics.median(x["steps_per_s"] for x in xs), 3),
        }
        for who, xs in rows.items()
    }
    summary["ppl_rel_diff_max"] = max(
        abs(p["ppl"] - c["ppl"]) / c["ppl"] for p, c in zip(rows["panel"], rows["cli"])
    )
    summary["throughput_ratio_median"] = round(statistics.median(ratios), 4)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
