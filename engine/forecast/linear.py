"""``linear``: a direct multi-step ridge regression over the same windows the networks see.

The series goes through the recurrent forecaster's pipeline (lstm.py :func:`prepare`: optional log,
seasonal indices removed, scaled by the mean absolute step, each window relative to its last
value). One ridge regression maps a window's relative values and the flattened time features of
the H future steps to the H deviations from the last value (no intercept, so that
the penalty shrinks towards the naive forecast) — the network's linear part alone, in
the spirit of the linear baselines of Zeng et al. 2023 ("Are Transformers Effective for Time Series
Forecasting?"). It fits in milliseconds. The penalty is the one with the lowest absolute error on
the latest ``val_fraction`` of the windows (fitted on the windows before them; the naive forecast
wins when no penalty beats it there); the chosen penalty is then refitted on every window.
Intervals come from the validation errors per step, widened to at least a random walk's as for
the networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.ensemble import floor_widths
from engine.forecast.lstm import MIN_WINDOWS, choose_input_len, prepare, split_origins
from engine.forecast.lstm_model import QUANTILES, LSTMConfig
from engine.forecast.result import Prediction

ALPHAS = (0.01, 0.1, 1.0, 10.0)  # ridge penalties tried, per window, on standardised inputs


@dataclass
class LinearConfig:
    val_fraction: float = 0.2  # latest share of the windows that chooses the penalty and the intervals
    alphas: tuple[float, ...] = ALPHAS
    future_features: bool = True  # also regress on the future steps' time features
    width_floor: float = 1.0  # intervals at least this share of a random walk's (see LSTMConfig)

    def __post_init__(self):
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if not self.alphas or min(self.alphas) <= 0:
            raise ValueError("alphas must be positive")


def _design(prep, origins: np.ndarray, horizon: int, future: bool) -> tuple[np.ndarray, np.ndarray]:
    """Regression inputs (W, L [+ H * F]) and the base path (W, H) at ``origins``."""
    _, fut, rel, base = prep.inputs(origins, horizon)
    x = np.concatenate([rel, fut.reshape(fut.shape[0], -1)], axis=1) if future else rel
    return x, base


class _Ridge:
    """Ridge regression on standardised inputs (statistics of the training windows), without an
    intercept: standardised inputs have mean zero on the training windows, so with every weight
    shrunk to zero the forecast is the naive one, the base the networks start from too."""

    def __init__(self, x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> None:
        self.mu, self.sd = mu, sd
        self.xs = (x - mu) / sd

    def fit(self, y: np.ndarray, alpha: float, x: np.ndarray | None = None) -> np.ndarray:
        xs = self.xs if x is None else (x - self.mu) / self.sd
        return np.linalg.solve(xs.T @ xs + alpha * xs.shape[0] * np.eye(xs.shape[1]), xs.T @ y)  # (p, H)

    def predict(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        return ((x - self.mu) / self.sd) @ w


def linear(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """The registry entry: ridge regression over windows with the LSTM's preprocessing."""
    cfg = ctx.options.get("linear") or LinearConfig()
    if isinstance(cfg, dict):
        cfg = LinearConfig(**cfg)
    net_cfg = ctx.options.get("lstm") or LSTMConfig()  # the same transform / season / calendar choices
    y = np.asarray(y, dtype=float)[-net_cfg.max_history :]
    dates = ctx.dates[-y.size :] if ctx.dates is not None else None
    input_len = choose_input_len(y.size, horizon, season, net_cfg.input_len)
    prep = prepare(y, horizon, season, dates, ctx.freq, net_cfg, input_len=input_len)
    train, val = split_origins(y.size, prep.input_len, horizon, cfg.val_fraction)
    if train.size < MIN_WINDOWS:
        need = prep.input_len + 2 * horizon + MIN_WINDOWS
        raise ValueError(
            f"series too short for the linear model at horizon {horizon}: "
            f"{y.size} points, about {need} needed"
        )
    ctx.check()
    x_tr, _ = _design(prep, train, horizon, cfg.future_features)
    x_val, _ = _design(prep, val, horizon, cfg.future_features)
    y_tr, y_val = prep.targets(train, horizon), prep.targets(val, horizon)
    sd = x_tr.std(axis=0)
    sd[sd < 1e-12] = 1.0  # constant inputs (a feature that never changes) stay harmless
    ridge = _Ridge(x_tr, x_tr.mean(axis=0), sd)
    best, alpha, resid = float(np.mean(np.abs(y_val))), None, y_val  # the naive forecast
    for a in cfg.alphas:
        err = y_val - ridge.predict(ridge.fit(y_tr, a), x_val)
        if float(np.mean(np.abs(err))) < best:
            best, alpha, resid = float(np.mean(np.abs(err))), a, err
    x_now, base_now = _design(prep, np.array([y.size]), horizon, cfg.future_features)
    if alpha is None:
        point = np.zeros(horizon)
    else:
        every = np.concatenate([train, val])
        x_all, _ = _design(prep, every, horizon, cfg.future_features)
        w = ridge.fit(prep.targets(every, horizon), alpha, x_all)
        point = ridge.predict(w, x_now)[0]
    spread = np.quantile(resid, QUANTILES, axis=0).T  # (H, 5) validation errors per step
    q = point[:, None] + spread - spread[:, 2:3]
    step_sd = float(np.std(np.diff(prep.z))) / prep.scale
    q = floor_widths(q[None], step_sd, cfg.width_floor)[0]
    out = prep.restore(np.sort(q, axis=-1), base_now[0], y.size)  # (H, 5)
    info = {
        "model": "linear: ridge over windows" + (f", penalty {alpha:g}" if alpha else ", naive won"),
        "input_len": prep.input_len,
        "log": prep.log,
        "deseasonalised": prep.seasonal is not None,
        "windows": int(train.size),
        "val_windows": int(val.size),
    }
    return Prediction(out[:, 2], out[:, 1], out[:, 3], out[:, 0], out[:, 4], info)
