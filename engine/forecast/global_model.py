"""Global training: one recurrent forecaster for many series, saved as a self-describing folder.

Each series keeps its own transforms and scale (lstm.prepare); windows from all series are pooled
and one ensemble is trained on them, with early stopping on every series' latest windows. Dates
are not used (series may have different calendars): the only time feature is the position in a
shared season. The model folder holds ``config.json`` (the LSTMConfig, horizon, season, window
length, feature sizes, calibration, schema version) and ``model.safetensors`` (one prefix per
member); loading never unpickles anything.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.forecast.context import FitContext
from engine.forecast.ensemble import apply_calibration, fit_ensemble, floor_widths
from engine.forecast.lstm import MIN_WINDOWS, choose_input_len, prepare, split_origins
from engine.forecast.lstm_model import ForecastNet, LSTMConfig
from engine.forecast.result import Prediction
from engine.forecast.series import as_series

SCHEMA_VERSION = 1


@dataclass
class GlobalForecaster:
    cfg: LSTMConfig  # network and training settings
    horizon: int  # steps forecast
    season: int  # shared season length for the position feature (1: none)
    input_len: int  # window length L
    dims: tuple[int, int, int, int]  # (n_in, n_time, L, H) of the networks
    nets: list = field(default_factory=list)  # trained ForecastNet members
    calibration: tuple[float, float] = (1.0, 1.0)  # 80% / 95% interval factors from validation
    info: dict = field(default_factory=dict)  # training facts (epochs, series used, skipped)

    def predict(self, series) -> Prediction:
        """Forecast one series (any length >= the window length) with the shared networks."""
        import torch

        y = as_series(series).values[-self.cfg.max_history :]
        if y.size < self.input_len + 1:
            raise ValueError(
                f"the series has {y.size} points; the global model needs at least {self.input_len + 1}"
            )
        prep = prepare(y, self.horizon, self.season, None, None, self.cfg, input_len=self.input_len)
        x, fut, rel, base = prep.inputs(np.array([y.size]), self.horizon)
        now = [torch.as_tensor(a, dtype=torch.float32) for a in (x, fut, rel)]
        with torch.no_grad():
            q = np.mean([net.quantiles(net(*now)).numpy() for net in self.nets], axis=0)  # (1, H, 5)
        q = np.sort(apply_calibration(q, *self.calibration), axis=-1)
        q = floor_widths(q, float(np.std(np.diff(prep.z))) / prep.scale, self.cfg.width_floor)
        out = prep.restore(q[0], base[0], y.size)
        return Prediction(out[:, 2], out[:, 1], out[:, 3], out[:, 0], out[:, 4], {"model": "global LSTM"})

    def save(self, folder) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"member{k}.{name}": t.contiguous()
            for k, net in enumerate(self.nets)
            for name, t in net.state_dict().items()
        }
        save_file(tensors, str(folder / "model.safetensors"))
        meta = {
            "schema_version": SCHEMA_VERSION,
            "kind": "forecast-global-lstm",
            "config": dataclasses.asdict(self.cfg),
            "horizon": self.horizon,
            "season": self.season,
            "input_len": self.input_len,
            "dims": list(self.dims),
            "members": len(self.nets),
            "calibration": list(self.calibration),
        }
        (folder / "config.json").write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, folder) -> GlobalForecaster:
        from safetensors.torch import load_file

        folder = Path(folder)
        try:
            meta = json.loads((folder / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder} is not a forecast model folder: {exc}") from exc
        if meta.get("schema_version") != SCHEMA_VERSION or meta.get("kind") != "forecast-global-lstm":
            raise ValueError(
                f"{folder}: unsupported model (kind {meta.get('kind')}, schema {meta.get('schema_version')})"
            )
        cfg = LSTMConfig(**meta["config"])
        dims = tuple(meta["dims"])
        tensors = load_file(str(folder / "model.safetensors"))
        nets = []
        for k in range(meta["members"]):
            net = ForecastNet(cfg, *dims)
            prefix = f"member{k}."
            net.load_state_dict({n[len(prefix) :]: t for n, t in tensors.items() if n.startswith(prefix)})
            net.eval()
            nets.append(net)
        return cls(
            cfg, meta["horizon"], meta["season"], meta["input_len"], dims, nets, tuple(meta["calibration"])
        )


def fit_global(
    series_list,
    horizon: int,
    season: int = 1,
    cfg: LSTMConfig | None = None,
    progress=None,
    cancel=None,
    seed=0,
) -> GlobalForecaster:
    """Train one ensemble on windows pooled from every series (each scaled on its own)."""
    import torch

    cfg = dataclasses.replace(cfg or LSTMConfig(), calendar=season > 1)
    values = [as_series(s).values[-cfg.max_history :] for s in series_list]
    if not values:
        raise ValueError("no series given")
    longest = max(v.size for v in values)
    input_len = choose_input_len(longest, horizon, season, cfg.input_len)
    parts: dict[str, list] = {"train": [], "val": [], "all": []}
    used, skipped = [], []
    for i, y in enumerate(values):
        train, val = (
            split_origins(y.size, input_len, horizon, cfg.val_fraction)
            if y.size > input_len + horizon
            else ([], [])
        )
        if len(train) < 2 or np.ptp(y) == 0:
            skipped.append(i)
            continue
        prep = prepare(y, horizon, season, None, None, cfg, input_len=input_len)
        for key, origins in (("train", train), ("val", val), ("all", np.concatenate([train, val]))):
            x, fut, rel, _ = prep.inputs(origins, horizon)
            parts[key].append((x, fut, rel, prep.targets(origins, horizon)))
        used.append(i)
    if sum(len(p[0]) for p in parts["train"]) < MIN_WINDOWS:
        raise ValueError(f"too few training windows across the series at horizon {horizon}")

    def stack(key):
        return [
            torch.as_tensor(np.concatenate([p[j] for p in parts[key]]), dtype=torch.float32) for j in range(4)
        ]

    old = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    try:
        data, val, all_data = stack("train"), stack("val"), stack("all")
        dims = (data[0].shape[-1], data[1].shape[-1], input_len, horizon)
        ctx = FitContext(progress=progress, cancel=cancel, seed=seed)
        _, facts, nets = fit_ensemble(data, val, all_data if cfg.refit else None, val[:3], cfg, dims, ctx)
    finally:
        torch.set_num_threads(old)
    info = {**facts, "series_used": used, "series_skipped": skipped, "windows": int(data[0].shape[0])}
    return GlobalForecaster(cfg, horizon, season, input_len, dims, nets, tuple(facts["calibration"]), info)
