"""The method registry and :func:`fit_forecast`, the one call a GUI or the CLI needs.

Every method is ``fn(y, horizon, season, ctx) -> Prediction``, registered by dotted path and
imported on first use (so the statistical baselines never import torch).
"""

from __future__ import annotations

import importlib
import time

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.result import Forecast, Prediction
from engine.forecast.series import Series, as_series, detect_season, season_for

# name -> "module:function"; "auto" is handled by engine.forecast.auto
METHODS: dict[str, str] = {
    "naive": "engine.forecast.baselines:naive",
    "snaive": "engine.forecast.baselines:snaive",
    "drift": "engine.forecast.baselines:drift",
    "ets": "engine.forecast.statistical:ets",
    "arima": "engine.forecast.statistical:arima",
    "theta": "engine.forecast.statistical:theta",
    "linear": "engine.forecast.linear:linear",
    "lstm": "engine.forecast.lstm:lstm",
    "gru": "engine.forecast.lstm:gru",
    "hybrid": "engine.forecast.hybrid:hybrid",
}
ALL_METHODS = (*METHODS, "auto")


def get_method(name: str):
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(ALL_METHODS)}")
    module, func = METHODS[name].split(":")
    return getattr(importlib.import_module(module), func)


def resolve_season(series: Series, season: int | None, horizon: int) -> tuple[int, list[str]]:
    """The season length to use and notes about it: given, from the dates, or from the ACF."""
    notes = []
    n = len(series)
    if season is None:
        if series.dates is not None:
            m = season_for(series.freq, series.dates)
        else:
            m = detect_season(series.values)
            if m > 1:
                notes.append(f"season length {m} detected from the autocorrelation")
    else:
        if int(season) < 1:
            raise ValueError(f"season must be a positive integer, got {season}")
        m = int(season)
    if m > 1 and n < 2 * m + horizon:
        notes.append(f"season {m} ignored: {n} points are fewer than two seasons plus the horizon")
        m = 1
    return m, notes


def check_horizon(n: int, horizon: int) -> int:
    if int(horizon) != horizon or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon}")
    if n < horizon:
        raise ValueError(
            f"the series has {n} points, fewer than the horizon {horizon}; use a shorter horizon or more data"
        )
    return int(horizon)


UNIT_RANGE = (1e-2, 1e12)  # largest |value| a method sees as is; outside it, a power of ten divides


def unit_scale(y: np.ndarray) -> float:
    """1.0 for values of ordinary size; otherwise the power of ten that brings the largest
    magnitude to about 1. Statistical fits have absolute tolerances and variance floors (ARIMA's
    and Theta's intervals for values near 1e-5 were 40× too wide) and squares overflow near 1e154;
    every method therefore sees such a series in units where neither happens."""
    top = float(np.max(np.abs(y))) if len(y) else 0.0
    if top == 0.0 or not np.isfinite(top) or UNIT_RANGE[0] <= top <= UNIT_RANGE[1]:
        return 1.0
    return float(10.0 ** np.round(np.log10(top)))


def run_method(name: str, y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """One registered method (not auto), with a flat answer for a constant history."""
    ctx.check()
    if np.ptp(y) == 0:
        return Prediction.gaussian(np.full(horizon, y[-1]), np.zeros(horizon), {"model": "constant"})
    scale = unit_scale(y)
    pred = get_method(name)(y / scale, horizon, season, ctx).checked(horizon, name)
    if scale != 1.0:  # back in the series' own units (the drift's slope too; AICc then has none)
        info = dict(pred.info, rescaled_by=scale)
        if isinstance(info.get("slope"), float):
            info["slope"] *= scale
        info.pop("aicc", None)
        arrays = (pred.mean, pred.lo80, pred.hi80, pred.lo95, pred.hi95)
        pred = Prediction(*(a * scale for a in arrays), info).checked(horizon, name)
    if np.min(y) >= 0 and np.min(pred.lo95) < 0:  # counts, rain, prices: never forecast below zero
        for key in ("mean", "lo80", "hi80", "lo95", "hi95"):
            setattr(pred, key, np.maximum(getattr(pred, key), 0.0))
        pred.info = dict(pred.info, clipped_at_zero=True)
    return pred


def fit_forecast(
    series,
    horizon: int,
    method: str = "auto",
    season: int | None = None,
    progress=None,
    cancel=None,
    options: dict | None = None,
    seed: int = 0,
) -> Forecast:
    """Forecast ``horizon`` steps of ``series`` (a Series, pandas Series or array) with ``method``.

    ``season`` is the seasonal period (None: from the dates, or detected); ``progress`` gets dicts
    while networks train and auto backtests; ``cancel.cancelled`` stops the work (raises
    :class:`~engine.forecast.context.Cancelled`); ``options`` maps a method name to its config
    (e.g. ``{"lstm": LSTMConfig(seeds=1)}``; ``{"auto": {"candidates": [...]}}``).
    """
    if method != "auto" and method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(ALL_METHODS)}")
    t0 = time.perf_counter()
    s = as_series(series)
    horizon = check_horizon(len(s), horizon)
    m, notes = resolve_season(s, season, horizon)
    ctx = FitContext(s.dates, s.freq, progress, cancel, seed, dict(options or {}))
    y = s.values
    if np.ptp(y) == 0:
        notes.append("the series is constant; the forecast repeats its value with no uncertainty")
    if method == "auto":
        from engine.forecast.auto import auto_forecast

        pred = auto_forecast(y, horizon, m, ctx)
    else:
        pred = run_method(method, y, horizon, m, ctx)
    return Forecast(
        method=method,
        mean=pred.mean,
        lo80=pred.lo80,
        hi80=pred.hi80,
        lo95=pred.lo95,
        hi95=pred.hi95,
        index=s.future_index(horizon),
        season=m,
        name=s.name,
        warnings=list(s.warnings) + notes,
        info=pred.info,
        seconds=time.perf_counter() - t0,
    )
