"""The Forecast panel's jobs: what runs on the engine thread (no Qt, no widgets here).

Every job returns plain dicts of lists the panel draws (``{"cancelled": True}`` when cancelled);
bad input raises ValueError with a message for a person, which the engine service turns into
``job_failed``. A forecast is saved in the history (``store.add_forecast``) before it returns,
with what is needed to draw it again: the forecast, the last ``STORED_POINTS`` of the history and
where it came from. X positions are POSIX seconds when the series is dated, else row numbers.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import numpy as np

from engine.history import save_or_note
from engine.history_export import write_whole

FORECAST_KIND = "forecast"
METHODS = ("lstm", "hybrid", "linear", "ets", "arima", "theta", "naive", "snaive", "drift", "auto")
BACKTEST_METHODS = ("naive", "snaive", "drift", "ets", "arima", "theta", "linear")  # always compared
STORED_POINTS = 2000  # history points saved with a forecast (enough to draw it again)
PROBE_ROWS = 500  # rows read to tell which columns hold numbers or dates
PROGRESS_EVERY_S = 0.1  # forward at most this many progress events per second to the window
MAX_HORIZON = 10_000
BANDS = ("mean", "lo80", "hi80", "lo95", "hi95")


class _Throttle:
    """Wraps the service's progress callback: LSTM epochs can come faster than a window can draw."""

    def __init__(self, progress) -> None:
        self.progress, self.last = progress, 0.0

    def __call__(self, event: dict) -> None:
        now = time.perf_counter()
        if self.progress is not None and now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            self.progress(dict(event))


def _positions(dates, n: int) -> tuple[list[float], bool]:
    if dates is None:
        return [float(i) for i in range(n)], False
    return _seconds(dates), True


def _seconds(dates) -> list[float]:
    """POSIX seconds of a DatetimeIndex, whatever its unit (pandas 2 keeps s/ms/us/ns)."""
    return [float(t) for t in dates.values.astype("datetime64[ms]").astype("int64") / 1000.0]


def _future_positions(index: list, n: int, dated: bool) -> list[float]:
    if not dated:
        return [float(n + i) for i in range(len(index))]
    import pandas as pd

    return _seconds(pd.DatetimeIndex(index))


def _finite(values) -> list:
    return [float(v) if math.isfinite(float(v)) else None for v in np.asarray(values, dtype=float).ravel()]


def _options(method: str, lstm: dict | None, quick: bool = False) -> dict:
    """Engine options: ``lstm`` overrides LSTMConfig fields (the networks' settings, and the
    preprocessing ``linear`` shares with them); ``quick`` (backtests) fits one seed. A backtest
    always gets them, whichever method is selected, so its rows do not depend on that choice."""
    if not quick and (method not in ("lstm", "hybrid", "auto", "linear") or not lstm):
        return {}
    from engine.forecast.lstm_model import LSTMConfig

    fields = {"seeds": 1} if quick else {}  # a backtest stays quick whatever seeds a Train run used
    return {"lstm": LSTMConfig(**{**(lstm or {}), **fields})}


def load_series(path: str, column=None, *, progress=None, cancel=None) -> dict:
    """Read ``path`` and return the history to draw and the file's numeric columns."""
    file = Path(path)
    if progress:
        progress({"stage": "reading", "file": file.name})
    series, columns, rows = _series_and_columns(file, column)
    if cancel is not None and cancel.cancelled:
        return {"cancelled": True}
    x, dated = _positions(series.dates, len(series))
    return {
        "path": str(file),
        "origin": file.name,
        "rows": rows,
        "name": series.name,
        "column": series.name,
        "columns": columns,
        "x": x,
        "y": _finite(series.values),
        "dated": dated,
        "freq": series.freq,
        "warnings": list(series.warnings),
    }


def _series_and_columns(file: Path, column):
    """The series of ``column`` in ``file``, the file's value columns and its number of rows (the
    table itself is not kept)."""
    from engine.forecast.io import decimal_comma, series_from_frame

    df = _read_table(file)
    comma = decimal_comma(file)
    series = series_from_frame(df, column, decimal_comma=comma)
    return series, value_columns(df, series, comma), int(len(df))


def _read_table(file: Path):
    """The file as a table (engine.forecast.io.read_table), refusing binary files by name."""
    from engine.forecast.io import read_table

    if file.exists() and file.is_file():
        size = file.stat().st_size
        if size > 0 and file.suffix.lower() in (".xlsx", ".xls", ".parquet", ".zip", ".gz", ".png", ".jpg"):
            raise ValueError(f"{file.name}: not a text table; save it as CSV or TSV first")
    try:
        return read_table(file)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file.name}: not a readable text table ({exc.reason})") from None


def value_columns(df, series, decimal_comma: bool) -> list[str]:
    """The columns the panel offers as values: the series' own first, then every other column that
    reads as numbers the way engine.forecast.io reads values (decimal commas, currency signs,
    thousands separators), leaving out the date column and a month or quarter column that goes with
    a year column (engine.forecast.io passes over these when it chooses the values)."""
    from engine.forecast.io import _parse_dates, _year_with_part

    head = df.head(PROBE_ROWS)
    dates_from: set = set()
    if series.dates is not None:
        for name in head.columns:
            if name == series.name:
                continue
            dates = _parse_dates(head[name], str(name))
            if dates is not None:  # the first column that reads as dates is the date column
                dates_from |= {name, _year_with_part(head, dates, name, series.name, [])[1]}
                break
    others = [
        str(c)
        for c in df.columns
        if c not in dates_from and str(c) != series.name and _mostly_numeric(head[c], decimal_comma)
    ]
    return [series.name, *others] if series.name in df.columns else others


def _mostly_numeric(col, decimal_comma: bool) -> bool:
    """Whether ``col`` holds numbers as engine.forecast.io reads them ("0,5", "$1,200", "1 000")."""
    from engine.forecast.io import _numeric, numeric_enough

    values, text = _numeric(col, decimal_comma)
    return bool(len(col) and numeric_enough(text) and np.isfinite(values).any())


def forecast_file(
    path: str,
    column,
    horizon: int,
    method: str,
    season: int | None = None,
    lstm: dict | None = None,
    *,
    progress=None,
    cancel=None,
    store=None,
) -> dict:
    """Read, forecast ``horizon`` steps with ``method`` and save the forecast in the history."""
    from engine.forecast.context import Cancelled

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if not 1 <= int(horizon) <= MAX_HORIZON:
        raise ValueError(f"the horizon must be between 1 and {MAX_HORIZON:,} steps, not {horizon}")
    file = Path(path)
    if progress:
        progress({"stage": "reading", "file": file.name})
    series, columns, _ = _series_and_columns(file, column)  # (the table is not kept while models fit)
    if len(series) < 3:
        raise ValueError(f"{file.name}: only {len(series)} usable point(s); a forecast needs at least 3")
    from engine.forecast.methods import fit_forecast

    if progress:
        progress({"stage": "fitting", "method": method, "points": len(series)})
    t0 = time.perf_counter()
    try:
        fc = fit_forecast(
            series,
            int(horizon),
            method,
            season,
            progress=_Throttle(progress),
            cancel=cancel,
            options=_options(method, lstm),
        )
    except Cancelled:
        return {"cancelled": True}
    if cancel is not None and cancel.cancelled:
        return {"cancelled": True}
    x, dated = _positions(series.dates, len(series))
    result = {
        "path": str(file),
        "origin": file.name,
        "name": series.name,
        "column": series.name,
        "columns": columns,  # the file's value columns (not saved: a reopened forecast has its own)
        "method": method,
        "horizon": int(horizon),
        "season": int(fc.season),
        "x": x,
        "y": _finite(series.values),
        "dated": dated,
        "index": [str(i) for i in fc.index],
        "fx": _future_positions(fc.index, len(series), dated),
        **{k: _finite(getattr(fc, k)) for k in BANDS},
        "warnings": list(fc.warnings),
        "reason": str(fc.info.get("reason") or ""),
        "chosen": list(fc.info.get("chosen") or []),
        "seconds": time.perf_counter() - t0,
        "forecast_id": None,
    }
    if store is None:
        result["warnings"].append("History is off: this forecast is not saved.")
    else:
        if progress:
            progress({"stage": "saving"})
        result["forecast_id"], why = save_or_note(
            lambda: store.add_forecast(f"{series.name} · {file.name}", method, int(horizon), _meta(result)),
            "forecast",
        )
        if why:
            result["warnings"].append(why)
    return result


def _meta(result: dict) -> dict:
    keep = {k: result[k] for k in ("path", "origin", "name", "column", "season", "dated", "index", "reason")}
    keep.update({k: result[k] for k in BANDS}, fx=result["fx"], chosen=result["chosen"])
    keep.update(
        kind="parlance.forecast/1",
        x=result["x"][-STORED_POINTS:],
        y=result["y"][-STORED_POINTS:],
        n_points=len(result["y"]),
        warnings=result["warnings"],
    )
    return keep


def _drawable(result: dict) -> bool:
    """The saved history and forecast are lists of numbers of matching lengths (a record edited or
    damaged outside Parlance drew half a plot and raised inside pyqtgraph)."""

    def numbers(values) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    n, h = len(result["y"]), len(result["fx"])
    return (
        n >= 1
        and h >= 1
        and len(result["x"]) == n
        and all(len(result[k]) == h for k in BANDS)
        and all(numbers(result[k]) for k in ("x", "y", "fx", *BANDS))
        and isinstance(result.get("dated"), bool)
    )


def open_forecast(item_id: int, *, store=None) -> dict:
    """A saved forecast, ready to draw (the history as saved with it)."""
    if store is None:
        raise ValueError("History is off, so saved forecasts cannot be opened.")
    row = store.get_forecast(int(item_id))  # ValueError: missing or damaged
    meta = row.get("meta") or {}
    if meta.get("kind") != "parlance.forecast/1":
        raise ValueError(f"Forecast {item_id} was saved by another program and cannot be drawn.")
    result = {k: meta.get(k) for k in ("path", "origin", "name", "column", "season", "dated", "index")}
    result.update({k: list(meta.get(k) or []) for k in (*BANDS, "x", "y", "fx", "chosen")})
    if not _drawable(result):
        raise ValueError(f"Forecast {item_id} is damaged in the history file and cannot be drawn.")
    saved = row["created_at"][:16].replace("T", " ")
    notes = [f"From the history, saved {saved} UTC."]
    if meta.get("n_points", 0) > len(result["y"]):
        notes.append(f"Only the last {len(result['y']):,} of {meta['n_points']:,} points were saved.")
    path = result.get("path")
    result["missing"] = not (isinstance(path, str) and path and Path(path).is_file())
    if result["missing"]:
        notes.append(f"The file is no longer at {path}, so it cannot be forecast or backtested again.")
    result.update(
        method=row["method"],
        horizon=int(row["horizon"]),
        reason=meta.get("reason", ""),
        warnings=notes,
        seconds=None,
        forecast_id=row["id"],
    )
    return result


def backtest_file(
    path: str,
    column,
    horizon: int,
    method: str,
    season: int | None = None,
    folds: int = 3,
    methods=None,
    lstm: dict | None = None,
    *,
    progress=None,
    cancel=None,
) -> dict:
    """Rolling-origin backtest of ``methods`` (default: the baselines) plus ``method``: a metrics
    row per method, the winner by MASE, each method's forecasts over the history (NaN between folds)."""
    from engine.forecast.auto import AutoConfig
    from engine.forecast.backtest import backtest
    from engine.forecast.context import Cancelled
    from engine.forecast.io import read_series

    series = read_series(Path(path), column)
    # auto's candidates are fitted at every origin anyway (auto chooses among them): their rows cost
    # nothing, and without them the table could not show what auto combined (lstm, hybrid)
    chosen_from = AutoConfig().candidates if method == "auto" else ()
    methods = list(dict.fromkeys((*(methods or BACKTEST_METHODS), *chosen_from, method)))
    try:
        bt = backtest(
            series,
            int(horizon),
            methods,
            folds,
            season,
            progress=_Throttle(progress),
            cancel=cancel,
            options=_options(method, lstm, quick=True),
        )
    except Cancelled:
        return {"cancelled": True}
    x, dated = _positions(series.dates, len(series))
    summary, best = bt.summary(), bt.best()
    rows = []
    for name, row in summary.items():
        rows.append(
            {
                "method": name,
                **{k: _num(row.get(k)) for k in ("mase", "smape", "mae", "rmse", "cov80", "cov95")},
                "seconds": float(row.get("seconds", 0.0)),
                "folds": int(row.get("folds", 0)),
                "failed": int(row.get("failed", 0)),
            }
        )
    # the ranking of Backtest.best(): methods that failed at some origins after those that ran at all
    rows.sort(key=lambda r: (r["mase"] is None, r["failed"], r["mase"] if r["mase"] is not None else 0.0))
    paths = {}
    for name, results in bt.folds.items():
        xs, ys = [], []
        for r in results:
            if r.prediction is None:
                continue
            xs += [x[r.origin - 1], *x[r.origin : r.origin + horizon], x[r.origin + horizon - 1]]
            ys += [series.values[r.origin - 1], *np.asarray(r.prediction.mean, float).tolist(), math.nan]
        paths[name] = {"x": [float(v) for v in xs], "y": [float(v) for v in ys]}
    return {
        "column": series.name,
        "horizon": int(horizon),
        "season": bt.season,
        "origins": list(bt.origins),
        "rows": rows,
        "best": best,
        "paths": paths,
        "warnings": list(bt.warnings),
        "dated": dated,
    }


def _num(v):
    return float(v) if v is not None and math.isfinite(float(v)) else None


def forecast_csv_rows(result: dict) -> list[list]:
    rows = [["step", "date" if result.get("dated") else "index", *BANDS]]
    for i, label in enumerate(result["index"]):
        rows.append([i + 1, label, *(result[k][i] for k in BANDS)])
    return rows


def write_forecast_csv(path: str, result: dict) -> str:
    """Write the forecast with its intervals to ``path`` as CSV (".csv" added when it has no
    extension); returns the path written."""
    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(".csv")
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(forecast_csv_rows(result))
    write_whole(target, buf.getvalue(), private=False)
    return str(target)


def samples(folder: Path) -> list[Path]:
    """The shipped sample series (``*.csv`` in resources/samples)."""
    return sorted(folder.glob("*.csv"))
