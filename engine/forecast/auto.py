"""``auto``: choose and combine methods by a rolling-origin backtest on the series itself.

Every candidate forecasts from ``folds`` earlier origins (``n - H``, ``n - 2H``, …) and is scored
by MASE. The forecast is then the equal-weight average of every candidate whose backtest MASE is
at most ``1 + trim`` times the best one (means and interval bounds averaged): a single method when
it clearly wins, a combination otherwise. Combinations of good, different methods are the more
reliable choice on new data (the M4 lesson); the trim keeps a method that failed badly on this
series out. The defaults (five candidates, trim 1.0) were chosen on a development set of series
disjoint from the reported panel (docs/bench/forecast.md).
The reason — the backtest table and what was combined — is returned with the forecast.
:func:`choose_with_forecasts` is shared with :mod:`engine.forecast.backtest`, which reuses its own
per-origin fits so that evaluating auto there costs no extra fitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecast.context import Cancelled, FitContext
from engine.forecast.metrics import mase
from engine.forecast.result import Prediction


@dataclass
class AutoConfig:
    candidates: tuple[str, ...] = ("ets", "arima", "theta", "lstm", "hybrid")  # methods tried
    folds: int = 2  # backtest origins inside the history
    trim: float = 1.0  # average every candidate whose backtest MASE is at most (1 + trim) x the best
    fallback: str = "theta"  # used when the series is too short to backtest


def combine(preds: list[Prediction], names: list[str]) -> Prediction:
    """Equal-weight average of means and of each interval bound."""
    if len(preds) == 1:
        return preds[0]
    keys = ("mean", "lo80", "hi80", "lo95", "hi95")
    avg = {k: np.mean([getattr(p, k) for p in preds], axis=0) for k in keys}
    return Prediction(**avg, info={"combined": names, "members": {n: p.info for n, p in zip(names, preds)}})


def choose_with_forecasts(
    actuals: list[np.ndarray],
    histories: list[np.ndarray],
    preds: dict[str, list[Prediction | None]],
    season: int,
    cfg: AutoConfig,
) -> tuple[list[str], str]:
    """Methods to average and a sentence saying why, from backtest forecasts.

    actuals/histories: per origin; preds: method -> per-origin Prediction (None = failed there; a
    method that failed at any origin is not chosen).
    """
    scores = {}
    for m, p in preds.items():
        if p and all(x is not None for x in p):
            vals = [mase(a, x.mean, h, season) for a, h, x in zip(actuals, histories, p)]
            if np.all(np.isfinite(vals)):
                scores[m] = float(np.mean(vals))
    if not scores:
        return [cfg.fallback], f"no candidate could be backtested and scaled; used {cfg.fallback}"
    ranked = sorted(scores, key=scores.get)
    best = scores[ranked[0]]
    chosen = [m for m in ranked if scores[m] <= (1 + cfg.trim) * best]
    table = ", ".join(f"{m} {scores[m]:.3f}" for m in ranked)
    head = f"backtest MASE over {len(actuals)} origin(s): {table}"
    limit = f"{1 + cfg.trim:.3g}x"
    if len(chosen) == 1:
        return chosen, f"{head}; chose {chosen[0]}: every other method's error is over {limit} its own"
    kept = " + ".join(chosen)
    return chosen, f"{head}; averaged the {len(chosen)} methods within {limit} of the best: {kept}"


def auto_forecast(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """Backtest the candidates on ``y`` itself, then forecast with the chosen method(s)."""
    from engine.forecast.methods import run_method

    opts = ctx.options.get("auto") or {}
    cfg = opts if isinstance(opts, AutoConfig) else AutoConfig(**opts)
    n = y.size
    origins = [n - j * horizon for j in range(cfg.folds, 0, -1) if n - j * horizon >= max(2 * horizon, 8)]
    preds: dict[str, list[Prediction | None]] = {m: [] for m in cfg.candidates}
    for i, o in enumerate(origins):
        for m in cfg.candidates:
            ctx.report(stage="auto", origin=o, method=m, step=i + 1, steps=len(origins))
            try:
                preds[m].append(run_method(m, y[:o], horizon, season, ctx))
            except Cancelled:
                raise
            except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError):
                preds[m].append(None)
    actuals = [y[o : o + horizon] for o in origins]
    histories = [y[:o] for o in origins]
    if origins:
        chosen, reason = choose_with_forecasts(actuals, histories, preds, season, cfg)
    else:
        chosen, reason = (
            [cfg.fallback],
            f"series too short to backtest at horizon {horizon}; used {cfg.fallback}",
        )
    final, used = [], []
    for m in chosen:
        try:
            final.append(run_method(m, y, horizon, season, ctx))
            used.append(m)
        except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as exc:
            reason += f"; {m} failed on the full series ({exc})"
    if not final:
        final, used = [run_method("naive", y, horizon, season, ctx)], ["naive"]
        reason += "; fell back to naive"
    pred = combine(final, used)
    pred.info = dict(pred.info, chosen=used, reason=reason, origins=origins)
    return pred
