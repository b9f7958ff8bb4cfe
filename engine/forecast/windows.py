"""Sliding windows and the time features that go with them.

A window with origin ``t`` reads inputs at steps ``t-L .. t-1`` and targets at ``t .. t+H-1``.
Nothing at or after ``t`` enters the inputs: that is the whole no-look-ahead guarantee, and a
test plants a spike in the future to check it.

Time features are sin/cos pairs of cyclic positions: calendar cycles (time of day, day of week,
day of year) when the series is dated and the cycle is both resolvable by the sampling step and
seen at least twice in the history, else the position in the season for undated seasonal series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = 86_400.0
_CYCLES = (("day", DAY), ("week", 7 * DAY), ("year", 365.25 * DAY))  # name, length in seconds


def _phase(dates: pd.DatetimeIndex, cycle: str) -> np.ndarray:
    """Position in a calendar cycle as a fraction in [0, 1)."""
    day_frac = (dates.hour * 3600 + dates.minute * 60 + dates.second).to_numpy(dtype=float) / DAY
    if cycle == "day":
        return day_frac
    if cycle == "week":
        return (dates.day_of_week.to_numpy(dtype=float) + day_frac) / 7.0
    return (dates.day_of_year.to_numpy(dtype=float) - 1.0 + day_frac) / 365.25


def calendar_cycles(dates: pd.DatetimeIndex | None, n_history: int) -> list[str]:
    """Calendar cycles worth encoding for this sampling step and history length."""
    if dates is None or len(dates) < 2:
        return []
    step = float(np.median(np.diff(dates.as_unit("s").asi8)))  # seconds
    span = step * n_history
    return [name for name, length in _CYCLES if length >= 2.5 * step and span >= 2 * length]


def time_features(
    n: int, dates: pd.DatetimeIndex | None, freq: str | None, cycles: list[str], season: int, horizon: int
) -> np.ndarray:
    """Features for steps 0 .. n+horizon-1 (history then future): (n + horizon, F), F may be 0."""
    cols = []
    if cycles and dates is not None and freq is not None:
        future = pd.date_range(dates[-1], periods=horizon + 1, freq=freq)[1:]
        full = dates.append(future)
        for cycle in cycles:
            ang = 2 * np.pi * _phase(full, cycle)
            cols += [np.sin(ang), np.cos(ang)]
    elif season > 1:
        ang = 2 * np.pi * (np.arange(n + horizon) % season) / season
        cols += [np.sin(ang), np.cos(ang)]
    if not cols:
        return np.zeros((n + horizon, 0))
    return np.stack(cols, axis=1)


def window_origins(n: int, input_len: int, horizon: int) -> np.ndarray:
    """Every origin t with a full input window before it and a full target window from it."""
    return np.arange(input_len, n - horizon + 1)


def gather(
    z: np.ndarray,
    feats: np.ndarray,
    origins: np.ndarray,
    input_len: int,
    horizon: int,
    with_targets: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cut windows at ``origins``.

    z: (N,) transformed series; feats: (N + extra, F) time features indexed like z.
    Returns past (W, L) values, future features (W, H, F) and targets (W, H) (None if not asked).
    """
    lags = np.arange(-input_len, 0)
    steps = np.arange(horizon)
    past = z[origins[:, None] + lags]  # (W, L)
    fut_feats = feats[origins[:, None] + steps]  # (W, H, F)
    targets = z[origins[:, None] + steps] if with_targets else None  # (W, H)
    return past, fut_feats, targets


def past_features(feats: np.ndarray, origins: np.ndarray, input_len: int) -> np.ndarray:
    """Time features of the input steps: (W, L, F)."""
    return feats[origins[:, None] + np.arange(-input_len, 0)]
