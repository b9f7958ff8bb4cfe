"""Fit the recurrent forecaster on one series (or many, see global_model.py) and forecast.

Pipeline, every statistic fitted on the history alone:

1. optional log (``transform``), then classical seasonal indices removed (``deseasonalise``);
2. the result ``z`` is scaled by its mean absolute step ``s``; each window is expressed relative
   to its last value, ``(z - z_last) / s``, so the network predicts changes and a zero output is
   the naive forecast; optional channels carry the standardised level (``level_input``) and a base
   model's one-step errors (hybrid.py), then the time features;
3. a small ensemble (``seeds``, trained side by side on threads) is trained with early stopping on
   the latest windows, whose targets never overlap the training targets, then (``refit``) each
   member continues on every window, validation windows included, for a quarter of the epochs early
   stopping chose (``refit_warm``; 0 = retrained from scratch for that epoch count instead) — the
   latest windows matter most for the forecast;
4. member quantiles are averaged, calibrated on the validation windows, widened where they are
   narrower than a random walk's on the transformed scale (``width_floor``; networks fitted to a
   few hundred points are overconfident), and mapped back through the inverse transforms.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.forecast.context import FitContext
from engine.forecast.ensemble import fit_ensemble, floor_widths
from engine.forecast.lstm_model import LSTMConfig
from engine.forecast.result import Prediction
from engine.forecast.transforms import Seasonal, fit_seasonal, use_log
from engine.forecast.windows import calendar_cycles, gather, past_features, time_features, window_origins

MIN_WINDOWS = 12  # fewer training windows than this: the series is too short for the network
MAX_AUTO_INPUT = 64  # the automatic window length stays at or below this (unless the horizon is longer)


@dataclass
class Prepared:
    """A series in the network's space plus what is needed to map forecasts back."""

    z: np.ndarray  # (N,) log / deseasonalised values
    feats: np.ndarray  # (N + H, F) time features of history and future
    log: bool  # values were logged
    seasonal: Seasonal | None  # removed seasonal indices
    scale: float  # mean absolute step of z
    level: tuple[float, float]  # mean and sd of z, for the level channel
    input_len: int  # window length L
    level_input: bool = True  # add the standardised level as an input channel
    base: np.ndarray | None = None  # (N + 1, H) base forecast of z from each origin (row o); None: naive
    resid: np.ndarray | None = None  # (N,) the base model's one-step errors, an input channel

    def base_at(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Base forecast (W, H) in z space: the last value (naive) or the supplied base model's path."""
        if self.base is None:
            return np.repeat(self.z[origins - 1][:, None], horizon, axis=1)
        return self.base[origins]

    def inputs(self, origins: np.ndarray, horizon: int) -> tuple[np.ndarray, ...]:
        """Network arrays at ``origins``: x (W, L, C), future (W, H, F'), rel (W, L), base (W, H)."""
        past, fut, _ = gather(self.z, self.feats, origins, self.input_len, horizon, with_targets=False)
        last = past[:, -1]
        rel = (past - last[:, None]) / self.scale  # (W, L)
        parts = [rel[..., None]]
        if self.level_input:
            parts.append(((past - self.level[0]) / self.level[1])[..., None])
        if self.resid is not None:
            lags = origins[:, None] + np.arange(-self.input_len, 0)
            parts.append((self.resid[lags] / self.scale)[..., None])
        parts.append(past_features(self.feats, origins, self.input_len))  # (W, L, F)
        x = np.concatenate(parts, axis=-1)
        base = self.base_at(origins, horizon)
        if self.base is not None:  # the base path relative to the last value, as a future feature
            fut = np.concatenate([fut, ((base - last[:, None]) / self.scale)[..., None]], axis=-1)
        return x, fut, rel, base

    def targets(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """What the network predicts: (W, H) deviations of z from the base, in units of ``scale``."""
        _, _, tgt = gather(self.z, self.feats, origins, self.input_len, horizon)
        return (tgt - self.base_at(origins, horizon)) / self.scale

    def restore(self, q: np.ndarray, base: np.ndarray, start: int) -> np.ndarray:
        """Normalised quantiles (H, Q) around ``base`` (H,) at the origin ``start`` -> original units."""
        z = base[:, None] + self.scale * q
        if self.seasonal is not None:
            z = z + self.seasonal.at(start, z.shape[0])[:, None]
        return np.exp(z) if self.log else z


def choose_input_len(n: int, horizon: int, season: int, requested: int | None) -> int:
    """Window length: 2H (at least 10, and a season), at most 3H + 12, MAX_AUTO_INPUT, and what
    leaves MIN_WINDOWS windows."""
    if requested:
        return int(requested)
    want = max(2 * horizon, 10, season if 1 < season <= 4 * horizon else 0)
    cap = max(MAX_AUTO_INPUT, horizon)  # long windows cost time and rarely help a small network
    return int(max(2, min(want, 3 * horizon + 12, cap, n - horizon - MIN_WINDOWS)))


# (z, horizon) -> (base (N + 1, H), one-step residuals (N,), description); see hybrid.py
BaseFn = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, str]]


def prepare(
    y: np.ndarray,
    horizon: int,
    season: int,
    dates: pd.DatetimeIndex | None,
    freq: str | None,
    cfg: LSTMConfig,
    deseasonalise: bool | None = None,
    base_fn: BaseFn | None = None,
    input_len: int | None = None,
) -> Prepared:
    """Transform ``y`` and compute the scales, features and (optionally) the base forecasts."""
    log = cfg.transform == "log" or (cfg.transform == "auto" and use_log(y))
    if log and np.any(y <= 0):
        raise ValueError("the log transform needs strictly positive values")
    z = np.log(y) if log else y.astype(float)
    if deseasonalise is None:
        deseasonalise = cfg.deseasonalise
    seas = fit_seasonal(z, season, multiplicative=False) if deseasonalise and season > 1 else None
    if seas is not None:
        z = seas.remove(z)
    steps = np.abs(np.diff(z))
    scale = float(steps.mean()) if steps.size and steps.mean() > 0 else max(float(np.abs(z).mean()), 1.0)
    sd = float(z.std()) or 1.0
    cycles = calendar_cycles(dates, y.size) if cfg.calendar else []
    feats = time_features(y.size, dates, freq, cycles, season if cfg.calendar else 1, horizon)
    input_len = input_len or choose_input_len(y.size, horizon, season, cfg.input_len)
    base = resid = None
    if base_fn is not None:
        base, resid, _ = base_fn(z, horizon)
    return Prepared(
        z, feats, log, seas, scale, (float(z.mean()), sd), input_len, cfg.level_input, base, resid
    )


def points_needed(n: int, horizon: int, season: int, requested: int | None, val_fraction: float) -> int:
    """The fewest points from which a series of ``n`` (too few) would give MIN_WINDOWS training
    windows with the window length chosen for it (for the "too short" message)."""
    for m in range(max(n + 1, horizon + 2), n + 100 * (horizon + MAX_AUTO_INPUT) + 1000):
        length = choose_input_len(m, horizon, season, requested)
        if split_origins(m, length, horizon, val_fraction)[0].size >= MIN_WINDOWS:
            return m
    return n + 1


def split_origins(n: int, input_len: int, horizon: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation origins; training targets end before the first validation target.
    No origin at all (fewer than ``input_len + horizon`` points): empty arrays, which the callers
    report as a series too short."""
    origins = window_origins(n, input_len, horizon)
    if origins.size == 0:
        return origins, origins
    n_val = max(1, int(round(val_fraction * origins.size)))
    val = origins[-n_val:]
    train = origins[origins + horizon <= val[0]]
    return train, val


def windowed(
    y: np.ndarray,
    horizon: int,
    season: int,
    ctx: FitContext,
    cfg: LSTMConfig,
    what: str,
    val_fraction: float | None = None,
    **prepare_kw,
) -> tuple[np.ndarray, Prepared, np.ndarray, np.ndarray]:
    """The last ``cfg.max_history`` points of ``y``, :func:`prepare`-d, with their training and
    validation origins (``val_fraction``: instead of ``cfg.val_fraction``). Too few points for
    MIN_WINDOWS training windows: a ValueError naming the points needed, raised before preparing
    (which may fit a base model). ``what`` names the model in that message."""
    fraction = cfg.val_fraction if val_fraction is None else val_fraction
    y = np.asarray(y, dtype=float)[-cfg.max_history :]
    input_len = choose_input_len(y.size, horizon, season, cfg.input_len)
    train, val = split_origins(y.size, input_len, horizon, fraction)
    if train.size < MIN_WINDOWS:
        need = points_needed(y.size, horizon, season, cfg.input_len, fraction)
        raise ValueError(
            f"series too short for the {what} at horizon {horizon}: {y.size} points, at least {need} needed"
        )
    dates = ctx.dates[-y.size :] if ctx.dates is not None else None
    prep = prepare(y, horizon, season, dates, ctx.freq, cfg, input_len=input_len, **prepare_kw)
    return y, prep, train, val


def _tensors(prep: Prepared, origins: np.ndarray, horizon: int, with_targets: bool = True):
    import torch

    x, fut, rel, _ = prep.inputs(origins, horizon)
    out = [torch.as_tensor(a, dtype=torch.float32) for a in (x, fut, rel)]
    if with_targets:
        out.append(torch.as_tensor(prep.targets(origins, horizon), dtype=torch.float32))
    return out


def fit_predict(
    y: np.ndarray,
    horizon: int,
    season: int,
    ctx: FitContext,
    cfg: LSTMConfig,
    deseasonalise: bool | None = None,
    base_fn: BaseFn | None = None,
    name: str = "LSTM",
) -> Prediction:
    """Train the ensemble on ``y`` and forecast ``horizon`` steps (see the module docstring).

    ``base_fn`` supplies a base forecast the network corrects (hybrid.py); None: the naive base.
    """
    import torch

    t0 = time.perf_counter()
    y, prep, train, val = windowed(
        y, horizon, season, ctx, cfg, name, deseasonalise=deseasonalise, base_fn=base_fn
    )
    old_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    try:
        data, val_t = _tensors(prep, train, horizon), _tensors(prep, val, horizon)
        all_t = _tensors(prep, np.concatenate([train, val]), horizon) if cfg.refit else None
        dims = (data[0].shape[-1], data[1].shape[-1], prep.input_len, horizon)
        x_now, fut_now, rel_now, base_now = prep.inputs(np.array([y.size]), horizon)
        now = [torch.as_tensor(a, dtype=torch.float32) for a in (x_now, fut_now, rel_now)]
        q, facts, _ = fit_ensemble(data, val_t, all_t, now, cfg, dims, ctx)
    finally:
        torch.set_num_threads(old_threads)
    step_sd = float(np.std(np.diff(prep.z))) / prep.scale  # one-step sd in the network's units
    q = floor_widths(q, step_sd, cfg.width_floor)
    out = prep.restore(q[0], base_now[0], y.size)  # (H, 5)
    info = {
        "model": f"{name}: {cfg.cell} {cfg.decoder} ({cfg.loss}), hidden {cfg.hidden}, {cfg.seeds} seed(s)",
        "input_len": prep.input_len,
        "log": prep.log,
        "deseasonalised": prep.seasonal is not None,
        "windows": int(train.size),
        "val_windows": int(val.size),
        **facts,
        "fit_seconds": round(time.perf_counter() - t0, 3),
    }
    return Prediction(out[:, 2], out[:, 1], out[:, 3], out[:, 0], out[:, 4], info)


def lstm(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """The registry entry: LSTM ensemble with the config in ``ctx.options['lstm']`` (or defaults)."""
    return fit_predict(y, horizon, season, ctx, ctx.options.get("lstm") or LSTMConfig())


def gru(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """The same forecaster with GRU cells."""
    base = ctx.options.get("lstm") or LSTMConfig()
    return fit_predict(
        y, horizon, season, ctx, ctx.options.get("gru") or dataclasses.replace(base, cell="gru")
    )
