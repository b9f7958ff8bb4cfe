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
