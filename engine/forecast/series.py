"""A univariate series with an optional regular date index, and its season length.

:class:`Series` is what every forecasting method receives: finite float values, the dates (or
``None`` when the series is indexed by row), the pandas frequency alias, and the warnings
collected while cleaning it (interpolated gaps, sorted or merged dates, a capped length).
Reading files lives in :mod:`engine.forecast.io`; this module only cleans what it is given.
"""

from __future__ import annotations

import re
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DEFAULT_MAX_POINTS = 20_000  # longer inputs keep their most recent points (with a warning)
SPIKE_FACTOR = 1000.0  # a point this many typical steps away from both neighbours is flagged
MIN_POINTS = 3  # fewer points cannot be forecast at all

DAY = 86_400.0
# (lower, upper) bounds of the median spacing in seconds -> (frequency alias, season length)
_SPACINGS: list[tuple[float, float, str, int]] = [
    (0.9 * 365 * DAY, 1.1 * 366 * DAY, "Y", 1),
    (85 * DAY, 95 * DAY, "Q", 4),
    (27 * DAY, 32 * DAY, "M", 12),
    (6.5 * DAY, 7.5 * DAY, "W", 52),
    (0.9 * DAY, 1.1 * DAY, "D", 7),
    (3500.0, 3700.0, "h", 24),
    (1750.0, 1850.0, "30min", 48),
    (890.0, 910.0, "15min", 96),
    (59.0, 61.0, "min", 60),
]


@dataclass
class Series:
    values: np.ndarray  # (N,) float64, all finite
    dates: pd.DatetimeIndex | None = None  # (N,) regular dates, or None when indexed by row
    freq: str | None = None  # pandas frequency alias of ``dates`` ("MS", "D", "B", "h" …)
    name: str = "value"  # the value column's name
    warnings: list[str] = field(default_factory=list)  # what cleaning changed, for the user

    def __len__(self) -> int:
        return int(self.values.size)

    def head(self, n: int) -> Series:
        """The first ``n`` points (a forecast origin inside the history), same frequency."""
        dates = None if self.dates is None else self.dates[:n]
        return Series(self.values[:n].copy(), dates, self.freq, self.name, list(self.warnings))

    def future_index(self, horizon: int) -> list:
        """Labels of the next ``horizon`` steps: ISO dates when dated, else row numbers."""
        if self.dates is None or self.freq is None:
            return list(range(len(self), len(self) + horizon))
        future = pd.date_range(self.dates[-1], periods=horizon + 1, freq=self.freq)[1:]
        return [d.isoformat() for d in future]

    def index_labels(self) -> list:
        if self.dates is None:
            return list(range(len(self)))
        return [d.isoformat() for d in self.dates]


def _interpolate(values: np.ndarray, what: str, notes: list[str]) -> np.ndarray:
    """Fill NaNs linearly inside the series and drop leading/trailing ones, saying so."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    good = np.flatnonzero(~bad)
    if good.size == 0:
        raise ValueError(f"{what}: no numeric values at all")
    inner = bad.copy()
    inner[: good[0]] = False
    inner[good[-1] + 1 :] = False
    out = values.copy()
    if inner.any():
        idx = np.arange(values.size)
        out[inner] = np.interp(idx[inner], good, values[good])
        notes.append(f"{int(inner.sum())} missing value(s) filled by linear interpolation")
    return out


def as_series(obj, name: str | None = None, max_points: int = DEFAULT_MAX_POINTS) -> Series:
    """Turn a :class:`Series`, a pandas Series (date index optional) or an array into a clean Series.

    Missing values are interpolated (and reported); leading and trailing gaps are dropped.
    """
    if isinstance(obj, Series):
        return obj
    if isinstance(obj, pd.Series):
        if isinstance(obj.index, pd.DatetimeIndex):
            frame = pd.DataFrame({"date": obj.index, "value": obj.to_numpy(dtype=float, na_value=np.nan)})
            return clean_dated(frame["date"], frame["value"], name or str(obj.name or "value"), max_points)
        obj = obj.to_numpy(dtype=float, na_value=np.nan)
    values = np.asarray(obj, dtype=float).ravel()
    notes: list[str] = []
    if values.size > max_points:
        notes.append(f"series has {values.size:,} points; kept the last {max_points:,}")
        values = values[-max_points:]
    values = _trim_and_fill(values, notes)
    return Series(values, None, None, name or "value", notes)


def spikes(values: np.ndarray, factor: float = SPIKE_FACTOR) -> np.ndarray:
    """Indices of isolated spikes: points more than ``factor`` times the median absolute step away
    from both neighbours, in the same direction (a typing error such as three extra zeros, or a
    sensor fault). A level shift moves away from one neighbour only; a series that mostly does not
    move (rain on dry days, intermittent sales) has no typical step and is not checked."""
    y = np.asarray(values, dtype=float)
    if y.size < 5:
        return np.zeros(0, dtype=int)
    d = np.diff(y)
    step = float(np.median(np.abs(d[np.isfinite(d)]))) if np.isfinite(d).any() else 0.0
    if not step > 0:
        return np.zeros(0, dtype=int)
    up, down = d[:-1], -d[1:]  # into point i+1 and out of it
    big = factor * step
    hit = ((up > big) & (down > big)) | ((up < -big) & (down < -big))
    return np.flatnonzero(hit) + 1


def spike_note(values: np.ndarray, dates: pd.DatetimeIndex | None = None) -> str | None:
    """A warning naming the isolated spikes of ``values`` (see :func:`spikes`), or None."""
    idx = spikes(values)
    if idx.size == 0:
        return None

    def at(i: int) -> str:
        if dates is None:
            return f"point {i + 1}"
        d = dates[i]
        return str(d.date()) if d == d.normalize() else str(d)

    where = ", ".join(f"{values[i]:g} at {at(i)}" for i in idx[:3])
    more = f" and {idx.size - 3} more" if idx.size > 3 else ""
    return (
        f"{idx.size} value(s) far outside the rest ({where}{more}): over {SPIKE_FACTOR:g} times the "
        "typical step away from both neighbours; if they are errors, fix them in the file, as "
        "they distort every forecast and score"
    )


def _trim_and_fill(values: np.ndarray, notes: list[str]) -> np.ndarray:
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size == 0:
        raise ValueError("the series has no numeric values")
    if finite[0] > 0 or finite[-1] < values.size - 1:
        dropped = finite[0] + values.size - 1 - finite[-1]
        notes.append(f"{int(dropped)} missing value(s) at the start or end dropped")
        values = values[finite[0] : finite[-1] + 1]
    values = _interpolate(values, "series", notes)
    if values.size < MIN_POINTS:
        raise ValueError(f"the series has only {values.size} usable point(s); at least {MIN_POINTS} needed")
    return values


def infer_freq(dates: pd.DatetimeIndex) -> str:
    """The frequency alias of sorted unique dates: pandas' guess, else one from the median spacing."""
    if len(dates) >= 3:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            guess = pd.infer_freq(dates)
        if guess:
            return guess
    if len(dates) < 2:
        raise ValueError("need at least two distinct dates to tell the frequency")
    step = float(np.median(np.diff(dates.as_unit("s").asi8)))  # seconds
    for lo, hi, alias, _ in _SPACINGS:
        if lo <= step <= hi:
            if alias == "D":
                weekend = (dates.day_of_week >= 5).any()
                return "D" if weekend else "B"
            if alias == "W":
                return "W-" + dates[0].day_name()[:3].upper()
            if alias in ("M", "Q", "Y"):
                starts = (dates.day == 1).mean() > 0.5
                return alias + ("S" if starts else "E")
            return alias
    return f"{max(1, round(step))}s"


_FREQ_WORDS = {  # pandas frequency codes as a person says them ("ME" -> "month-end")
    "D": ("daily", "day"),
    "B": ("business-day", "business day"),
    "C": ("business-day", "business day"),
    "W": ("weekly", "week"),
    "SM": ("half-monthly", "half-month"),
    "SMS": ("half-monthly", "half-month"),
    "M": ("month-end", "month"),
    "ME": ("month-end", "month"),
    "MS": ("month-start", "month"),
    "BM": ("month-end", "month"),
    "BME": ("month-end", "month"),
    "BMS": ("month-start", "month"),
    "Q": ("quarter-end", "quarter"),
    "QE": ("quarter-end", "quarter"),
    "QS": ("quarter-start", "quarter"),
    "BQ": ("quarter-end", "quarter"),
    "BQE": ("quarter-end", "quarter"),
    "BQS": ("quarter-start", "quarter"),
    "Y": ("year-end", "year"),
    "A": ("year-end", "year"),
    "YE": ("year-end", "year"),
    "YS": ("year-start", "year"),
    "AS": ("year-start", "year"),
    "BY": ("year-end", "year"),
    "BYE": ("year-end", "year"),
    "BYS": ("year-start", "year"),
    "H": ("hourly", "hour"),
    "BH": ("hourly", "hour"),
    "T": ("minute", "minute"),
    "MIN": ("minute", "minute"),
    "S": ("second", "second"),
    "L": ("millisecond", "millisecond"),
    "MS_": ("millisecond", "millisecond"),
    "US": ("microsecond", "microsecond"),
    "U": ("microsecond", "microsecond"),
    "N": ("nanosecond", "nanosecond"),
    "NS": ("nanosecond", "nanosecond"),
}
_WEEKDAYS = {"MON": "Monday", "TUE": "Tuesday", "WED": "Wednesday", "THU": "Thursday", "FRI": "Friday"}
_WEEKDAYS |= {"SAT": "Saturday", "SUN": "Sunday"}


def freq_words(freq: str | None) -> str:
    """A pandas frequency code in words for notes: "D" -> "daily", "ME" -> "month-end",
    "W-SUN" -> "weekly (weeks ending Sunday)", "30min" -> "30-minute", "2D" -> "2-day"."""
    m = re.fullmatch(r"(\d*)([A-Za-z]+)(?:-([A-Za-z]{3}))?", str(freq or "").strip())
    if m is None:
        return f"'{freq}'"
    count, code, anchor = m.group(1), m.group(2), (m.group(3) or "").upper()
    # "ms" is milliseconds, "MS" month start: only the lower case tells them apart
    key = "MS_" if code == "ms" else code.upper()
    if key not in _FREQ_WORDS:
        return f"'{freq}'"
    adjective, unit = _FREQ_WORDS[key]
    if count and int(count) != 1:
        words = f"{int(count)}-{unit.replace(' ', '-')}"
    elif unit in ("minute", "second", "millisecond", "microsecond", "nanosecond"):
        words = f"1-{unit}" if count else f"{unit}-by-{unit}"
    else:
        words = adjective
    if anchor in _WEEKDAYS:
        words += f" (weeks ending {_WEEKDAYS[anchor]})"
    return words


def season_for(freq: str | None, dates: pd.DatetimeIndex | None = None) -> int:
    """The usual season length for a frequency (1 when unknown or undated)."""
    if freq is None:
        return 1
    code = freq.split("-")[0].upper()
    if code in ("B", "C"):
        return 5
    if dates is not None and len(dates) >= 2:
        step = float(np.median(np.diff(dates.as_unit("s").asi8)))
        for lo, hi, _, season in _SPACINGS:
            if lo <= step <= hi:
                return season
    return 1


def detect_season(values: np.ndarray, max_lag: int = 400) -> int:
    """Season length of an undated series from its autocorrelation (1 if none stands out).

    Looks at the ACF of the first differences for the highest local peak at lag >= 2 that is
    clearly above noise (> 0.3 and > 3/sqrt(n)).
    """
    y = np.diff(np.asarray(values, dtype=float))
    n = y.size
    top = min(max_lag, n // 3)
    peak = float(np.max(np.abs(y))) if n else 0.0
    if top < 4 or peak == 0.0 or not np.isfinite(peak):
        return 1
    y = y / peak  # values near 1e300: the squares below must not overflow
    y = y - y.mean()
    denom = float(np.dot(y, y))
    if denom == 0.0:  # equal steps (a straight line): no season, and 0/0 warned on the terminal
        return 1
    acf = np.array([np.dot(y[:-k], y[k:]) / denom for k in range(1, top + 1)])  # acf[k-1] = lag k
    best, best_lag = 0.0, 1
    for lag in range(2, top):
        a = acf[lag - 1]
        if a > acf[lag - 2] and a >= acf[lag] and a > best:
            best, best_lag = a, lag
    return best_lag if best > max(0.3, 3.0 / np.sqrt(n)) else 1


def clean_dated(dates, values, name: str, max_points: int = DEFAULT_MAX_POINTS) -> Series:
    """Sort, merge duplicated dates, cap the length, put on a regular grid and fill the gaps."""
    notes: list[str] = []
    frame = pd.DataFrame({"date": pd.DatetimeIndex(dates), "value": np.asarray(values, dtype=float)})
    if not frame["date"].is_monotonic_increasing:
        frame = frame.sort_values("date", kind="stable")
        notes.append("rows were not in date order; sorted by date")
    n_dup = int(frame["date"].duplicated().sum())
    if n_dup:
        frame = frame.groupby("date", as_index=False, sort=True)["value"].mean()
        notes.append(f"{n_dup} duplicated date(s) merged by averaging their values")
    if len(frame) > max_points:
        notes.append(f"file has {len(frame):,} dated rows; kept the most recent {max_points:,}")
        frame = frame.iloc[-max_points:]
    idx = pd.DatetimeIndex(frame["date"])
    freq = infer_freq(idx)
    series = pd.Series(frame["value"].to_numpy(), index=idx)
    regular = pd.date_range(idx[0], idx[-1], freq=freq)
    if len(regular) != len(idx) or not regular.equals(idx):
        if len(regular) > 4 * max_points:
            raise ValueError(
                f"dates span {len(regular):,} {freq_words(freq)} steps but only {len(idx):,} rows are "
                "present; the file is too sparse to put on a regular grid"
            )
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            series = series.resample(freq).mean()
        moved = ~idx.isin(series.index)
        if moved.mean() > 0.5:  # mid-month stamps on a month-end grid, 29 February on year ends …
            first = int(np.flatnonzero(moved)[0])
            shown = series.index[series.index.searchsorted(idx[first])]
            notes.append(
                f"dates put on a regular {freq_words(freq)} grid: "
                f"e.g. {idx[first]:%Y-%m-%d} is shown as {shown:%Y-%m-%d}"
            )
        missing = int(series.isna().sum() - frame["value"].isna().sum())
        if missing > 0:
            notes.append(f"{missing} missing date(s) in the {freq_words(freq)} grid")
        if len(series) > max_points:
            series = series.iloc[-max_points:]
    vals = series.to_numpy(dtype=float)
    dates_out = pd.DatetimeIndex(series.index)
    finite = np.flatnonzero(np.isfinite(vals))
    if finite.size == 0:
        raise ValueError(f"column '{name}' has no numeric values")
    lo, hi = finite[0], finite[-1] + 1
    if lo > 0 or hi < vals.size:
        notes.append(f"{int(lo + vals.size - hi)} missing value(s) at the start or end dropped")
    vals, dates_out = vals[lo:hi], dates_out[lo:hi]
    vals = _interpolate(vals, f"column '{name}'", notes)
    if vals.size < MIN_POINTS:
        raise ValueError(
            f"column '{name}' has only {vals.size} usable point(s); at least {MIN_POINTS} needed"
        )
    dates_out = pd.DatetimeIndex(dates_out, freq=None)
    return Series(vals, dates_out, freq, name, notes)
