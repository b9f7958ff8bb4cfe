"""Naive, seasonal naive and drift forecasts with the textbook normal intervals.

Interval widths follow Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.),
section 5.5: the residual standard deviation of the one-step method, scaled per horizon step.
"""

from __future__ import annotations

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.result import Prediction


def _sd(residuals: np.ndarray) -> float:
    return float(np.sqrt(np.mean(residuals**2))) if residuals.size else 0.0


def naive(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """Every future value equals the last one."""
    h = np.arange(1, horizon + 1)
    sigma = _sd(np.diff(y))
    return Prediction.gaussian(np.full(horizon, y[-1]), sigma * np.sqrt(h))


def snaive(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """Each future value equals the value one season earlier (naive when there is no season)."""
    m = season if 1 < season < y.size else 1
    if m == 1:
        return naive(y, horizon, 1, ctx)
    h = np.arange(1, horizon + 1)
    last = y[-m:]
    mean = last[(h - 1) % m]
    sigma = _sd(y[m:] - y[:-m])
    return Prediction.gaussian(mean, sigma * np.sqrt((h - 1) // m + 1), {"season": m})


def drift(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """The line through the first and last values, extended."""
    n = y.size
    h = np.arange(1, horizon + 1)
    slope = (y[-1] - y[0]) / (n - 1)
    sigma = _sd(np.diff(y) - slope)
    return Prediction.gaussian(
        y[-1] + slope * h, sigma * np.sqrt(h * (1 + h / (n - 1))), {"slope": float(slope)}
    )
