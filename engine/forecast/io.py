"""Read a series from a CSV / TSV / plain-text file.

The delimiter and header are sniffed; a date column is found by name or by parsing (a numeric
``year`` column counts); the value column is chosen (``column`` by name or 0-based position, or
the first numeric column, naming the others in a warning). Text in the value column is refused
with the offending row, unless it is a few stray entries, which become gaps. Everything that is
changed on the way (sorted, merged, interpolated, capped) is listed in ``Series.warnings``.
"""

from __future__ import annotations

import codecs
import csv
import re
import warnings as _warnings
from pathlib import Path

import numpy as np
import pandas as pd

from engine.forecast.series import DEFAULT_MAX_POINTS, Series, _trim_and_fill, clean_dated, spike_note
from engine.text.decode import SNIFF_BYTES, sniff_encoding

MAX_FILE_BYTES = 512 * 1024 * 1024  # larger files are refused before reading
NUMERIC_SHARE = 0.9  # a column is numeric when at least this share of its entries parse as numbers


def numeric_enough(text: np.ndarray) -> bool:
    """Whether few enough of a column's entries are text (``text``: a flag per entry). Counted,
    not as a share: 1 - 0.9 is 0.0999…, so 9 numbers in 10 entries failed."""
    return int(np.sum(text)) <= round((1 - NUMERIC_SHARE) * len(text), 9)


_DATE_NAMES = re.compile(
    r"date|time|year|month|day|period|timestamp|^ds$|^t$|^(yr|jahr|ann[eé]e|a[nñ]o|anno|jaar|datum|fecha|"
    r"monat|mois|mes|tag|jour|d[ií]a|epoch|unix|ts)$",
    re.IGNORECASE,
)
# names that are a date or a date part and nothing else: only these hold Unix time, and only these
# are passed over when the value column is chosen ("revenue_per_day", "update_count" are values)
_DATE_PART_NAMES = re.compile(
    r"^(date|datetime|time|timestamp|ts|epoch|unix|unix_?time|year|yr|month|mon|day|week|quarter|qtr|"
    r"period|ds|t|jahr|ann[eé]e|a[nñ]o|anno|jaar|datum|fecha|monat|mois|mes|tag|jour|d[ií]a)$",
    re.IGNORECASE,
)
_MONTH_NAMES = re.compile(r"^(month|mon|mo|m|monat|mois|mes|maand|mese)$", re.IGNORECASE)
_QUARTER_NAMES = re.compile(r"^(quarter|qtr|q|quartal|trimestre)$", re.IGNORECASE)
EPOCH_SECONDS = (1e8, 4.2e9)  # 1973 … 2103 as seconds since 1970 (×1000: milliseconds)
_NA_TOKENS = {"", "na", "n/a", "nan", "null", "none", "-", "?", "missing"}


def _sniff(path: Path) -> tuple[str, bool, str]:
    """(separator, has_header, encoding) from the first 64 KB. The encoding was fixed to UTF-8:
    UTF-16 files failed with NULs in the column names and Latin-1/Windows-1252 ones read as
    mojibake; it is now found as Summarize finds it (engine.text.decode), binary data refused."""
    with path.open("rb") as fh:
        raw = fh.read(SNIFF_BYTES)
    complete = len(raw) < SNIFF_BYTES
    encoding = sniff_encoding(raw, complete, path.name)
    head = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=complete)
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{path.name} is empty")
    sample = "\n".join(lines[:50])
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = lines[0]
        sep = next((d for d in ("\t", ",", ";", "|") if d in first), r"\s+")
    if (
        sep != r"\s+"
        and all(len(ln.split(sep)) == 1 for ln in lines[:50])
        and re.search(r"\S\s+\S", lines[0])
    ):
        sep = r"\s+"
    fields = re.split(sep, lines[0].strip()) if sep == r"\s+" else lines[0].split(sep)
    has_header = not all(_is_number(f) for f in fields)
    return sep, has_header, encoding


def _after_ascii(path: Path) -> str:
    """The encoding of a file whose first 64 KB read as UTF-8 but a later byte does not: Windows-1252
    when that start is plain ASCII (an old export), else UTF-8, with the stray bytes replaced."""
    with path.open("rb") as fh:
        return "cp1252" if fh.read(SNIFF_BYTES).isascii() else "utf-8"


def _is_number(text: str) -> bool:
    try:
        float(text.strip().strip('"'))
        return True
    except ValueError:
        return False


def read_table(path) -> pd.DataFrame:
    """The file as a DataFrame of strings/numbers; clear errors for missing, empty or huge files."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a folder, not a file")
    size = p.stat().st_size
    if size == 0:
        raise ValueError(f"{p.name} is empty")
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"{p.name} is {size / 2**20:,.0f} MiB; files over {MAX_FILE_BYTES // 2**20} MiB are refused"
        )
    sep, has_header, encoding = _sniff(p)
    options = dict(
        sep=sep,
        header=0 if has_header else None,
        skipinitialspace=True,
        low_memory=False,
        # a semicolon file's numbers may use decimal commas and thousands dots: read as text
        dtype=str if sep == ";" else None,
    )
    try:
        try:
            # strict, so that a Latin-1 byte after the first 64 KB of ASCII is not read as U+FFFD
            errors = "strict" if encoding == "utf-8" else "replace"
            df = pd.read_csv(p, encoding=encoding, encoding_errors=errors, **options)
        except UnicodeDecodeError:  # read again, only for such a file
            df = pd.read_csv(p, encoding=_after_ascii(p), encoding_errors="replace", **options)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{p.name} has no data") from exc
    except pd.errors.ParserError as exc:
        raise ValueError(f"{p.name} could not be parsed as a table: {exc}") from exc
    if not has_header:
        df.columns = ["value"] if df.shape[1] == 1 else [f"col{i}" for i in range(df.shape[1])]
    df.columns = [str(c).replace("\x00", "").strip() for c in df.columns]  # NULs cut messages short
    if len(df) == 0:
        raise ValueError(f"{p.name} has a header but no data rows")
    return df


_CURRENCY = r"[$€£¥₹]|USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY"
# a sign, then a currency symbol or code, or a percent or currency sign after the number
_UNITS = re.compile(rf"^([-+]?)\s*(?:{_CURRENCY})\s*|\s*(?:%|{_CURRENCY})$", re.IGNORECASE)
_PARENS = re.compile(r"^\((.*)\)$")  # (1,200.50): a negative amount, as accountants write it
_GROUP_SPACE = re.compile(r"(?<=\d)[\s\u00a0\u202f'](?=\d{3}(?!\d))")  # 1 000 000, 1'000
_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?")  # 1,234 or 1,234,567.5 (not 0,992)
_ONLY_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}((,\d{3}){2,}(\.\d+)?|,\d{3}\.\d+)")  # 1,234,567 / 1,234.5
_THOUSANDS_DOT = re.compile(r"[-+]?[1-9]\d{0,2}(\.\d{3})+(,\d+)?")  # 1.234,5 (with decimal commas)
# entries that can only be decimal commas: 0,5  12,75  1,5  1.234,5 (a comma not before 3 digits)
_DECIMAL_COMMA = re.compile(r"[-+]?(0,\d+|\d+,(\d{1,2}|\d{4,})|[1-9]\d{0,2}(\.\d{3})+,\d+)")


def _strip_format(raw: pd.Series) -> pd.Series:
    """Signs, currency symbols and codes, accountants' parentheses and digit-group spaces removed."""
    text = raw.str.replace(_PARENS, r"-\1", regex=True).str.strip()
    text = text.str.replace(_UNITS, r"\1", regex=True).str.strip()
    return text.str.replace(_GROUP_SPACE, "", regex=True)


def _uses_decimal_comma(text: pd.Series, semicolons: bool) -> bool:
    """Whether a column writes decimals with a comma: some entry can only be read that way (0,99;
    12,5; 1.234,5), or, in a semicolon file, some entry has a comma between digits."""
    decimal = int(text.str.fullmatch(_DECIMAL_COMMA).sum())
    if semicolons:
        return bool(decimal or text.str.contains(r"\d,\d", regex=True).any())
    # a comma or tab file: "1,234" reads either way; entries that read only one way decide, and
    # "1,234,567" or "1,234.5" (only thousands) outvote a stray "0,5"
    return decimal > int(text.str.fullmatch(_ONLY_THOUSANDS).sum())


def _thousands_dots(text: pd.Series) -> bool:
    """In a semicolon file without decimal commas: the dots are thousands separators when every
    dotted entry is grouped in threes (1.003, 12.500.000) and some undotted entry is a whole number
    of three or more digits (950 beside 1.003 is a series near a thousand, not a jump of 1000×)."""
    dotted = text.str.contains(".", regex=False)
    if not dotted.any() or not text[dotted].str.fullmatch(_THOUSANDS_DOT).all():
        return False
    return bool(text[~dotted].str.fullmatch(r"[-+]?[1-9]\d{2,}").any())


def _numeric(
    col: pd.Series, decimal_comma: bool, notes: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(values with NaN for non-numbers, mask of entries that were text rather than blank/NA).

    Numbers written with a percent or currency sign, a currency code, accountants' parentheses or
    thousands separators ("12%", "-$1,234", "(1,200.50)", "1 000") are read as plain numbers, and
    ``notes`` says so. Decimal commas ("0,992", "1.234,5") are recognised per column: in any file
    when some entry can only be read that way, and in a semicolon file (``decimal_comma``) whenever
    a comma stands between digits; the whole column is then read with a comma for the decimal
    point and dots (or spaces) between thousands — "1.003" there is 1003."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        return _said_infinite(col.to_numpy(dtype=float, na_value=np.nan), col, notes), np.zeros(
            len(col), bool
        )
    present = col.notna().to_numpy()
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, copy=True)
    failed = np.isnan(values) & present
    if not failed.any() and not decimal_comma:
        return _said_infinite(values, col, notes), failed
    # decide the column's decimal mark from all of its text (a semicolon file's columns are text)
    strings = col[present].astype(str).str.strip().str.strip('"')
    stripped = _strip_format(strings)
    comma = _uses_decimal_comma(stripped, decimal_comma)
    dots = not comma and decimal_comma and _thousands_dots(stripped)
    if not (failed.any() or comma or dots):
        return _said_infinite(values, col, notes), failed
    redo = present.copy() if comma or dots else failed  # a decimal mark decided: every entry again
    raw = col[redo].astype(str).str.strip().str.strip('"')
    text = _strip_format(raw)
    if comma or dots:
        dotted = text.str.fullmatch(_THOUSANDS_DOT)
        text = text.where(~dotted, text.str.replace(".", "", regex=False))
        text = text.str.replace(",", ".", regex=False)
    else:
        text = text.where(~text.str.fullmatch(_THOUSANDS), text.str.replace(",", "", regex=False))
    parsed = pd.to_numeric(text, errors="coerce")
    values[redo] = parsed.to_numpy(dtype=float)
    # written with a sign or separators (a plain decimal comma needs no note), and now read
    plain = raw.str.fullmatch(r"[-+]?\d+(,\d+)?") if comma or dots else raw.str.fullmatch(r"[-+]?\d+(\.\d+)?")
    formatted = (text != raw) & ~plain & parsed.notna()
    if notes is not None and formatted.any():
        example, value = raw[formatted].iloc[0], parsed[formatted].iloc[0]
        notes.append(
            f"{int(formatted.sum())} value(s) written with a percent or currency sign or thousands "
            f"separators read as plain numbers (e.g. {example!r} as {value:g})"
        )
    if notes is not None and comma and not decimal_comma:
        example = stripped[stripped.str.contains(",", regex=False)]
        shown = example.iloc[0] if len(example) else strings.iloc[0]
        notes.append(f"'{col.name}' is read with decimal commas (e.g. {shown!r})")
    na = raw.str.lower().isin(_NA_TOKENS).to_numpy()
    failed = np.isnan(values) & present
    failed[np.flatnonzero(redo)[na]] = False
    return _said_infinite(values, col, notes), failed


def _said_infinite(values: np.ndarray, col: pd.Series, notes: list[str] | None) -> np.ndarray:
    """Infinite entries ("inf", 1e999) are missing values, and ``notes`` says so by name."""
    bad = np.isinf(values)
    if bad.any():
        if notes is not None:
            first = int(np.flatnonzero(bad)[0])
            notes.append(
                f"{int(bad.sum())} infinite or overflowing value(s) in '{col.name}' treated as missing "
                f"(e.g. {str(col.iloc[first]).strip()!r} on data row {first + 1})"
            )
        values = np.where(bad, np.nan, values)
    return values


def _to_datetime(values: pd.Series, dayfirst: bool, fmt: str | None = None) -> tuple[pd.Series, bool]:
    """(parsed dates with NaT for the unreadable, whether they had to be read in UTC: pandas refuses
    a column whose UTC offset changes, as local times do at daylight saving)."""
    kw = {"format": fmt} if fmt else {}
    try:
        return pd.to_datetime(values, errors="coerce", dayfirst=dayfirst, **kw), False
    except (ValueError, TypeError):
        return pd.to_datetime(values, errors="coerce", dayfirst=dayfirst, utc=True, **kw), True


def _regularity(dates) -> float:
    """How evenly dates fill their span: distinct dates / (span / median step + 1), at most 1. Dates
    read month first from a day-first file (1–12 January each year for a monthly series) score low."""
    v = np.unique(pd.DatetimeIndex(dates).dropna().asi8)
    if v.size < 3:
        return 0.0
    step = float(np.median(np.diff(v)))
    return min(1.0, v.size / ((v[-1] - v[0]) / step + 1)) if step > 0 else 0.0


def _parse_dates(col: pd.Series, name: str, notes: list[str] | None = None) -> pd.DatetimeIndex | None:
    """Dates from a column, or None when it does not look like dates. Text dates are read month
    first (pandas' default) and day first; day first is kept when it reads more of them or spaces
    them more evenly (31/12/2020, or 01/02/2020, 01/03/2020 … for a monthly series), and said in
    ``notes``; so is reading dates with several UTC offsets in UTC. Dates with one offset keep the
    times as written."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return pd.DatetimeIndex(col)
    probe = col.dropna().head(200).astype(str).str.strip()
    probe = probe[probe != ""]
    if probe.empty:
        return None
    nums = pd.to_numeric(probe, errors="coerce")
    if nums.notna().all():
        # numbers are dates only in a column named like a date: years, or seconds or milliseconds
        # since 1970 (Unix time)
        if not _DATE_NAMES.search(name) or not (nums % 1 == 0).all():
            return None
        whole = pd.to_numeric(col, errors="coerce")
        if nums.between(1000, 2999).all():
            return pd.DatetimeIndex(
                pd.to_datetime(whole.astype("Int64").astype(str), format="%Y", errors="coerce")
            )
        lo, hi = EPOCH_SECONDS
        for unit, scale in (("s", 1), ("ms", 1000)) if _DATE_PART_NAMES.match(name.strip()) else ():
            if nums.between(lo * scale, hi * scale).all():
                if notes is not None:
                    notes.append(f"'{name}' read as Unix time ({unit} since 1970, UTC)")
                return pd.DatetimeIndex(pd.to_datetime(whole, unit=unit, errors="coerce"))
        return None
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        ranked = []
        for dayfirst in (False, True):
            got = _to_datetime(probe, dayfirst)[0]
            share = float(got.notna().mean())
            ranked.append((share >= NUMERIC_SHARE, round(_regularity(got), 2), share, not dayfirst))
        best = max(ranked)
        if not best[0]:
            return None
        dayfirst = not best[3]
        parsed, utc = _to_datetime(col, dayfirst)
        if not numeric_enough(parsed.isna().to_numpy()):  # first-row format did not fit the rest
            parsed, utc = _to_datetime(col.astype(str).str.strip(), dayfirst, "mixed")
    idx = pd.DatetimeIndex(parsed)
    if idx.tz is not None:  # one offset: the times as written; several: in UTC, where they are regular
        idx = idx.tz_convert(None) if utc else idx.tz_localize(None)
    if notes is not None and dayfirst:
        first = idx[~idx.isna()][0]
        notes.append(f"dates in '{name}' read day first ({probe.iloc[0]!r} is {first:%d %B %Y})")
    if notes is not None and utc:
        notes.append(f"dates in '{name}' have more than one UTC offset (daylight saving?); shown in UTC")
    return idx


def _pick_column(df: pd.DataFrame, column, skip: str | None) -> str:
    names = list(df.columns)
    if column is None:
        return ""
    col = str(column)
    if col in names:
        return col
    lower = {n.lower(): n for n in names}
    if col.lower() in lower:
        return lower[col.lower()]
    if col.lstrip("-").isdigit() and -len(names) <= int(col) < len(names):
        return names[int(col)]
    raise ValueError(f"no column {col!r}; columns are: {', '.join(names)}")


_INDEX_NAMES = re.compile(r"^(Unnamed: 0)?$")  # the first header field that pandas' to_csv leaves empty
INDEX_YEARS = (1500, 2200)  # whole numbers here, one apart, read as the years of an unnamed index


def _unnamed_index(df: pd.DataFrame) -> str | None:
    """The first column when its header is empty (read as 'Unnamed: 0'), as in a file written by
    pandas' ``Series.to_csv()`` / ``DataFrame.to_csv()``: that column is the row index, not data."""
    if df.shape[1] > 1 and _INDEX_NAMES.match(str(df.columns[0])):
        return df.columns[0]
    return None


def _index_dates(col: pd.Series, name: str, notes: list[str]) -> pd.DatetimeIndex | None:
    """Dates from an unnamed index column: dates as text ("Jan 1980", "1980-01-31"), or years (whole
    numbers in ``INDEX_YEARS``, each one more than the last); None for a row counter or labels."""
    nums = pd.to_numeric(col, errors="coerce")
    if nums.notna().all():
        v = nums.to_numpy(dtype=float)
        lo, hi = INDEX_YEARS
        if v.size >= 2 and (v % 1 == 0).all() and lo <= v.min() and v.max() <= hi and (np.diff(v) == 1).all():
            notes.append(
                f"the unnamed first column (the index pandas writes) read as years ({v[0]:.0f} … {v[-1]:.0f})"
            )
            return pd.DatetimeIndex(pd.to_datetime(nums.astype("Int64").astype(str), format="%Y"))
        return None
    return _parse_dates(col, name, notes)


# names of a row number or an id column
_COUNTER_NAMES = re.compile(
    r"^(#|n|no|nr|num|idx|index|row|rows|row[ _]?(id|no|nr|num|number|index)|id|.*[_ ]id|seq|serial|obs|"
    r"record|Unnamed: \d+(\.\d+)?)$",
    re.IGNORECASE,
)


def _counts_up(name: str, values: np.ndarray) -> bool:
    """Whether a column is a row number or an id, not a series to forecast: it rises by the same
    step on every row, and either counts rows (0, 1, 2 … or 1, 2, 3 …) or is named like an id or a
    row number ("id", "row", "customer_id", "Unnamed: 0"). A steady trend such as 200, 201, 202 …
    in a column named "sales" is kept as values."""
    if values.size < 3 or not np.isfinite(values).all():
        return False
    steps = np.diff(values)
    if not (steps[0] > 0 and np.allclose(steps, steps[0], rtol=1e-9, atol=0)):
        return False
    rows = values[0] in (0, 1) and steps[0] == 1
    return bool(rows or _COUNTER_NAMES.match(str(name).strip()))


def _year_with_part(
    df: pd.DataFrame, dates: pd.DatetimeIndex, date_name: str, value: str, notes: list[str]
) -> tuple[pd.DatetimeIndex, str | None]:
    """Years in one column and the month (1–12) or quarter (1–4) in another, as in a table of
    ``year, month, sales``: the dates are built from both. Returns (dates, the part's column)."""
    if not (dates.dropna() == dates.dropna().to_period("Y").to_timestamp()).all():
        return dates, None  # not whole years
    for name in df.columns:
        if name in (date_name, value):
            continue
        for pattern, top, step in ((_MONTH_NAMES, 12, 1), (_QUARTER_NAMES, 4, 3)):
            if not pattern.match(str(name)):
                continue
            part = pd.to_numeric(df[name], errors="coerce")
            if part.notna().all() and (part % 1 == 0).all() and part.between(1, top).all():
                months = (part.to_numpy(dtype=int) - 1) * step + 1
                frame = pd.DataFrame({"year": pd.DatetimeIndex(dates).year, "month": months, "day": 1})
                built = pd.DatetimeIndex(pd.to_datetime(frame, errors="coerce"))
                notes.append(f"dates built from '{date_name}' and '{name}'")
                return built, name
    return dates, None


def series_from_frame(
    df: pd.DataFrame,
    column=None,
    date_column=None,
    max_points: int = DEFAULT_MAX_POINTS,
    decimal_comma: bool = False,
) -> Series:
    """Choose the date and value columns of a table and clean the series (see module docstring)."""
    notes: list[str] = []
    dates = None
    date_name = None
    index = _unnamed_index(df)
    if index is not None and index == _pick_column(df, column, None):
        index = None  # chosen as the values: read as such
    if date_column is not None:
        date_name = _pick_column(df, date_column, None)
        if date_name == index:
            dates = _index_dates(df[date_name], date_name, notes)
        else:
            dates = _parse_dates(df[date_name], date_name, notes)
        if dates is None:
            raise ValueError(f"column '{date_name}' does not hold dates")
    else:
        if index is not None:
            dates = _index_dates(df[index], index, notes)
            date_name = index if dates is not None else None
        for name in df.columns if dates is None else ():
            if name in (_pick_column(df, column, None), index):
                continue
            parsed = _parse_dates(df[name], name, notes)
            if parsed is not None:
                dates, date_name = parsed, name
                break
    date_parts = {date_name}
    if index is not None and index != date_name:
        date_parts.add(index)  # a row counter or labels: neither dates nor values
        vals, txt = _numeric(df[index], decimal_comma)
        if numeric_enough(txt) and np.isfinite(vals).any():
            order = (
                "the rows are taken in file order" if dates is None else f"the dates are from '{date_name}'"
            )
            notes.append(f"the unnamed first column (the row index pandas writes) was left out; {order}")
    if dates is not None:
        dates, part = _year_with_part(df, dates, date_name, _pick_column(df, column, None), notes)
        date_parts.add(part)
    value_name = _pick_column(df, column, date_name)
    if value_name:
        values, text = _numeric(df[value_name], decimal_comma, notes)
    else:
        candidates = []
        # columns named like a date part (day, month, year …) are values only when nothing else is
        names = [n for n in df.columns if n not in date_parts]
        names = [n for n in names if not _DATE_PART_NAMES.match(str(n).strip())] + [
            n for n in names if _DATE_PART_NAMES.match(str(n).strip())
        ]
        nearest = None  # the column closest to numeric, to name what stopped it
        for name in names:
            said: list[str] = []
            vals, txt = _numeric(df[name], decimal_comma, said)
            if numeric_enough(txt) and np.isfinite(vals).any():
                candidates.append((name, vals, txt, said))
            elif np.isfinite(vals).any() and (nearest is None or txt.mean() < nearest[1].mean()):
                nearest = (name, txt)
        if not candidates:
            shown = ", ".join(f"'{c}'" for c in df.columns if c not in date_parts)
            why = ""
            if nearest is not None:
                name, txt = nearest
                first = int(np.flatnonzero(txt)[0])
                why = (
                    f"; '{name}' has {int(txt.sum())} of {len(txt)} entries that are not numbers "
                    f"(e.g. {str(df[name].iloc[first]).strip()!r} on data row {first + 1}), and at least "
                    f"{NUMERIC_SHARE:.0%} must be"
                )
            raise ValueError(
                f"no numeric column to forecast (columns: {shown}); the values must be numbers{why}"
            )
        # a row number or id (rising by one step on every row) is forecast only when nothing else is
        counters = [c for c in candidates if _counts_up(c[0], c[1])]
        if counters and len(counters) < len(candidates):
            if candidates[0] is counters[0]:
                notes.append(
                    f"'{counters[0][0]}' rises by the same step on every row (a row number or id?), so it "
                    "is not forecast unless chosen"
                )
            candidates = [c for c in candidates if not any(c is k for k in counters)] + counters
        value_name, values, text, said = candidates[0]
        notes.extend(said)
        if len(candidates) > 1:
            others = ", ".join(c[0] for c in candidates[1:])
            notes.append(
                f"forecasting column '{value_name}'; other numeric columns: {others} (any can be chosen)"
            )
    if text.any():
        first = int(np.flatnonzero(text)[0])
        example = str(df[value_name].iloc[first]).strip()
        where = f"e.g. {example!r} on data row {first + 1}"
        if not numeric_enough(text):
            raise ValueError(f"column '{value_name}' is not numeric ({where}); choose a numeric column")
        notes.append(
            f"{int(text.sum())} non-numeric entr(y/ies) in '{value_name}' treated as missing ({where})"
        )
    if dates is not None:
        keep = ~dates.isna()
        if (~keep).any():
            notes.append(f"{int((~keep).sum())} row(s) with unreadable dates in '{date_name}' dropped")
        series = clean_dated(dates[keep], values[keep], value_name, max_points)
    else:
        if values.size > max_points:
            notes.append(f"file has {values.size:,} rows; kept the last {max_points:,}")
            values = values[-max_points:]
        series = Series(_trim_and_fill(values, notes), None, None, value_name, [])
    series.warnings = notes + series.warnings
    spike = spike_note(series.values, series.dates)
    if spike:
        series.warnings.append(spike)
    return series


def decimal_comma(path) -> bool:
    """Whether numbers in ``path`` may use a decimal comma: its fields are separated by semicolons."""
    return _sniff(Path(path))[0] == ";"


def read_series(path, column=None, date_column=None, max_points: int = DEFAULT_MAX_POINTS) -> Series:
    """Read ``path`` (CSV, TSV, semicolon, whitespace or one number per line) into a clean Series."""
    if int(max_points) != max_points or max_points < 1:
        raise ValueError(f"the number of points to keep must be a positive integer, not {max_points}")
    df = read_table(path)
    return series_from_frame(df, column, date_column, max_points, decimal_comma=decimal_comma(path))
