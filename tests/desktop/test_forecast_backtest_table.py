"""The backtest table grows with its rows: a backtest of every method shows without scrolling."""

from desktop.forecast_ops import METHODS
from desktop.widgets.forecast_metrics import MAX_ROWS, ForecastMetrics


def _rows(n):
    return [
        {"method": f"m{i}", "mase": 1.0 + i, "smape": 10.0, "mae": 2.0, "cov80": 0.8, "seconds": 0.1}
        for i in range(n)
    ]


def test_every_method_fits_without_scrolling_and_more_rows_scroll(qtbot):
    table = ForecastMetrics()
    qtbot.addWidget(table)
    table.resize(420, 100)  # the layout may offer little height: the table asks for its rows
    assert len(METHODS) <= MAX_ROWS
    table.set_rows(_rows(len(METHODS)), "m0")
    table.resize(420, table.minimumHeight())
    table.show()
    qtbot.waitExposed(table)
    assert table.verticalScrollBar().maximum() == 0
    table.set_rows(_rows(MAX_ROWS + 4), "m0")
    table.resize(420, table.maximumHeight())
    qtbot.wait(10)
    assert table.verticalScrollBar().maximum() > 0
    assert table.minimumHeight() == table.maximumHeight()


def test_a_larger_font_makes_the_table_taller(qtbot):
    from PySide6.QtGui import QFont

    table = ForecastMetrics()
    qtbot.addWidget(table)
    table.set_rows(_rows(len(METHODS)), "m0")
    before = table.minimumHeight()
    table.setFont(QFont(table.font().family(), 22))
    table.verticalHeader().setMinimumSectionSize(40)  # what a big font does to the rows
    table.set_rows(_rows(len(METHODS)), "m0")
    table.resize(420, table.minimumHeight())
    table.show()
    qtbot.waitExposed(table)
    assert table.minimumHeight() > before
    assert table.verticalScrollBar().maximum() == 0


def test_rows_that_failed_some_folds_come_after_complete_ones(tmp_path):
    """The table's order and its winner follow Backtest.best(): linear forecasts at the last fold
    only (too few points before the earlier origins) and, scored on that one, must not lead."""
    import numpy as np

    from desktop.forecast_ops import backtest_file

    t = np.arange(36)
    y = -10 + 0.9 * t + np.random.default_rng(3).normal(0, 0.3, 36)
    path = tmp_path / "trend.csv"
    path.write_text("value\n" + "\n".join(f"{v:.4f}" for v in y) + "\n")
    out = backtest_file(str(path), None, 3, "linear", season=1, methods=("naive", "drift"))
    rows = {r["method"]: r for r in out["rows"]}
    assert rows["linear"]["failed"] >= 1 and rows["linear"]["mase"] < rows["drift"]["mase"]
    assert out["rows"][-1]["method"] == "linear" and out["best"] == out["rows"][0]["method"] != "linear"


def test_a_backtest_of_auto_shows_the_candidates_it_combined_at_no_extra_fits(tmp_path):
    """The table had an auto row but none for lstm or hybrid, which auto had combined."""
    import numpy as np

    from desktop.forecast_ops import backtest_file
    from engine.forecast.auto import AutoConfig

    t = np.arange(80)
    y = 10 + np.sin(t / 3) + np.random.default_rng(1).normal(0, 0.1, 80)
    path = tmp_path / "wave.csv"
    path.write_text("value\n" + "\n".join(f"{v:.4f}" for v in y) + "\n")
    tiny = {"seeds": 1, "epochs": 3, "patience": 2, "hidden": 4, "windows_per_epoch": 32, "refit": False}
    totals = []
    out = backtest_file(
        str(path), None, 4, "auto", season=1, methods=("naive",), lstm=tiny,
        progress=lambda info: totals.append(info.get("total")),
    )  # fmt: skip
    shown = {r["method"] for r in out["rows"]}
    assert set(AutoConfig().candidates) | {"naive", "auto"} <= shown
    fits = max(t for t in totals if t)  # every fit the backtest made, outer and auto's inner origins
    assert fits == 3 * (1 + len(AutoConfig().candidates)) + AutoConfig().folds * len(AutoConfig().candidates)
