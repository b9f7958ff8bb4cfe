"""Rolling-origin backtest: every method forecasts from several origins inside the history.

Origins are ``n - k*H`` for ``k = folds .. 1``, so the test windows tile the last ``folds * H``
points without overlap; each method sees only the points before its origin. ``auto`` is scored
exactly as :func:`engine.forecast.auto.auto_forecast` would run at each origin — it chooses from
the candidates' forecasts at the ``auto.folds`` origins before it — but reuses those fits
instead of repeating them (the extra, earlier origins are fitted once for the candidates).
"""

from __future__ import annotations

import time

import numpy as np

from engine.forecast.auto import AutoConfig, Choice, choose_with_forecasts, combine_choice
from engine.forecast.context import Cancelled, FitContext
from engine.forecast.methods import METHODS, check_horizon, resolve_season, run_method
from engine.forecast.metrics import mase_scale, score
from engine.forecast.result import Backtest, FoldResult, Prediction
from engine.forecast.series import as_series

DEFAULT_METHODS = ("naive", "snaive", "drift", "ets", "arima", "theta", "linear", "lstm", "auto")
MIN_ORIGIN = 8  # no origin with fewer history points than this (or than 2H)


def _fold(method: str, y: np.ndarray, o: int, horizon: int, season: int, ctx: FitContext) -> FoldResult:
    t0 = time.perf_counter()
    try:
        pred = run_method(method, y[:o], horizon, season, ctx.cut(o))
    except Cancelled:
        raise
    except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return FoldResult(method, o, None, {}, time.perf_counter() - t0, str(exc))
    return _scored(method, pred, y, o, horizon, season, time.perf_counter() - t0)


def _scored(method: str, pred: Prediction, y: np.ndarray, o: int, horizon: int, season: int, secs: float):
    actual = y[o : o + horizon]
    scores = score(actual, pred.mean, y[:o], season, pred.lo80, pred.hi80, pred.lo95, pred.hi95)
    return FoldResult(method, o, pred, scores, secs)


def auto_at(
    y: np.ndarray, o: int, horizon: int, season: int, cfg: AutoConfig, pred_at
) -> tuple[Prediction, list[str], Choice, list[int]]:
    """``auto`` at origin ``o`` from forecasts already made: ``pred_at(method, origin)`` gives a
    candidate's Prediction from that origin (None if it failed). Exactly what
    :func:`engine.forecast.auto.auto_forecast` does on ``y[:o]``; shared by the backtest and by the
    offline policy study (tests/bench/forecast_policies.py). Returns (prediction, members used,
    the choice, inner origins)."""
    floor = max(2 * horizon, MIN_ORIGIN)
    inner = [p for p in (o - k * horizon for k in range(cfg.folds, 0, -1)) if p >= floor]
    if inner:
        preds = {c: [pred_at(c, p) for p in inner] for c in cfg.candidates}
        choice = choose_with_forecasts(
            [y[p : p + horizon] for p in inner], [y[:p] for p in inner], preds, season, cfg
        )
    else:
        why = f"too little history before origin {o}; used {cfg.fallback}"
        choice = Choice([cfg.fallback], "mean", [1.0], why)
    out = combine_choice(choice, {c: pred_at(c, o) for c in choice.members})
    if out is None:
        out = (pred_at("naive", o), ["naive"])
    return out[0], out[1], choice, inner


def backtest(
    series,
    horizon: int,
    methods=None,
    folds: int = 3,
    season: int | None = None,
    progress=None,
    cancel=None,
    options: dict | None = None,
    seed: int = 0,
) -> Backtest:
    """Backtest ``methods`` (default: all baselines, lstm and auto) on ``folds`` origins."""
    s = as_series(series)
    methods = list(methods or DEFAULT_METHODS)
    for m in methods:
        if m != "auto" and m not in METHODS:
            raise ValueError(f"unknown method {m!r}; known: {', '.join((*METHODS, 'auto'))}")
    if folds < 1:
        raise ValueError(f"folds must be at least 1, got {folds}")
    y = s.values
    n = len(s)
    horizon = check_horizon(n, horizon)
    m, notes = resolve_season(s, season, horizon)
    opts = dict(options or {})
    auto_cfg = opts.get("auto") or AutoConfig()
    auto_cfg = auto_cfg if isinstance(auto_cfg, AutoConfig) else AutoConfig(**auto_cfg)
    floor = max(2 * horizon, MIN_ORIGIN)
    outer = [n - k * horizon for k in range(folds, 0, -1) if n - k * horizon >= floor]
    if not outer:
        raise ValueError(
            f"the series has {n} points: too short to backtest at horizon {horizon} "
            f"(need at least {floor + horizon})"
        )
    if len(outer) < folds:
        notes.append(f"only {len(outer)} fold(s) fit in {n} points at horizon {horizon}")
    use_auto = "auto" in methods
    base = [x for x in methods if x != "auto"]
    cands = list(auto_cfg.candidates) if use_auto else []
    extra = [outer[0] - k * horizon for k in range(auto_cfg.folds, 0, -1)] if use_auto else []
    extra = [o for o in extra if o >= floor]
    ctx = FitContext(s.dates, s.freq, progress, cancel, seed, opts)
    fits: dict[tuple[str, int], FoldResult] = {}
    jobs = [(meth, o) for o in outer for meth in dict.fromkeys(base + cands)]
    jobs += [(meth, o) for o in extra for meth in cands]
    jobs.sort(key=lambda job: job[1])  # earliest origin first: the progress reads in order (auto's
    # inner origins, before the first fold, came last); every fit is independent of the others
    for i, (meth, o) in enumerate(jobs):
        ctx.report(stage="backtest", method=meth, origin=o, done=i, total=len(jobs))
        fits[(meth, o)] = _fold(meth, y, o, horizon, m, ctx)
    result: dict[str, list[FoldResult]] = {meth: [fits[(meth, o)] for o in outer] for meth in base}
    reasons = []
    if use_auto:
        result["auto"] = []
        for o in outer:

            def pred_at(meth: str, p: int) -> Prediction | None:
                if (meth, p) not in fits:  # the fallback or naive may not have been fitted here
                    fits[(meth, p)] = _fold(meth, y, p, horizon, m, ctx)
                return fits[(meth, p)].prediction

            pred, used, choice, inner = auto_at(y, o, horizon, m, auto_cfg, pred_at)
            secs = sum(fits[(c, p)].seconds for c in cands for p in inner) + sum(
                fits[(c, o)].seconds for c in used
            )
            result["auto"].append(_scored("auto", pred, y, o, horizon, m, secs))
            reasons.append(f"origin {o}: {choice.reason}")
    unscaled = [o for o in outer if not np.isfinite(mase_scale(y[:o], m))]
    if unscaled:
        where = ", ".join(str(o) for o in unscaled)
        notes.append(
            f"MASE is undefined at origin(s) {where} (the history before it does not change); "
            f"mean MASE is over the other {len(outer) - len(unscaled)} fold(s)"
        )
    return Backtest(s.name, horizon, m, outer, result, list(s.warnings) + notes, reasons)
