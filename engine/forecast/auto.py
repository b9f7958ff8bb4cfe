"""``auto``: choose and combine methods by a rolling-origin backtest on the series itself.

Every candidate forecasts from ``folds`` earlier origins (``n - H``, ``n - 2H``, …) and is scored
by MASE (the mean over those origins: the "inner" score). A combination policy, from
:data:`POLICIES`, then turns the scores into the members of the final forecast and how they are
combined — each interval bound combined the same way as the point forecast:

- ``within``: equal-weight mean of every candidate within ``1 + trim`` times the best score;
- ``best_k``: equal-weight mean of the ``k`` best;
- ``median``: the median of every candidate; ``median_k``: the median of the ``k`` best;
- ``drop_worst``: equal-weight mean of all but the worst;
- ``trimmed``: at every step, the mean after dropping the lowest and the highest member;
- ``inverse``: every candidate, weighted by one over its score.

Combinations of good, different methods are the more reliable choice on new data (the M4
lesson). The defaults — ``within`` 2x over ets, arima, lstm and hybrid at 2 inner origins — were
chosen among 72 policy x pool x origin variants on a development set of series disjoint from the
reported panel (docs/bench/forecast.md, tests/bench/forecast_policies.py); the ridge baseline
``linear`` joined the candidates later, on 2 December, because it made auto better on the
development set and on 40 series pooled (it costs milliseconds). The rule used before the policy
study (ets, arima, theta, lstm, hybrid) is :data:`PREVIOUS`: pass it as
``options={"auto": PREVIOUS}``. The reason — the backtest table, the policy and
what was combined with which weights — is returned with the forecast.
:func:`choose_with_forecasts` is shared with :mod:`engine.forecast.backtest`, which reuses its own
per-origin fits so that evaluating auto there costs no extra fitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.forecast.context import Cancelled, FitContext
from engine.forecast.metrics import mase
from engine.forecast.result import Prediction

KEYS = ("mean", "lo80", "hi80", "lo95", "hi95")
FAILURES = (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError)


@dataclass
class AutoConfig:
    candidates: tuple[str, ...] = ("ets", "arima", "lstm", "hybrid", "linear")  # methods tried
    folds: int = 2  # backtest origins inside the history
    policy: str = "within"  # how inner scores become the combination: a name in POLICIES
    trim: float = 1.0  # "within": average every candidate whose MASE is at most (1 + trim) x the best
    k: int = 3  # "best_k" / "median_k": how many of the best candidates are combined
    fallback: str = "theta"  # used when the series is too short to backtest

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"unknown auto policy {self.policy!r}; known: {', '.join(POLICIES)}")
        if self.folds < 1 or self.k < 1:
            raise ValueError(f"auto folds and k must be at least 1, got {self.folds} and {self.k}")


# the rule before the development-set policy study (theta was a candidate)
PREVIOUS = {
    "candidates": ("ets", "arima", "theta", "lstm", "hybrid"),
    "policy": "within",
    "trim": 1.0,
    "folds": 2,
}


@dataclass
class Choice:
    """What a policy made of the inner scores."""

    members: list[str]  # methods combined, best inner score first
    how: str  # "mean" (weighted), "median" or "trimmed" (per step, lowest and highest dropped)
    weights: list[float] = field(default_factory=list)  # for "mean": one per member, summing to 1
    reason: str = ""  # one sentence for the person: scores, policy, members


def _equal(ms: list[str]) -> list[float]:
    return [1.0 / len(ms)] * len(ms)


def _within(scores: dict[str, float], ranked: list[str], cfg: AutoConfig) -> Choice:
    ms = [m for m in ranked if scores[m] <= (1 + cfg.trim) * scores[ranked[0]]]
    return Choice(ms, "mean", _equal(ms), f"averaged the methods within {1 + cfg.trim:.3g}x of the best")


def _best_k(scores, ranked, cfg) -> Choice:
    ms = ranked[: cfg.k]
    return Choice(ms, "mean", _equal(ms), f"averaged the {cfg.k} best")


def _median(scores, ranked, cfg) -> Choice:
    return Choice(list(ranked), "median", [], "took the median of every method backtested")


def _median_k(scores, ranked, cfg) -> Choice:
    return Choice(ranked[: cfg.k], "median", [], f"took the median of the {cfg.k} best")


def _drop_worst(scores, ranked, cfg) -> Choice:
    ms = ranked[:-1] if len(ranked) > 2 else list(ranked)
    return Choice(ms, "mean", _equal(ms), "averaged all but the worst")


def _trimmed(scores, ranked, cfg) -> Choice:
    how = "trimmed" if len(ranked) >= 3 else "mean"
    return Choice(
        list(ranked), how, _equal(ranked), "averaged every method, the extremes dropped at each step"
    )


def _inverse(scores, ranked, cfg) -> Choice:
    inv = np.array([1.0 / max(scores[m], 1e-9) for m in ranked])
    return Choice(list(ranked), "mean", list(inv / inv.sum()), "weighted every method by 1 / its MASE")


# name -> (scores, ranked names, config) -> Choice
POLICIES = {
    "within": _within,
    "best_k": _best_k,
    "median": _median,
    "median_k": _median_k,
    "drop_worst": _drop_worst,
    "trimmed": _trimmed,
    "inverse": _inverse,
}


def combine(preds: list[Prediction], names: list[str], how: str = "mean", weights=None) -> Prediction:
    """Combine the members' means and each interval bound the same way (order of bounds is kept:
    means, medians and trimmed means are monotone in every member)."""
    if len(preds) == 1:
        return preds[0]
    stack = {k: np.stack([getattr(p, k) for p in preds]) for k in KEYS}  # (M, H) each
    w = np.full(len(preds), 1.0 / len(preds)) if weights is None else np.asarray(weights, dtype=float)
    if how == "median":
        out = {k: np.median(v, axis=0) for k, v in stack.items()}
    elif how == "trimmed" and len(preds) >= 3:
        out = {k: np.sort(v, axis=0)[1:-1].mean(axis=0) for k, v in stack.items()}
    else:
        out = {k: w @ v / w.sum() for k, v in stack.items()}
    info = {"combined": names, "how": how, "members": {n: p.info for n, p in zip(names, preds)}}
    if how == "mean":
        info["weights"] = [round(float(x / w.sum()), 4) for x in w]
    return Prediction(**out, info=info)


def combine_choice(
    choice: Choice, preds: dict[str, Prediction | None]
) -> tuple[Prediction, list[str]] | None:
    """The choice applied to final forecasts (None = that member failed): weights renormalised over the
    members that succeeded. Returns (prediction, members used), or None when every member failed."""
    used = [m for m in choice.members if preds.get(m) is not None]
    if not used:
        return None
    w = [choice.weights[choice.members.index(m)] for m in used] if choice.weights else None
    return combine([preds[m] for m in used], used, choice.how, w), used


def inner_scores(
    actuals: list[np.ndarray], histories: list[np.ndarray], preds: dict[str, list], season: int
) -> dict[str, float]:
    """Mean MASE over the inner origins of every method that forecast (finitely) at all of them."""
    scores = {}
    for m, p in preds.items():
        if p and all(x is not None for x in p):
            vals = [mase(a, x.mean, h, season) for a, h, x in zip(actuals, histories, p)]
            if np.all(np.isfinite(vals)):
                scores[m] = float(np.mean(vals))
    return scores


def choose_with_forecasts(
    actuals: list[np.ndarray],
    histories: list[np.ndarray],
    preds: dict[str, list[Prediction | None]],
    season: int,
    cfg: AutoConfig,
) -> Choice:
    """What to combine and a sentence saying why, from backtest forecasts.

    actuals/histories: per origin; preds: method -> per-origin Prediction (None = failed there; a
    method that failed at any origin is not chosen).
    """
    scores = inner_scores(actuals, histories, preds, season)
    if not scores:
        why = f"no candidate could be backtested and scaled; used {cfg.fallback}"
        return Choice([cfg.fallback], "mean", [1.0], why)
    ranked = sorted(scores, key=scores.get)
    choice = POLICIES[cfg.policy](scores, ranked, cfg)
    table = ", ".join(f"{m} {scores[m]:.3f}" for m in ranked)
    head = f"backtest MASE over {len(actuals)} origin(s): {table}"
    if len(choice.members) == 1:
        if cfg.policy == "within":
            why = f"every other method's error is over {1 + cfg.trim:.3g}x its own"
        else:
            why = f"the one method the {cfg.policy} policy keeps here"
        choice.reason = f"{head}; chose {choice.members[0]}: {why}"
        return choice
    if choice.how == "mean" and len(set(choice.weights)) > 1:
        kept = " + ".join(f"{m} ({w:.2f})" for m, w in zip(choice.members, choice.weights))
    else:
        kept = " + ".join(choice.members)
    choice.reason = f"{head}; {choice.reason}: {kept}"
    return choice


def auto_forecast(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """Backtest the candidates on ``y`` itself, then forecast with the chosen combination."""
    from engine.forecast.methods import run_method

    opts = ctx.options.get("auto") or {}
    cfg = opts if isinstance(opts, AutoConfig) else AutoConfig(**opts)
    if np.ptp(y) == 0:  # nothing to choose between: every method repeats the value
        pred = run_method("naive", y, horizon, season, ctx)
        reason = "the series is constant; its value is repeated with no uncertainty"
        pred.info = dict(pred.info, chosen=[], reason=reason, origins=[], policy=cfg.policy)
        return pred
    n = y.size
    origins = [n - j * horizon for j in range(cfg.folds, 0, -1) if n - j * horizon >= max(2 * horizon, 8)]
    preds: dict[str, list[Prediction | None]] = {m: [] for m in cfg.candidates}
    fits = len(origins) * len(cfg.candidates)
    for i, o in enumerate(origins):
        for j, m in enumerate(cfg.candidates):
            done = i * len(cfg.candidates) + j  # fits finished, of ``fits`` (then the final forecast)
            ctx.report(stage="auto", origin=o, method=m, done=done, total=fits)
            try:
                preds[m].append(run_method(m, y[:o], horizon, season, ctx.cut(o)))
            except Cancelled:
                raise
            except FAILURES:
                preds[m].append(None)
    if origins:
        histories = [y[:o] for o in origins]
        choice = choose_with_forecasts([y[o : o + horizon] for o in origins], histories, preds, season, cfg)
    else:
        why = f"series too short to backtest at horizon {horizon}; used {cfg.fallback}"
        choice = Choice([cfg.fallback], "mean", [1.0], why)
    final: dict[str, Prediction | None] = {}
    reason = choice.reason
    for m in choice.members:
        try:
            final[m] = run_method(m, y, horizon, season, ctx)
        except FAILURES as exc:
            final[m] = None
            reason += f"; {m} failed on the full series ({exc})"
    out = combine_choice(choice, final)
    if out is None:
        out = run_method("naive", y, horizon, season, ctx), ["naive"]
        reason += "; fell back to naive"
    pred, used = out
    pred.info = dict(pred.info, chosen=used, reason=reason, origins=origins, policy=cfg.policy)
    return pred
