"""ETS + LSTM hybrid: the network learns to correct an exponential-smoothing forecast.

In the spirit of Smyl's M4-winning ES-RNN, but per series: an additive ETS model (AICc choice,
on the log scale for positive series that vary multiplicatively) supplies, for every window
origin, its multi-step point forecast from the filtered state at that origin. The recurrent
network reads the window and the ETS one-step errors and predicts quantiles of the deviation of
the truth from that ETS path. A network that learns nothing returns the ETS forecast, so the
hybrid starts from a strong baseline instead of from the naive one.

The ETS parameters are estimated once on the whole history before the forecast origin, so the
training windows' base forecasts are in-sample; nothing after the origin is used.
"""

from __future__ import annotations

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.lstm import fit_predict
from engine.forecast.lstm_model import LSTMConfig
from engine.forecast.result import Prediction
from engine.forecast.statistical import NATIVE_SEASON_ETS, fit_ets, quiet


def ets_paths(z: np.ndarray, horizon: int, season: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Fit additive ETS to ``z``; return its H-step forecasts from every origin 0..N (row o uses the
    state after ``z[o-1]``; row 0 repeats row 1), its one-step errors (N,), and the model name."""
    with quiet():
        res, name = fit_ets(z, season, additive_only=True)
    states = res.states
    cols = list(states.columns)
    st = states.to_numpy(dtype=float)  # (N, k): the state after each observation
    n = z.size
    level = st[:, cols.index("level")]
    trend = st[:, cols.index("trend")] if "trend" in cols else np.zeros(n)
    phi = float(getattr(res, "damping_trend", 1.0) or 1.0) if res.model.damped_trend else 1.0
    h = np.arange(1, horizon + 1)
    phis = np.cumsum(phi**h)  # (H,) damped trend multipliers
    base = level[:, None] + trend[:, None] * phis[None, :]  # (N, H): forecast from the state after t
    if "seasonal" in cols:
        m = res.model.seasonal_periods
        seas = st[:, cols.index("seasonal")]
        idx = np.arange(n)[:, None] + h[None, :] - m * ((h[None, :] - 1) // m + 1)  # (N, H)
        base = base + np.where(idx >= 0, seas[np.clip(idx, 0, None)], 0.0)
    base = np.vstack([base[:1], base])  # (N + 1, H): row o = forecast made at origin o
    resid = z - np.asarray(res.fittedvalues, dtype=float)
    return base, resid, name


def hybrid(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """ETS + LSTM residual hybrid with the config in ``ctx.options['hybrid']`` (default: LSTM's)."""
    cfg = ctx.options.get("hybrid") or ctx.options.get("lstm") or LSTMConfig()
    long_season = season > NATIVE_SEASON_ETS  # removed classically first, as the ETS baseline does
    ets_season = 1 if long_season else season
    names = []

    def base_fn(z: np.ndarray, h: int):
        base, resid, name = ets_paths(z, h, ets_season)
        names.append(name)
        return base, resid, name

    pred = fit_predict(
        y,
        horizon,
        season,
        ctx,
        cfg,
        deseasonalise=long_season and cfg.deseasonalise,
        base_fn=base_fn,
        name="ETS+LSTM",
    )
    pred.info["base"] = names[0] if names else None
    return pred
