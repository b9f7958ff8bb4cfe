"""What a forecasting method gets besides the numbers: dates, callbacks, a cancel token, options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from engine.cancel import wait_if_paused


class Cancelled(Exception):
    """Raised inside a fit when the caller's cancel token says so."""


@dataclass
class FitContext:
    dates: pd.DatetimeIndex | None = None  # (N,) dates of the history, or None when undated
    freq: str | None = None  # pandas frequency alias of ``dates``
    progress: Callable[[dict], None] | None = None  # receives dicts such as {"stage", "epoch", "loss"}
    cancel: object | None = None  # anything with a truthy ``.cancelled`` attribute stops the fit
    seed: int = 0  # base random seed (networks, simulated intervals)
    options: dict = field(default_factory=dict)  # method name -> config override (e.g. an LSTMConfig)

    def check(self) -> None:
        """Raise :class:`Cancelled` if the caller asked to stop; wait here while it is paused (a
        token with ``paused`` / ``wait_while_paused``, as the Train panel's Pause button sets)."""
        wait_if_paused(self.cancel)
        if self.cancel is not None and getattr(self.cancel, "cancelled", False):
            raise Cancelled("forecast cancelled")

    def cut(self, n: int) -> FitContext:
        """The context for the first ``n`` points of the history (a backtest origin): dates cut to match."""
        return replace(self, dates=None if self.dates is None else self.dates[:n])

    def report(self, **event) -> None:
        if self.progress is not None:
            self.progress(dict(event))
