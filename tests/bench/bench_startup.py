"""Desktop start-up time: window shown, first reply possible, first reply, from process start.

    python tests/bench/bench_startup.py [--runs 5] [--model DIR] [--reply] [--out docs/bench/desktop.md]

Each run starts ``python main.py --data-dir <fresh folder>`` (offscreen, so it runs headless) with
``PARLANCE_STARTUP_PROBE`` set; the app prints wall-clock marks (see desktop/startup_probe.py) and
the times are taken from just before the process is spawned, so they include the interpreter
start and every import. The median of the runs is reported.

Without ``--model`` the shipped model (resources/models/dialogue) is used. If it does not exist
yet, ``--standin`` builds an *untrained* model folder of the same architecture and size as the one
being trained (from the given tokenizer), which loads in the same time but answers nonsense: use
it for load-time figures only.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "resources" / "models" / "dialogue"
EVENTS = ("window_shown", "history_ready", "model_ready", "first_token", "reply_done")
STANDIN_CONFIG = dict(
    vocab_size=4000,
    emb_dim=128,
    utt_hidden=192,
    ctx_hidden=256,
    dec_hidden=256,
    context_turns=3,
    max_utt_tokens=24,
    max_reply_tokens=24,
)


def build_standin(folder: Path, tokenizer: Path) -> Path:
    """An untrained dialogue model folder (same config as the default model), for load timing."""
    import shutil

    sys.path.insert(0, str(ROOT))
    from engine import checkpoint
    from engine.dialogue.config import KIND, SCHEMA_VERSION, HREDConfig
    from engine.dialogue.model import HRED

    cfg = HREDConfig(**STANDIN_CONFIG)
    model = HRED(cfg)
    checkpoint.save(
        folder, KIND, SCHEMA_VERSION, cfg, model.state_dict(), extra={"tokenizer": "tokenizer.model"}
    )
    shutil.copy(tokenizer, folder / "tokenizer.model")
    (folder / "MODEL_CARD.md").write_text("# Untrained stand-in\n\nFor start-up benchmarks only.\n")
    return folder


def one_run(model: Path | None, reply: bool, timeout: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="parlance-bench-") as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PARLANCE_STARTUP_PROBE="reply" if reply else "1")
        cmd = [sys.executable, str(ROOT / "main.py"), "--data-dir", tmp]
        if model is not None:
            cmd += ["--model", str(model)]
        t0 = time.time()
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    marks: dict[str, float] = {}
    for line in out.stdout.splitlines():
        if line.startswith("PARLANCE_PROBE "):
            _, event, stamp = line.split()
            marks[event] = float(stamp) - t0
        elif line.startswith("PARLANCE_PROBE_ERROR"):
            raise SystemExit(f"the app could not load the model: {line.split(' ', 1)[1]}")
    if "window_shown" not in marks:
        raise SystemExit(f"no probe output; stderr:\n{out.stderr[-2000:]}")
    return marks


def report(results: list[dict[str, float]], model: Path | None, standin: bool, reply: bool) -> str:
    rows = []
    for event in EVENTS:
        values = [r[event] for r in results if event in r]
        if values:
            rows.append(
                f"| {event.replace('_', ' ')} | {statistics.median(values):.2f} s | "
                f"{min(values):.2f}–{max(values):.2f} s |"
            )
    cpu = platform.processor() or platform.machine()
    cmd = "python tests/bench/bench_startup.py --runs {}{}{}".format(
        len(results), " --reply" if reply else "", f" --model {model}" if model and not standin else ""
    )
    lines = [
        "# Desktop start-up",
        "",
        f"Command: `{cmd}` (offscreen Qt platform, a fresh data folder per run).",
        f"Machine: {os.cpu_count()}-core {cpu} CPU, Python {platform.python_version()}, no GPU used; "
        "other jobs may share the CPU.",
        f"Model: {'untrained stand-in of the default architecture (load time only)' if standin else model}.",
        "",
        f"Times from process spawn, median of {len(results)} runs:",
        "",
        "| event | median | range |",
        "|---|---|---|",
        *rows,
        "",
        "window shown = first event-loop pass after `show()` (torch not imported yet); "
        "model ready = a reply is possible; first token / reply done = one message sent after that.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--model", type=Path, default=None, help="chat model folder (default: the shipped one)")
    p.add_argument(
        "--standin",
        type=Path,
        default=None,
        metavar="TOKENIZER",
        help="no trained model yet: time an untrained stand-in built with this tokenizer",
    )
    p.add_argument("--reply", action="store_true", help="also send one message and time the reply")
    p.add_argument("--timeout", type=float, default=180)
    p.add_argument("--out", type=Path, default=None, help="write the Markdown report here")
    args = p.parse_args()
    model = args.model or (SHIPPED if SHIPPED.is_dir() else None)
    with tempfile.TemporaryDirectory(prefix="parlance-standin-") as tmp:
        if model is None and args.standin:
            model = build_standin(Path(tmp) / "dialogue", args.standin)
        if model is None:
            print("no chat model: pass --model DIR or --standin TOKENIZER", file=sys.stderr)
            return 2
        results = []
        for i in range(args.runs):
            marks = one_run(model, args.reply, args.timeout)
            results.append(marks)
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in marks.items()), flush=True)
        text = report(results, model, args.standin is not None and args.model is None, args.reply)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
