"""``linear``: a direct multi-step ridge regression over the same windows the networks see.

The series goes through the recurrent forecaster's pipeline (lstm.py :func:`prepare`: optional log,
seasonal indices removed, scaled by the mean absolute step, each window relative to its last
value). One ridge regression maps a window's relative values and the flattened time features of
the H future steps to the H deviations from the last value (a constant, penalised like the other
weights, carries a drift; full shrinkage gives the naive forecast) — the network's linear part
alone, in the spirit of the linear baselines of Zeng et al. 2023 ("Are Transformers Effective for
Time Series Forecasting?"). It fits in milliseconds (about a second at horizons of several hundred
steps, where the time features of every future step make the regression wide). The penalty is the
one with the lowest absolute error on the latest ``val_fraction`` of the windows (fitted on the
windows before them; the naive forecast wins when no penalty beats it there); the chosen penalty is
then refitted on every window.
Intervals come from the validation errors per step, widened to at least a random walk's as for
the networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.ensemble import floor_widths
from engine.forecast.lstm import windowed
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
    """Ridge regression on standardised inputs plus a constant column, every weight penalised alike
    (the constant too): with all of them shrunk to zero the forecast is the naive one — the base the
    networks start from — and the constant lets a drift through when the data support it."""

    def __init__(self, x: np.ndarray) -> None:
        self.mu = x.mean(axis=0)
        self.sd = x.std(axis=0)
        self.sd[self.sd < 1e-12] = 1.0  # constant inputs (a feature that never changes) stay harmless

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([(x - self.mu) / self.sd, np.ones((x.shape[0], 1))], axis=1)

    def fit(self, x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
        xs = self._inputs(x)
        return np.linalg.solve(xs.T @ xs + alpha * xs.shape[0] * np.eye(xs.shape[1]), xs.T @ y)  # (p+1, H)

    def predict(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self._inputs(x) @ w


def _config(value, kind):
    """A config dataclass from ``ctx.options``: the instance itself, a dict of its fields, or None."""
    if value is None:
        return kind()
    if isinstance(value, dict):
        try:
            return kind(**value)
        except TypeError as exc:  # an unknown field: a settings problem the caller can show
            raise ValueError(f"bad {kind.__name__} settings: {exc}") from None
    return value


def linear(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """The registry entry: ridge regression over windows with the LSTM's preprocessing."""
    cfg = _config(ctx.options.get("linear"), LinearConfig)
    net_cfg = _config(ctx.options.get("lstm"), LSTMConfig)  # the same transform / season / calendar choices
    y, prep, train, val = windowed(y, horizon, season, ctx, net_cfg, "linear model", cfg.val_fraction)
    ctx.check()
    x_tr, _ = _design(prep, train, horizon, cfg.future_features)
    x_val, _ = _design(prep, val, horizon, cfg.future_features)
    y_tr, y_val = prep.targets(train, horizon), prep.targets(val, horizon)
    ridge = _Ridge(x_tr)
    best, alpha, resid = float(np.mean(np.abs(y_val))), None, y_val  # the naive forecast
    for a in cfg.alphas:
        err = y_val - ridge.predict(ridge.fit(x_tr, y_tr, a), x_val)
        if float(np.mean(np.abs(err))) < best:
            best, alpha, resid = float(np.mean(np.abs(err))), a, err
    x_now, base_now = _design(prep, np.array([y.size]), horizon, cfg.future_features)
    if alpha is None:
        point = np.zeros(horizon)
    else:  # the chosen penalty, refitted on every window (standardised by their own statistics)
        every = np.concatenate([train, val])
        x_all, _ = _design(prep, every, horizon, cfg.future_features)
        final = _Ridge(x_all)
        point = final.predict(final.fit(x_all, prep.targets(every, horizon), alpha), x_now)[0]
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
