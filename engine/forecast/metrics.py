"""Point and interval accuracy measures for forecasts (numpy only).

Definitions follow the M4 competition (Makridakis et al. 2020):

- MAE, RMSE: mean absolute / root mean squared error over the horizon.
- sMAPE: ``200/H * sum |y - f| / (|y| + |f|)`` in percent; a step where both are 0 counts as 0.
- MASE: MAE divided by the in-sample MAE of the seasonal naive forecast with period ``m``
  (lag 1 when ``m == 1`` or the history is not longer than ``m``). A constant history has no
  scale: MASE is then ``nan`` (callers report it, never divide by zero).
- coverage: share of held-out points inside ``[lo, hi]``.
"""

from __future__ import annotations

import numpy as np


def _pair(actual, forecast) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=float).ravel()
    f = np.asarray(forecast, dtype=float).ravel()
    if a.shape != f.shape:
        raise ValueError(f"actual has {a.size} points but forecast has {f.size}")
    if a.size == 0:
        raise ValueError("no points to score")
    return a, f


def mae(actual, forecast) -> float:
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f)))


def rmse(actual, forecast) -> float:
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2)))


SMAPE_TOL = 1e-9  # errors below this share of the history's largest magnitude count as exact


def smape(actual, forecast, tol: float = 0.0) -> float:
    """Symmetric MAPE in percent; an error of at most ``tol`` counts as exact (a forecast of 4e-36
    for an actual 0 is right, not a 200% miss)."""
    a, f = _pair(actual, forecast)
    den = np.abs(a) + np.abs(f)
    err = np.abs(a - f)
    terms = np.divide(err, den, out=np.zeros_like(den), where=(den > 0) & (err > tol))
    return float(200.0 * np.mean(terms))


def mase_scale(history, season: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast (lag ``season``, or 1 if the history is too short)."""
    y = np.asarray(history, dtype=float).ravel()
    lag = season if season > 1 and y.size > season else 1
    if y.size <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(y[lag:] - y[:-lag])))
    if scale == 0.0 and lag > 1:  # a seasonally repeating history: fall back to lag 1
        scale = float(np.mean(np.abs(np.diff(y))))
    return scale if scale > 0 else float("nan")


def mase(actual, forecast, history, season: int = 1) -> float:
    scale = mase_scale(history, season)
    return mae(actual, forecast) / scale if np.isfinite(scale) else float("nan")


def coverage(actual, lo, hi) -> float:
    a = np.asarray(actual, dtype=float).ravel()
    lo_ = np.asarray(lo, dtype=float).ravel()
    hi_ = np.asarray(hi, dtype=float).ravel()
    if not (a.shape == lo_.shape == hi_.shape):
        raise ValueError("actual, lo and hi must have the same length")
    return float(np.mean((a >= lo_) & (a <= hi_)))


def score(actual, mean, history, season: int, lo80=None, hi80=None, lo95=None, hi95=None) -> dict:
    """All measures for one forecast, as a flat dict (coverage keys only when bounds are given)."""
    out = {
        "mae": mae(actual, mean),
        "rmse": rmse(actual, mean),
        "smape": smape(actual, mean, tol=SMAPE_TOL * float(np.max(np.abs(history), initial=0.0))),
        "mase": mase(actual, mean, history, season),
    }
    if lo80 is not None and hi80 is not None:
        out["cov80"] = coverage(actual, lo80, hi80)
    if lo95 is not None and hi95 is not None:
        out["cov95"] = coverage(actual, lo95, hi95)
    return out
