"""Forecast panel fixes from the third bug hunts (the panel's and the history's): keyboard, the
column box, notes, the legend, the theme, drops and reopening while busy, stale headers, exports, and
a reopened forecast whose file is gone. Small series and naive forecasts keep it fast; a long job is
a stand-in backtest that waits for its cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest
from desktop_testkit import WAIT_MS, recorder, wait_done
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from desktop import forecast_ops as ops
from desktop import theme
from desktop.paths import RESOURCES
from desktop.widgets.forecast_plot import ForecastPlot

SUNSPOTS = RESOURCES / "samples" / "sunspots_yearly.csv"


@pytest.fixture
def panel(panel_of):
    return panel_of("forecast")


def load(qtbot, panel, path, column=None):
    assert panel.open_file(str(path), column) is not False
    wait_done(qtbot, panel)


def forecast(qtbot, panel, method="naive", horizon=3):
    panel.method_box.setCurrentText(method)
    panel.horizon.setValue(horizon)
    panel.run_button.click()
    wait_done(qtbot, panel)
    assert panel.result is not None and not panel.message.isVisible(), panel.message_label.text()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def columns(panel) -> list[str]:
    return [panel.column_box.itemText(i) for i in range(panel.column_box.count())]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours."""

    def luminance(color: str) -> float:
        rgb = [int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def legend(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def daily_csv(tmp_path, name="daily.csv", n=40, cols=("a",)):
    days = np.datetime64("2021-01-01") + np.arange(n)
    rows = [",".join(["date", *cols])]
    rows += [",".join([str(d), *(f"{10 + i + 3 * k}" for k in range(len(cols)))]) for i, d in enumerate(days)]
    return write(tmp_path, name, "\n".join(rows) + "\n")


@pytest.fixture
def slow_backtest(monkeypatch):
    """A backtest that runs until it is cancelled (a long LSTM backtest, without the CPU)."""
    calls = {"started": 0, "cancelled": 0}

    def fake(path, column, horizon, method, lstm=None, methods=None, *, progress=None, cancel=None):
        calls["started"] += 1
        while not cancel.cancelled:
            time.sleep(0.01)
        calls["cancelled"] += 1
        return {"cancelled": True}

    monkeypatch.setattr(ops, "backtest_file", fake)
    return calls


# ---------------------------------------------------------------- 1. keyboard
def test_tab_moves_on_from_the_backtest_table(qtbot, panel):
    rows = [
        {"method": m, "mase": v, "smape": 1.0, "mae": 1.0, "cov80": 0.8, "seconds": 0.1, "failed": 0}
        for m, v in (("naive", 1.0), ("drift", 0.9), ("ets", 0.8))
    ]
    panel.metrics.set_rows(rows, "ets")
    panel.window().activateWindow()
    for key, mod in (
        (Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier),
    ):
        panel.metrics.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.metrics, timeout=WAIT_MS)
        qtbot.keyClick(panel.metrics, key, mod)
        assert QApplication.focusWidget() is not panel.metrics, key


# ---------------------------------------------------------------- 2, 3. the column box
def test_columns_with_decimal_commas_currency_and_thousands_are_offered(tmp_path):
    semi = write(
        tmp_path,
        "semi.csv",
        "Datum;Umsatz;Kosten\n"
        + "".join(f"{d:02d}.01.2018;{1000 + d},66;{50 + d % 3},61\n" for d in range(1, 25)),
    )
    loaded = ops.load_series(str(semi))
    assert loaded["column"] == "Umsatz" and loaded["columns"] == ["Umsatz", "Kosten"]
    money = write(
        tmp_path,
        "money.csv",
        "date,revenue,share,price,big\n"
        + "".join(
            f'2021-01-{d:02d},"${1000 + d}.50","{d},5",€{d}.25,"{d},{d:03d},000"\n' for d in range(1, 25)
        ),
    )
    loaded = ops.load_series(str(money))
    assert loaded["columns"] == ["revenue", "share", "price", "big"]
    assert ops.load_series(str(money), "share")["y"][:2] == [1.5, 2.5]  # as the box promises


def test_date_and_date_part_columns_are_not_offered_as_values(tmp_path):
    assert ops.load_series(str(SUNSPOTS))["columns"] == ["sunspots"]
    rows = "".join(f"{2015 + i // 12},{i % 12 + 1},{200 + i},{i % 7}\n" for i in range(36))
    ym = write(tmp_path, "ym.csv", "year,month,sales,returns\n" + rows)
    loaded = ops.load_series(str(ym))
    assert loaded["dated"] and loaded["columns"] == ["sales", "returns"]
    assert ops.forecast_file(str(ym), "returns", 2, "naive")["columns"] == ["returns", "sales"]
    unix = write(
        tmp_path, "unix.csv", "ts,v\n" + "".join(f"{1_600_000_000 + 86400 * i},{i}\n" for i in range(20))
    )
    assert ops.load_series(str(unix))["columns"] == ["v"]


# ---------------------------------------------------------------- 4, 5. reopening, the legend
def test_reopening_another_forecast_forgets_the_backtest_and_its_legend_entry(qtbot, panel, tmp_path):
    load(qtbot, panel, daily_csv(tmp_path, "one.csv"))
    forecast(qtbot, panel)
    first = panel.result["forecast_id"]
    assert not any(label.startswith("backtest") for label in legend(panel.plot))  # none before a backtest
    load(qtbot, panel, daily_csv(tmp_path, "two.csv", n=60))
    forecast(qtbot, panel)
    panel.backtest_methods = ["naive", "drift"]
    panel.backtest_button.click()
    wait_done(qtbot, panel)
    assert panel.backtest_note.text().startswith("Best by MASE")
    assert f"backtest ({panel.backtest['best']})" in legend(panel.plot)
    panel.show_history_item("forecast", first)
    wait_done(qtbot, panel)
    assert panel.result["forecast_id"] == first and panel.metrics.rowCount() == 0
    assert panel.backtest_note.text() == "Press Backtest to compare methods on this series."
    assert not any(label.startswith("backtest") for label in legend(panel.plot))


def test_the_legend_names_a_backtest_only_while_one_is_drawn(qtbot):
    plot = ForecastPlot()
    qtbot.addWidget(plot)
    assert legend(plot) == ["history", "forecast", "80% interval", "95% interval"]
    plot.set_backtest([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "backtest (drift)")
    assert "backtest (drift)" in legend(plot)
    plot.set_backtest([], [])  # the chosen method has no backtest forecasts
    assert not any(label.startswith("backtest") for label in legend(plot))
    plot.set_backtest([0.0, 1.0], [1.0, 2.0], "backtest (naive)")
    plot.clear()  # a new file
    assert not any(label.startswith("backtest") for label in legend(plot))


# ---------------------------------------------------------------- 6, 10. theme and contrast
def test_the_plot_follows_a_theme_change_and_its_history_line_stands_out(qtbot, panel, tmp_path):
    window, plot = panel.run.window, panel.plot
    load(qtbot, panel, daily_csv(tmp_path))
    forecast(qtbot, panel)

    def looks(c) -> bool:
        return (
            plot.widget.backgroundBrush().color().name() == c["pane"]
            and plot.plot.getAxis("left").textPen().color().name() == c["muted"]
            and plot.plot.titleLabel.text
            and f"color:{c['muted']}" in plot.plot.titleLabel.item.toHtml()
        )

    assert looks(theme.LIGHT)
    for name, c in (("dark", theme.DARK), ("light", theme.LIGHT)):
        window.settings.theme = name
        window.session_theme = None
        window.restyle()  # what Settings does; the window does not tell the plot
        qtbot.waitUntil(lambda c=c: looks(c), timeout=WAIT_MS)
        line = plot.history.opts["pen"].color().name()
        assert contrast(line, c["pane"]) >= 3.0 and contrast(line, c["surface"]) >= 3.0, (name, line)


# ---------------------------------------------------------------- 7, 12. while busy
def test_a_drop_refused_while_busy_does_not_say_it_is_reading(qtbot, panel, tmp_path, slow_backtest):
    load(qtbot, panel, daily_csv(tmp_path))
    panel.backtest_button.click()
    qtbot.waitUntil(lambda: slow_backtest["started"] == 1, timeout=WAIT_MS)
    before = panel.progress_row.label.text()
    panel.handle_drop([str(daily_csv(tmp_path, "x.csv")), str(daily_csv(tmp_path, "y.csv"))])
    assert "Reading" not in panel.progress_row.label.text() and panel.progress_row.label.text() == before
    assert "A job is running" in panel.message_label.text() and panel.message.isVisible()
    panel.run_button.click()  # cancel
    wait_done(qtbot, panel)
    assert panel.source["origin"] == "daily.csv"


def test_opening_a_saved_forecast_while_a_backtest_runs_says_so_and_keeps_it_running(
    qtbot, panel, tmp_path, slow_backtest
):
    load(qtbot, panel, daily_csv(tmp_path))
    forecast(qtbot, panel)
    saved = panel.result["forecast_id"]
    panel.backtest_button.click()
    qtbot.waitUntil(lambda: slow_backtest["started"] == 1, timeout=WAIT_MS)
    job = panel.backtest_id
    panel.run.window._open_history_item("forecast", saved)  # a search hit clicked
    assert panel.message.isVisible() and "still running" in panel.message_label.text()
    qtbot.wait(100)
    assert panel.backtest_id == job and panel.busy and slow_backtest["cancelled"] == 0
    assert panel.run_button.text() == "Cancel" and panel.progress_row.isVisible()
    panel.run_button.click()
    wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: slow_backtest["cancelled"] == 1, timeout=WAIT_MS)
    panel.show_history_item("forecast", saved)  # now it opens
    wait_done(qtbot, panel)
    assert panel.result["forecast_id"] == saved and panel.job_kind == "open"


# ---------------------------------------------------------------- 8. re-forecasting a reopened item
def test_forecasting_a_reopened_item_again_shows_the_whole_file_and_its_columns(qtbot, panel, tmp_path):
    n = ops.STORED_POINTS + 500
    path = daily_csv(tmp_path, "big.csv", n=n, cols=("a", "b", "c"))
    load(qtbot, panel, path)
    forecast(qtbot, panel)
    saved = panel.result["forecast_id"]
    panel.show_history_item("forecast", saved)
    wait_done(qtbot, panel)
    assert f"{ops.STORED_POINTS:,} points" in panel.origin_label.text() and columns(panel) == ["a"]
    forecast(qtbot, panel)
    assert f"{n:,} points" in panel.origin_label.text()
    assert columns(panel) == ["a", "b", "c"] and panel.column_box.currentText() == "a"
    assert panel.column_box.isEnabled() and len(panel.source["y"]) == n


# ---------------------------------------------------------------- 11. exports
def test_exports_add_the_csv_extension_and_refuse_a_plot_named_like_a_table(qtbot, panel, tmp_path):
    load(qtbot, panel, daily_csv(tmp_path))
    forecast(qtbot, panel)
    finished = recorder(panel.service.job_finished)
    job = panel.export_csv(str(tmp_path / "noext"))
    qtbot.waitUntil(lambda: any(c[0] == job for c in finished.calls), timeout=WAIT_MS)
    assert (tmp_path / "noext.csv").read_text(encoding="utf-8").startswith("step,date,mean")
    assert not (tmp_path / "noext").exists() and "noext.csv" in panel.message_label.text()
    panel.export_png(str(tmp_path / "d.csv"))
    text = panel.message_label.text()
    assert "not an image type" in text and ".png" in text and "written there" not in text
    assert not (tmp_path / "d.csv").exists()
    panel.export_png(str(tmp_path / "d.PNG"))
    assert (tmp_path / "d.PNG").read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- 13. a file that is gone
def test_a_reopened_forecast_whose_file_is_gone_says_so_and_cannot_be_rerun(qtbot, panel, tmp_path):
    path = daily_csv(tmp_path, "walrus.csv")
    load(qtbot, panel, path)
    forecast(qtbot, panel)
    saved = panel.result["forecast_id"]
    path.unlink()
    panel.show_history_item("forecast", saved)
    wait_done(qtbot, panel)
    assert panel.result["forecast_id"] == saved and not panel.message.isVisible()
    assert f"The file is no longer at {path}" in panel.notes.text()
    assert not panel.run_button.isEnabled() and not panel.backtest_button.isEnabled()
    assert panel.png_button.isEnabled() and panel.csv_button.isEnabled()  # what was saved still exports
    load(qtbot, panel, daily_csv(tmp_path, "other.csv"))
    assert panel.run_button.isEnabled() and panel.backtest_button.isEnabled()


def test_the_panel_opens_on_a_method_that_follows_the_samples_cycles(qtbot, panel):
    """ETS, the old default, drew a flat line on sunspots: the 11-year cycle was lost."""
    assert panel.method_box.currentText() == "arima"
    load(qtbot, panel, SUNSPOTS)
    panel.horizon.setValue(12)
    panel.run_button.click()
    wait_done(qtbot, panel)
    mean = np.asarray(panel.result["mean"])
    assert panel.result["method"] == "arima" and np.ptp(mean) > 20  # a cycle, not a flat line


def test_auto_shows_how_many_candidate_fits_are_done(panel):
    """The text stood still for 8-10 s under a busy indicator while auto's candidates fitted."""
    panel.job_id = 7
    panel._on_job_progress(7, {"stage": "auto", "method": "lstm", "origin": 120, "done": 4, "total": 10})
    row = panel.progress_row
    assert row.label.text() == "auto: trying lstm on the points before 120 (fit 5 of 10)…"
    assert row.bar.maximum() == 1000 and row.bar.value() == 1000 * 4 // 11
    panel._on_job_progress(7, {"stage": "lstm", "member": 0, "epoch": 3})  # the candidate's epochs
    assert row.label.text().startswith("Training the LSTM") and row.bar.value() == 1000 * 4 // 11


def _points_under_legend(plot) -> int:
    """Data points of the history drawn under the legend's box."""
    rect = plot.legend.sceneBoundingRect()
    box = plot.plot.getViewBox()
    x, y = plot.history.getData()
    return sum(rect.contains(box.mapViewToScene(QPointF(float(a), float(b)))) for a, b in zip(x, y))


@pytest.mark.parametrize("slope", [-1.0, 1.0])
def test_the_legend_stands_where_the_series_is_not(qtbot, slope):
    plot = ForecastPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 450)
    plot.show()
    qtbot.waitExposed(plot)
    x = [float(i) for i in range(200)]
    y = [slope * i for i in x]  # a falling line starts under the top-left corner
    plot.set_history(x, y, dated=False)
    plot.fit_view()
    qtbot.wait(50)
    plot.place_legend()
    qtbot.wait(50)
    assert plot.legend_corner == ("top-right" if slope < 0 else "top-left")
    assert _points_under_legend(plot) == 0
