"""Notes about the date grid say the frequency in words ("daily", "month-end"), not pandas codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.forecast.series import clean_dated


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("D", "daily"),
        ("B", "business-day"),
        ("ME", "month-end"),
        ("MS", "month-start"),
        ("W-SUN", "weekly (weeks ending Sunday)"),
        ("QS-OCT", "quarter-start"),
        ("YE-DEC", "year-end"),
        ("h", "hourly"),
        ("30min", "30-minute"),
        ("2D", "2-day"),
        ("ms", "millisecond-by-millisecond"),
    ],
)
def test_frequency_codes_in_words(code, words):
    from engine.forecast.series import freq_words

    assert freq_words(code) == words


def test_gaps_and_moved_dates_are_said_in_words():
    days = pd.date_range("2021-01-01", periods=30, freq="D").delete([5, 6, 20])
    s = clean_dated(days, np.arange(len(days), dtype=float), "v")
    assert "3 missing date(s) in the daily grid" in s.warnings
    months = pd.DatetimeIndex([f"2018-{m:02d}-15" for m in range(1, 13)])
    s = clean_dated(months, np.arange(12, dtype=float), "v")
    note = next(w for w in s.warnings if w.startswith("dates put on"))
    assert note.startswith("dates put on a regular month-end grid") and "'" not in note
