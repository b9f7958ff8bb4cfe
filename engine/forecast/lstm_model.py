"""The recurrent forecasting network: a config, the module, and its two losses.

The encoder is ``engine.nn.recurrent.Recurrent`` (any registered cell) over the input window.
Two decoders, both measured in docs/bench/forecast.md:

- ``direct``: one linear head maps the encoder's final hidden state and the future steps' features
  to all ``H`` steps at once.
- ``seq2seq``: a second recurrent layer, started from the encoder's final state, runs ``H`` steps;
  each step reads the previous step's median, the future time features and the step's position.

A linear "skip" from the window's values to the point forecast (an AR term, as in LSTNet) is added
to the network's output; it gives small series a sensible start. Outputs are either five
quantiles (pinball loss) or a Gaussian mean and standard deviation (negative log-likelihood),
in the normalised space of :mod:`engine.forecast.lstm`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.nn.recurrent import Recurrent

QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)  # levels of the quantile head; 0.5 is the point forecast
MEDIAN = 2  # index of 0.5 in QUANTILES


@dataclass
class LSTMConfig:
    cell: str = "lstm"  # recurrent cell name from engine.nn.cells (lstm, gru, peephole_lstm …)
    hidden: int = 16  # hidden units of encoder (and decoder)
    layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # dropout between stacked layers
    decoder: str = "direct"  # "direct" (one head for all steps) or "seq2seq" (recurrent decoder)
    loss: str = "quantile"  # "quantile" (pinball on QUANTILES) or "gaussian" (NLL)
    linear_skip: bool = True  # add a linear AR term from the window to the point forecast
    level_input: bool = False  # feed the standardised level beside the window's relative values
    input_len: int | None = None  # window length L; None: from horizon and season (see lstm.py)
    transform: str = "auto"  # "auto" (log for positive series varying > 1.5x), "log" or "none"
    deseasonalise: bool = True  # remove classical seasonal indices before the network sees the data
    calendar: bool = True  # calendar features when dated (season position when undated)
    epochs: int = 150  # most epochs per ensemble member
    patience: int = 15  # epochs without validation improvement before stopping
    batch_size: int = 64  # windows per step
    windows_per_epoch: int = 512  # at most this many training windows are drawn per epoch
    lr: float = 3e-3  # Adam learning rate
    weight_decay: float = 1e-4  # Adam L2 penalty
    clip: float = 1.0  # gradient norm clip
    val_fraction: float = 0.1  # share of the latest windows held out for early stopping
    refit: bool = True  # after early stopping, train on every window (validation windows too): see refit_warm
    # > 0: after early stopping the network continues on every window for this share of its epochs,
    # at a third of the learning rate; 0: it is retrained from scratch for the chosen epoch count
    refit_warm: float = 0.25
    seeds: int = 3  # ensemble members (different seeds), combined by averaging quantiles
    calibrate: bool = True  # widen/narrow intervals to hit their level on the validation windows
    width_floor: float = 1.0  # intervals at least this share of a random walk's (on the transformed scale)
    max_history: int = 3000  # only this many recent points are used for training
    threads: int = 1  # torch CPU threads while fitting (restored afterwards)
    workers: int = 0  # ensemble members trained at once on threads; 0 = CPU cores // threads, 1 = in turn

    def __post_init__(self):
        if self.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {self.decoder!r}; known: {', '.join(DECODERS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        if self.transform not in ("auto", "log", "none"):
            raise ValueError(f"unknown transform {self.transform!r}; known: auto, log, none")


def _quantile_params(raw: Tensor) -> Tensor:
    """(…, 5) raw outputs -> monotone quantiles: median plus cumulative positive offsets."""
    med = raw[..., 2:3]
    down = torch.cumsum(F.softplus(raw[..., [1, 0]]), dim=-1)  # distances to q0.1, q0.025
    up = torch.cumsum(F.softplus(raw[..., [3, 4]]), dim=-1)  # distances to q0.9, q0.975
    return torch.cat(
        [med - down[..., 1:2], med - down[..., 0:1], med, med + up[..., 0:1], med + up[..., 1:2]], -1
    )


def pinball(pred: Tensor, target: Tensor) -> Tensor:
    """pred (B, H, 5) quantiles, target (B, H) -> mean pinball loss."""
    q = pred.new_tensor(QUANTILES)
    diff = target.unsqueeze(-1) - pred  # (B, H, 5)
    return torch.maximum(q * diff, (q - 1) * diff).mean()


def gaussian_nll(pred: Tensor, target: Tensor) -> Tensor:
    """pred (B, H, 2) as (mean, sd), target (B, H) -> mean negative log-likelihood (no constant)."""
    mean, sd = pred[..., 0], pred[..., 1]
    return (torch.log(sd) + 0.5 * ((target - mean) / sd) ** 2).mean()


LOSSES = {"quantile": pinball, "gaussian": gaussian_nll}
N_OUT = {"quantile": len(QUANTILES), "gaussian": 2}
DECODERS = ("direct", "seq2seq")


class ForecastNet(nn.Module):
    """Window in, H-step distribution out.

    n_in: features per input step; n_time: time features per future step; input_len: L.
    """

    def __init__(self, cfg: LSTMConfig, n_in: int, n_time: int, input_len: int, horizon: int):
        super().__init__()
        self.cfg = cfg
        self.horizon = horizon
        self.n_out = N_OUT[cfg.loss]
        self.encoder = Recurrent(cfg.cell, n_in, cfg.hidden, cfg.layers, dropout=cfg.dropout)
        if cfg.decoder == "direct":
            self.head = nn.Linear(cfg.hidden + horizon * n_time, horizon * self.n_out)
        else:
            self.decoder = Recurrent(cfg.cell, 2 + n_time, cfg.hidden, cfg.layers, dropout=cfg.dropout)
            self.head = nn.Linear(cfg.hidden, self.n_out)
        self.skip = nn.Linear(input_len, horizon) if cfg.linear_skip else None
        # start exactly at the base forecast (naive, or the hybrid's ETS path): zero output weights
        for layer in (self.head, self.skip):
            if layer is not None:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def _params(self, raw: Tensor, base: Tensor) -> Tensor:
        """raw (B, H, n_out), base (B, H) point offset -> distribution parameters (B, H, n_out)."""
        if self.cfg.loss == "quantile":
            raw = torch.cat(
                [raw[..., :MEDIAN], raw[..., MEDIAN : MEDIAN + 1] + base.unsqueeze(-1), raw[..., 3:]], -1
            )
            return _quantile_params(raw)
        mean = raw[..., 0] + base
        sd = F.softplus(raw[..., 1]) + 1e-3
        return torch.stack([mean, sd], dim=-1)

    def forward(self, x: Tensor, future: Tensor, last_values: Tensor) -> Tensor:
        """x (B, L, n_in) inputs, future (B, H, n_time) time features, last_values (B, L) window values.

        Returns (B, H, n_out): quantiles (ascending) or (mean, sd).
        """
        out, state = self.encoder(x)  # (B, L, hidden)
        base = (
            self.skip(last_values) if self.skip is not None else x.new_zeros(x.shape[0], self.horizon)
        )  # (B, H)
        if self.cfg.decoder == "direct":
            feats = torch.cat([out[:, -1], future.flatten(1)], dim=-1)  # (B, hidden + H*n_time)
            raw = self.head(feats).view(-1, self.horizon, self.n_out)  # (B, H, n_out)
            return self._params(raw, base)
        prev = last_values[:, -1:]  # (B, 1) the latest value (0 in the normalised space)
        steps = []
        for h in range(self.horizon):
            pos = x.new_full((x.shape[0], 1), (h + 1) / self.horizon)
            inp = torch.cat([prev, future[:, h], pos], dim=-1)  # (B, 2 + n_time)
            dec, state = self.decoder.step(inp, state)  # (B, hidden)
            params = self._params(self.head(dec).unsqueeze(1), base[:, h : h + 1])  # (B, 1, n_out)
            steps.append(params)
            prev = params[:, 0, MEDIAN if self.cfg.loss == "quantile" else 0].unsqueeze(-1)  # (B, 1)
        return torch.cat(steps, dim=1)  # (B, H, n_out)

    def quantiles(self, params: Tensor) -> Tensor:
        """Distribution parameters (B, H, n_out) -> the five QUANTILES (B, H, 5)."""
        if self.cfg.loss == "quantile":
            return params
        z = params.new_tensor(
            [-1.959963984540054, -1.2815515655446004, 0.0, 1.2815515655446004, 1.959963984540054]
        )
        return params[..., :1] + params[..., 1:2] * z
