"""Series transforms shared by the methods: seasonality test, classical deseasonalising, log.

All of them look only at the history they are given (they are fitted inside each backtest
origin), so nothing here can leak future values into a forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelations at lags 1..max_lag (index k-1 holds lag k)."""
    y = np.asarray(y, dtype=float)
    y = y - y.mean()
    denom = float(np.dot(y, y))
    if denom == 0.0:
        return np.zeros(max_lag)
    return np.array([np.dot(y[:-k], y[k:]) / denom if k < y.size else 0.0 for k in range(1, max_lag + 1)])


def is_seasonal(y: np.ndarray, season: int) -> bool:
    """The 90% autocorrelation test at lag ``season`` used by the M4 benchmarks (needs 3 seasons)."""
    y = np.asarray(y, dtype=float)
    if season <= 1 or y.size < 3 * season:
        return False
    r = acf(y, season)
    limit = 1.645 * np.sqrt((1.0 + 2.0 * np.sum(r[:-1] ** 2)) / y.size)
    return bool(abs(r[-1]) > limit)


def _centered_ma(y: np.ndarray, m: int) -> np.ndarray:
    """Centred moving average of order m (2 x m when m is even); NaN where the window runs out."""
    if m % 2:
        w = np.ones(m) / m
    else:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    trend = np.full(y.size, np.nan)
    k = w.size // 2
    trend[k : y.size - k] = np.convolve(y, w, mode="valid")
    return trend


@dataclass
class Seasonal:
    """Classical seasonal indices for period ``season`` (additive, or multiplicative ratios)."""

    season: int  # period length
    indices: np.ndarray  # (season,) index for position t % season, counted from the series start
    multiplicative: bool  # ratios (divide) rather than differences (subtract)

    def at(self, start: int, length: int) -> np.ndarray:
        """Indices for positions start .. start+length-1."""
        pos = (np.arange(start, start + length)) % self.season
        return self.indices[pos]

    def remove(self, y: np.ndarray, start: int = 0) -> np.ndarray:
        s = self.at(start, y.size)
        return y / s if self.multiplicative else y - s

    def restore(self, y: np.ndarray, start: int) -> np.ndarray:
        s = self.at(start, y.size)
        return y * s if self.multiplicative else y + s


def fit_seasonal(y: np.ndarray, season: int, multiplicative: bool | None = None) -> Seasonal | None:
    """Classical decomposition indices, or None when the series is not (testably) seasonal.

    ``multiplicative=None`` picks ratios for strictly positive series.
    """
    y = np.asarray(y, dtype=float)
    if not is_seasonal(y, season):
        return None
    if multiplicative is None:
        multiplicative = bool(np.all(y > 0))
    trend = _centered_ma(y, season)
    detr = y / trend if multiplicative else y - trend
    pos = np.arange(y.size) % season
    idx = np.array(
        [np.nanmean(detr[pos == p]) if np.isfinite(detr[pos == p]).any() else np.nan for p in range(season)]
    )
    if not np.all(np.isfinite(idx)):
        return None
    idx = idx / idx.mean() if multiplicative else idx - idx.mean()
    if multiplicative and np.any(idx <= 0):
        return None
    return Seasonal(season, idx, multiplicative)


def use_log(y: np.ndarray) -> bool:
    """Log-transform strictly positive series whose level varies by more than a factor of 1.5."""
    y = np.asarray(y, dtype=float)
    return bool(np.all(y > 0) and y.max() / y.min() > 1.5)
