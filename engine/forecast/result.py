"""Result dataclasses: a method's raw prediction, a user-facing forecast, a backtest table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.cli_args import json_safe as _clean

Z80 = 1.2815515655446004  # standard normal quantile for a central 80% interval
Z95 = 1.959963984540054  # ... and for 95%


@dataclass
class Prediction:
    """What one method returns for the next ``H`` steps (all arrays (H,))."""

    mean: np.ndarray  # point forecast
    lo80: np.ndarray  # 10% quantile
    hi80: np.ndarray  # 90% quantile
    lo95: np.ndarray  # 2.5% quantile
    hi95: np.ndarray  # 97.5% quantile
    info: dict = field(default_factory=dict)  # method details (chosen model, order, epochs …)

    @classmethod
    def gaussian(cls, mean, sd, info: dict | None = None) -> Prediction:
        mean = np.asarray(mean, dtype=float)
        sd = np.maximum(np.asarray(sd, dtype=float), 0.0)
        return cls(mean, mean - Z80 * sd, mean + Z80 * sd, mean - Z95 * sd, mean + Z95 * sd, info or {})

    def bounds(self) -> dict[str, np.ndarray]:
        return {"lo80": self.lo80, "hi80": self.hi80, "lo95": self.lo95, "hi95": self.hi95}

    def checked(self, horizon: int, name: str) -> Prediction:
        """Validate shapes and finiteness; sort the bounds so lo95 <= lo80 <= mean <= hi80 <= hi95."""
        arrays = [
            np.asarray(a, dtype=float).ravel()
            for a in (self.mean, self.lo80, self.hi80, self.lo95, self.hi95)
        ]
        for a in arrays:
            if a.size != horizon:
                raise RuntimeError(f"method {name!r} returned {a.size} steps instead of {horizon}")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"method {name!r} produced non-finite values on this series")
        mean, lo80, hi80, lo95, hi95 = arrays
        lo80, hi80 = np.minimum(lo80, mean), np.maximum(hi80, mean)
        lo95, hi95 = np.minimum(lo95, lo80), np.maximum(hi95, hi80)
        return Prediction(mean, lo80, hi80, lo95, hi95, self.info)


@dataclass
class Forecast:
    """A forecast as shown to a person: values with intervals, labels, and how it was made."""

    method: str  # the method that produced it ("auto" reports its choice in info["reason"])
    mean: np.ndarray  # (H,) point forecast
    lo80: np.ndarray  # (H,) lower bound of the 80% interval
    hi80: np.ndarray  # (H,) upper bound of the 80% interval
    lo95: np.ndarray  # (H,) lower bound of the 95% interval
    hi95: np.ndarray  # (H,) upper bound of the 95% interval
    index: list  # (H,) ISO dates of the future steps, or row numbers when undated
    season: int  # season length used
    name: str = "value"  # the series' name (value column)
    warnings: list[str] = field(default_factory=list)  # cleaning and fitting notes
    info: dict = field(default_factory=dict)  # method details, auto's reason, training curve
    seconds: float = 0.0  # wall time of fit + forecast

    @property
    def horizon(self) -> int:
        return int(np.asarray(self.mean).size)

    def to_dict(self) -> dict:
        return _clean(
            {
                "method": self.method,
                "name": self.name,
                "horizon": self.horizon,
                "season": self.season,
                "index": self.index,
                "mean": self.mean,
                "lo80": self.lo80,
                "hi80": self.hi80,
                "lo95": self.lo95,
                "hi95": self.hi95,
                "warnings": self.warnings,
                "info": self.info,
                "seconds": round(self.seconds, 3),
            }
        )


@dataclass
class FoldResult:
    """One method at one forecast origin of a backtest."""

    method: str  # method name
    origin: int  # number of history points the method saw
    prediction: Prediction | None  # None when the method failed here
    scores: dict  # mae, rmse, smape, mase, cov80, cov95 (empty on failure)
    seconds: float  # fit + forecast time
    error: str = ""  # why it failed, if it did


@dataclass
class Backtest:
    """Rolling-origin evaluation of several methods on one series."""

    name: str  # series name
    horizon: int  # steps per fold
    season: int  # season length used
    origins: list[int]  # history lengths at which each fold starts (ascending)
    folds: dict[str, list[FoldResult]]  # method -> one result per origin
    warnings: list[str] = field(default_factory=list)  # series cleaning notes and skipped methods
    auto_reasons: list[str] = field(default_factory=list)  # per origin, what auto chose and why

    def summary(self) -> dict[str, dict]:
        """method -> mean of each score over the folds where it ran, plus seconds and failures."""
        out: dict[str, dict] = {}
        for method, results in self.folds.items():
            ok = [r for r in results if r.prediction is not None]
            row: dict = {"folds": len(ok), "failed": len(results) - len(ok)}
            keys = sorted({k for r in ok for k in r.scores})
            for k in keys:
                vals = [r.scores[k] for r in ok if k in r.scores and np.isfinite(r.scores[k])]
                row[k] = float(np.mean(vals)) if vals else float("nan")
            row["seconds"] = float(sum(r.seconds for r in results))
            out[method] = row
        return out

    def best(self, key: str = "mase") -> str | None:
        """The method with the lowest mean ``key`` among those that forecast at the most origins: a
        method that failed at some origins is scored on fewer, often easier, folds and cannot win
        over one that ran at all of them."""
        rows = {m: r for m, r in self.summary().items() if np.isfinite(r.get(key, float("nan")))}
        return min(rows, key=lambda m: (rows[m]["failed"], rows[m][key])) if rows else None

    def to_dict(self) -> dict:
        return _clean(
            {
                "name": self.name,
                "horizon": self.horizon,
                "season": self.season,
                "origins": self.origins,
                "summary": self.summary(),
                "best": self.best(),
                "warnings": self.warnings,
                "auto_reasons": self.auto_reasons,
                "folds": {
                    m: [
                        {
                            "origin": r.origin,
                            "scores": r.scores,
                            "seconds": round(r.seconds, 3),
                            "error": r.error,
                            "mean": None if r.prediction is None else r.prediction.mean,
                            "lo80": None if r.prediction is None else r.prediction.lo80,
                            "hi80": None if r.prediction is None else r.prediction.hi80,
                        }
                        for r in rs
                    ]
                    for m, rs in self.folds.items()
                },
            }
        )
