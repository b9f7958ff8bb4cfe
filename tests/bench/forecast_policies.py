"""Choose ``auto``'s combination policy offline: fit every candidate once per origin, then score
policies from the cache.

    python tests/bench/forecast_policies.py cache --set dev            # fits; resumable per series
    python tests/bench/forecast_policies.py eval --set dev [--out F.md] # seconds, no fitting

``cache`` runs every method of CACHED at the origins ``n - k*H`` for ``k = 1 .. folds + inner``
(the 3 outer folds of docs/bench/forecast.md and up to 3 inner origins before the first), with the
same context and options as ``bench_forecast.py panel``, and writes one JSON per series under
``runs/forecast_cache/<set>/`` (git-ignored). ``eval`` scores the single methods and every policy
of POLICY_GRID at the outer origins through :func:`engine.forecast.backtest.auto_at` — the code the
backtest itself runs — so a cached policy scores exactly as ``backtest`` would score it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_forecast import SETS  # noqa: E402

CACHED = ("naive", "snaive", "drift", "ets", "arima", "theta", "linear", "lstm", "hybrid")
SINGLE = ("lstm", "hybrid", "linear", "ets", "arima", "theta", "naive", "snaive", "drift")
CACHE = ROOT / "runs" / "forecast_cache"
# label -> AutoConfig overrides; every policy is tried with each candidate pool and 2 or 3 inner origins
POLICY_GRID = {
    "within 2x": {"policy": "within", "trim": 1.0},
    "within 1.5x": {"policy": "within", "trim": 0.5},
    "within 1.25x": {"policy": "within", "trim": 0.25},
    "within 3x": {"policy": "within", "trim": 2.0},
    "best 1": {"policy": "best_k", "k": 1},
    "best 2, mean": {"policy": "best_k", "k": 2},
    "best 3, mean": {"policy": "best_k", "k": 3},
    "median of all": {"policy": "median"},
    "median of best 3": {"policy": "median_k", "k": 3},
    "drop worst, mean": {"policy": "drop_worst"},
    "trimmed mean (extremes)": {"policy": "trimmed"},
    "inverse-MASE weights": {"policy": "inverse"},
}
POOLS = {
    "5": ("ets", "arima", "theta", "lstm", "hybrid"),
    "no theta": ("ets", "arima", "lstm", "hybrid"),
    "no theta + linear (default since 2 Dec)": ("ets", "arima", "lstm", "hybrid", "linear"),
    "8": ("ets", "arima", "theta", "lstm", "hybrid", "naive", "snaive", "drift"),
}


def _fit_one(meth, y, o, horizon, season, ctx) -> dict:
    from engine.forecast.context import Cancelled
    from engine.forecast.methods import run_method

    t0 = time.perf_counter()
    try:
        p = run_method(meth, y[:o], horizon, season, ctx.cut(o))
    except Cancelled:
        raise
    except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return {"error": str(exc), "seconds": time.perf_counter() - t0}
    out = {k: getattr(p, k).tolist() for k in ("mean", "lo80", "hi80", "lo95", "hi95")}
    return out | {"seconds": time.perf_counter() - t0}


def cache(sets: dict, set_name: str, only, folds: int, inner: int, methods, lstm: dict | None = None) -> None:
    from engine.forecast.backtest import MIN_ORIGIN
    from engine.forecast.context import FitContext
    from engine.forecast.lstm_model import LSTMConfig
    from engine.forecast.methods import resolve_season

    folder = CACHE / set_name
    folder.mkdir(parents=True, exist_ok=True)
    for name, (loader, horizon, freq, _) in sets.items():
        path = folder / f"{name}.json"
        if (only and name not in only) or path.exists():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = loader()
        y = s.values
        n = y.size
        season, _ = resolve_season(s, None, horizon)
        floor = max(2 * horizon, MIN_ORIGIN)
        origins = [n - k * horizon for k in range(folds + inner, 0, -1) if n - k * horizon >= floor]
        ctx = FitContext(s.dates, s.freq, None, None, 0, {"lstm": LSTMConfig(**(lstm or {})), "auto": {}})
        t0 = time.perf_counter()
        preds = {m: {} for m in methods}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for o in origins:
                for m in methods:
                    preds[m][str(o)] = _fit_one(m, y, o, horizon, season, ctx)
        secs = time.perf_counter() - t0
        rec = {"name": name, "freq": freq, "n": n, "horizon": horizon, "season": season, "folds": folds}
        rec |= {"origins": origins, "y": y.tolist(), "seconds": round(secs, 1), "preds": preds}
        path.write_text(json.dumps(rec))
        per = {m: round(sum(v["seconds"] for v in preds[m].values()), 1) for m in methods}
        print(f"{name:18s} n={n:5d} H={horizon:3d} m={season:3d} {secs:6.1f}s {per}", flush=True)


def _load(set_name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((CACHE / set_name).glob("*.json"))]


def _pred(rec: dict, meth: str, o: int):
    from engine.forecast.result import Prediction

    d = rec["preds"].get(meth, {}).get(str(o))
    if d is None:
        raise KeyError(f"{rec['name']}: {meth} at origin {o} is not cached")
    if "error" in d:
        return None
    return Prediction(*(np.asarray(d[k]) for k in ("mean", "lo80", "hi80", "lo95", "hi95")))


def evaluate(recs: list[dict], cfg_over: dict | None, single: str | None = None) -> dict:
    """series -> {mase, cov80, cov95} averaged over the outer folds (a single method, or auto)."""
    from engine.forecast.auto import AutoConfig
    from engine.forecast.backtest import auto_at
    from engine.forecast.metrics import score

    out = {}
    for rec in recs:
        y, h, m = np.asarray(rec["y"]), rec["horizon"], rec["season"]
        outer = [o for o in rec["origins"] if o >= rec["n"] - rec["folds"] * h]
        rows = []
        for o in outer:
            if single:
                pred = _pred(rec, single, o)
            else:
                pred = auto_at(
                    y, o, h, m, AutoConfig(**cfg_over), lambda meth, p, rec=rec: _pred(rec, meth, p)
                )[0]
            if pred is not None:
                rows.append(
                    score(y[o : o + h], pred.mean, y[:o], m, pred.lo80, pred.hi80, pred.lo95, pred.hi95)
                )
        out[rec["name"]] = {k: float(np.mean([r[k] for r in rows])) for k in ("mase", "cov80", "cov95")}
    return out


def _agg(per: dict) -> dict:
    mases = [v["mase"] for v in per.values()]
    return {
        "mean": float(np.mean(mases)),
        "median": float(np.median(mases)),
        "cov80": float(np.mean([v["cov80"] for v in per.values()])),
        "cov95": float(np.mean([v["cov95"] for v in per.values()])),
    }


def _row(label: str, a: dict) -> str:
    return f"| {label} | {a['mean']:.3f} | {a['median']:.3f} | {a['cov80']:.3f} | {a['cov95']:.3f} |"


def report(set_name: str) -> str:
    """Markdown: the single methods, then mean MASE of every policy x pool x inner origins, then the
    full row (median MASE, coverage) of the best policy per pool."""
    recs = _load(set_name)
    if not recs:
        raise SystemExit(f"no cache under {CACHE / set_name}; run the cache command first")
    lines = [f"{len(recs)} series ({set_name}): " + ", ".join(r["name"] for r in recs), ""]
    lines += ["| method | mean MASE | median MASE | 80% cov. | 95% cov. |", "|---|---|---|---|---|"]
    have = {m for m in CACHED if all(m in rec["preds"] for rec in recs)}  # older caches lack linear
    single = {m: _agg(evaluate(recs, None, m)) for m in SINGLE if m in have}
    lines += [_row(m, a) for m, a in single.items()]
    pools = [pool for pool in POOLS if set(POOLS[pool]) <= have]
    if len(pools) < len(POOLS):
        lines += ["", f"(not in this cache: {', '.join(sorted(set(CACHED) - have))}; pools using it skipped)"]
    cols = [(pool, folds) for pool in pools for folds in (2, 3)]
    head = " | ".join(f"pool {pool}, {folds} origins" for pool, folds in cols)
    lines += ["", f"| auto policy (mean MASE) | {head} |", "|---|" + "---|" * len(cols)]
    results = {}
    for label, over in POLICY_GRID.items():
        cells = []
        for pool, folds in cols:
            a = _agg(evaluate(recs, {**over, "candidates": POOLS[pool], "folds": folds}))
            results[(label, pool, folds)] = a
            cells.append(f"{a['mean']:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| best per column | mean MASE | median MASE | 80% cov. | 95% cov. |",
        "|---|---|---|---|---|",
    ]
    for pool, folds in cols:
        label = min(POLICY_GRID, key=lambda lab: results[(lab, pool, folds)]["mean"])
        lines.append(_row(f"{label} (pool {pool}, {folds} origins)", results[(label, pool, folds)]))
    best_single = min(single, key=lambda m: single[m]["mean"])
    best = min(results, key=lambda key: results[key]["mean"])
    gain = 1 - results[best]["mean"] / single[best_single]["mean"]
    lines += [
        "",
        f"best single method: {best_single} {single[best_single]['mean']:.3f}; best policy: {best[0]} "
        f"(pool {best[1]}, {best[2]} origins) {results[best]['mean']:.3f} ({100 * gain:.1f}% lower)",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["cache", "eval"])
    p.add_argument("--set", default="dev", choices=list(SETS))
    p.add_argument("--only", nargs="*", default=None, help="series names to cache")
    p.add_argument("--folds", type=int, default=3, help="outer folds")
    p.add_argument("--inner", type=int, default=3, help="most inner origins a policy may use")
    p.add_argument("--methods", nargs="*", default=list(CACHED))
    p.add_argument("--out", default=None, help="eval: also write the table here")
    p.add_argument("--lstm", default="{}", help="cache: LSTMConfig overrides as JSON (lstm and hybrid)")
    p.add_argument("--tag", default="", help="a separate cache folder <set>-<tag> (e.g. for --lstm variants)")
    args = p.parse_args(argv)
    sets = SETS[args.set]
    if json.loads(args.lstm) and not args.tag:
        raise SystemExit("--lstm needs --tag: a cache folder holds forecasts of one configuration")
    folder = f"{args.set}-{args.tag}" if args.tag else args.set
    if args.what == "cache":
        t0 = time.perf_counter()
        cache(sets, folder, args.only, args.folds, args.inner, args.methods, json.loads(args.lstm))
        print(f"total {time.perf_counter() - t0:.0f}s")
        return 0
    text = report(folder)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
