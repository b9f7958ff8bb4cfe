"""The LSTM forecaster as a Train panel run: curves per epoch, a forecast preview, holdout scores.

The forecaster (engine.forecast.lstm) is fitted afresh on each series in seconds, with early
stopping on its latest windows and an ensemble of seeds; it keeps no model folder and so no
resumable checkpoint: a cancelled run is simply started again. This module calls the same
``fit_forecast(..., method="lstm")`` the Forecast panel and ``python -m engine forecast`` use and
turns its progress dicts (``stage="lstm"``: member, epoch, loss, val_loss; ``stage="lstm_refit"``)
into run events: ``progress`` and ``eval`` with a step that counts epochs over all members, and
``refit`` for the refit on every window. With ``holdout`` the last ``horizon`` points are kept out
of training and the forecast is scored against them (MAE, RMSE, sMAPE, MASE, interval coverage).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

PREVIEW_POINTS = 400  # history points kept in a run's preview (enough to draw it again)


def _noop(_e: dict) -> None:
    return None


def _seconds(dates) -> list[float]:
    return [float(t) for t in dates.values.astype("datetime64[ms]").astype("int64") / 1000.0]


def _positions(series) -> tuple[list[float], bool]:
    """x positions of the history: POSIX seconds when dated, else row numbers."""
    if series.dates is None:
        return [float(i) for i in range(len(series))], False
    return _seconds(series.dates), True


def _future(index: list, n: int, dated: bool) -> list[float]:
    if not dated:
        return [float(n + i) for i in range(len(index))]
    import pandas as pd

    return _seconds(pd.DatetimeIndex(index))


def _finite(values) -> list:
    return [float(v) if math.isfinite(float(v)) else None for v in np.asarray(values, dtype=float).ravel()]


def lstm_config(values: dict | None):
    from engine.forecast.lstm_model import LSTMConfig

    names = set(LSTMConfig.__dataclass_fields__)
    unknown = sorted(set(values or {}) - names)
    if unknown:
        raise ValueError(f"unknown forecaster setting(s) {unknown}; known: {', '.join(sorted(names))}")
    # members in turn unless asked: the Train panel draws one loss curve that follows them one by one
    return LSTMConfig(**{"workers": 1, **(values or {})})


def read_training_series(config: dict):
    """(series to fit, held-out actual values or None) of ``config``; ValueError on a bad file."""
    from engine.forecast.io import read_series

    if not config.get("path"):
        raise ValueError("choose a CSV file with the series to train on")
    horizon = int(config.get("horizon") or 0)
    if horizon < 1:
        raise ValueError(f"the horizon must be a positive number of steps, not {horizon}")
    series = read_series(config["path"], config.get("column") or None)
    if not config.get("holdout"):
        return series, None
    if len(series) <= 2 * horizon:
        raise ValueError(
            f"{len(series)} points are too few to hold out the last {horizon} for scoring; "
            "use a shorter horizon or turn the holdout off"
        )
    return series.head(len(series) - horizon), series.values[-horizon:]


def check_forecast_data(config: dict) -> dict:
    lstm_config(config.get("lstm"))
    series, actual = read_training_series(config)
    return {"points": len(series), "name": series.name, "holdout": 0 if actual is None else len(actual)}


class _Relay:
    """fit_forecast's progress dicts -> run events (steps count epochs over every member)."""

    def __init__(self, emit: Callable[[dict], None], cfg, cancel=None) -> None:
        self.emit, self.cfg, self.cancel = emit, cfg, cancel
        self.step, self.t0 = 0, time.monotonic()
        self.paused0 = self._paused()
        self.best: float | None = None

    def _paused(self) -> float:
        total = getattr(self.cancel, "paused_total", None)  # a CancelToken: the pause going on included
        return float(total() if callable(total) else getattr(self.cancel, "paused_s", 0.0) or 0.0)

    def elapsed(self) -> float:
        """Seconds of fitting so far: time spent paused (the Train panel's Pause) not counted."""
        return max(0.0, time.monotonic() - self.t0 - (self._paused() - self.paused0))

    def __call__(self, e: dict) -> None:
        stage = e.get("stage")
        if stage not in ("lstm", "lstm_refit"):
            return
        self.step += 1
        elapsed = self.elapsed()
        common = {"step": self.step, "epoch": e.get("epoch"), "member": e.get("member"), "elapsed_s": elapsed}
        if stage == "lstm_refit":
            self.emit({"kind": "refit", "loss": e["loss"], "epochs": e.get("epochs"), **common})
            return
        total = self.cfg.epochs * self.cfg.seeds
        rate = self.step / max(elapsed, 1e-9)  # epochs per second
        self.emit(
            {
                "kind": "progress",
                "total_steps": total,
                "loss": e["loss"],
                "lr": self.cfg.lr,
                "items_per_s": self.cfg.windows_per_epoch * rate,  # windows per second (at most)
                "eta_s": float("nan"),  # early stopping makes the end unknown
                **common,
            }
        )
        improved = self.best is None or e["val_loss"] < self.best
        self.best = e["val_loss"] if improved else self.best
        self.emit(
            {
                "kind": "eval",
                "metrics": {"val_loss": e["val_loss"]},
                "improved": improved,
                **{k: common[k] for k in ("step", "epoch", "member", "elapsed_s")},
            }
        )


def run_forecaster_events(
    config: dict,
    device: str = "cpu",
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """Fit the LSTM forecaster on ``config["path"]`` (column ``column``), ``horizon`` steps ahead.

    ``config``: path, column, horizon, season (None: detected), holdout (bool), lstm (LSTMConfig
    fields). Runs on the CPU (the forecaster's networks are small). Returns a run summary with a
    ``preview`` (history tail, forecast and bands, held-out actual values) and holdout ``scores``.
    """
    from engine.forecast import metrics as M
    from engine.forecast.context import Cancelled
    from engine.forecast.methods import fit_forecast

    emit = on_event or _noop
    cfg = lstm_config(config.get("lstm"))
    series, actual = read_training_series(config)
    horizon = int(config["horizon"])
    emit(
        {
            "kind": "start",
            "train_examples": len(series),
            "valid_examples": 0,
            "params": 0,
            "steps_per_epoch": 1,
            "total_steps": cfg.epochs * cfg.seeds,
            "metric": "val_loss",
        }
    )
    relay = _Relay(emit, cfg, cancel)
    season = config.get("season") or None
    try:
        fc = fit_forecast(
            series, horizon, "lstm", season, progress=relay, cancel=cancel, options={"lstm": cfg}
        )
    except Cancelled:
        return {"reason": "cancelled", "steps": relay.step, "metric": "val_loss", "best_metric": relay.best}
    x, dated = _positions(series)
    keep = slice(-PREVIEW_POINTS, None)
    preview = {
        "name": fc.name,
        "method": "lstm",
        "horizon": horizon,
        "x": x[keep],
        "y": _finite(series.values[keep]),
        "dated": dated,
        "fx": _future(fc.index, len(series), dated),
        "index": [str(i) for i in fc.index],
        **{k: _finite(getattr(fc, k)) for k in ("mean", "lo80", "hi80", "lo95", "hi95")},
        "actual": None if actual is None else _finite(actual),
    }
    scores = None
    if actual is not None:
        scores = M.score(actual, fc.mean, series.values, fc.season, fc.lo80, fc.hi80, fc.lo95, fc.hi95)
        scores = {k: round(float(v), 4) for k, v in scores.items()}
    info = {k: fc.info[k] for k in ("model", "best_epochs", "calibration", "input_len") if k in fc.info}
    return {
        "reason": "completed",
        "steps": relay.step,
        "metric": "val_loss",
        "best_metric": relay.best,
        "last": info,
        "preview": preview,
        "scores": scores,
        "notes": list(fc.warnings),
        "train_minutes": round(relay.elapsed() / 60, 3),
    }
