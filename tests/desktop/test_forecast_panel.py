"""The Forecast panel through the real window and engine service (offscreen): a shipped sample end
to end (history, forecast line, fan, backtest table with a winner, exports, a history row search
finds, reopening it), bad inputs that give messages or sensible results, and a small LSTM fit that
keeps the event loop responsive while its progress is shown."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest
from desktop_testkit import WAIT_MS, recorder, wait_done
from PySide6.QtCore import QTimer

from desktop.paths import RESOURCES

SAMPLE = RESOURCES / "samples" / "sunspots_yearly.csv"
LONG_WAIT_MS = 60_000
TINY_LSTM = {"seeds": 1, "epochs": 6, "patience": 3, "hidden": 4, "windows_per_epoch": 64, "refit": False}


@pytest.fixture
def panel(panel_of):
    return panel_of("forecast")


def load(qtbot, panel, path, timeout=WAIT_MS):
    panel.open_file(str(path))
    wait_done(qtbot, panel, timeout)


def forecast(qtbot, panel, method="naive", horizon=5, timeout=WAIT_MS):
    panel.method_box.setCurrentText(method)
    panel.horizon.setValue(horizon)
    panel.run_button.click()
    wait_done(qtbot, panel, timeout)


def curve_len(item) -> int:
    x, _ = item.getData()
    return 0 if x is None else len(x)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_end_to_end_plot_fan_backtest_exports_history_and_reopen(qtbot, panel, tmp_path):
    index = panel.sample_box.findData(str(SAMPLE))
    assert index > 0
    panel.sample_box.activated.emit(index)  # as if picked in the Samples box
    wait_done(qtbot, panel)
    assert panel.source is not None and panel.source["column"] == "sunspots"
    assert curve_len(panel.plot.history) == 309 and panel.plot.dated
    forecast(qtbot, panel, "ets", 6)
    result = panel.result
    assert result is not None and len(result["mean"]) == 6 and not panel.message.isVisible()
    assert curve_len(panel.plot.mean) == 7  # joined to the last history point
    assert panel.plot.fan80.isVisible() and panel.plot.fan95.isVisible()
    lo95, hi95 = np.array(result["lo95"]), np.array(result["hi95"])
    lo80, hi80 = np.array(result["lo80"]), np.array(result["hi80"])
    assert np.all(lo95 <= lo80) and np.all(lo80 <= hi80) and np.all(hi80 <= hi95) and np.any(hi95 > lo95)
    assert result["index"][0].startswith("2009")  # the year after the last one
    # backtest: a row per method, winner marked, its past forecasts drawn over the history
    panel.backtest_methods = ["naive", "drift"]
    panel.backtest_button.click()
    wait_done(qtbot, panel, LONG_WAIT_MS)
    assert set(panel.metrics.methods()) == {"naive", "drift", "ets"}
    best = panel.backtest["best"]
    assert best in panel.metrics.methods() and panel.metrics.item(0, 0).text() == f"★ {best}"
    assert curve_len(panel.plot.backtest) > 6 and panel.plot.backtest.isVisible()
    panel.show_backtest.setChecked(False)
    assert not panel.plot.backtest.isVisible()
    # exports
    out_csv = tmp_path / "fc.csv"
    finished = recorder(panel.service.job_finished)
    job = panel.export_csv(str(out_csv))
    qtbot.waitUntil(lambda: any(c[0] == job for c in finished.calls), timeout=WAIT_MS)
    rows = list(csv.reader(out_csv.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["step", "date", "mean", "lo80", "hi80", "lo95", "hi95"] and len(rows) == 7
    out_png = tmp_path / "fc.png"
    panel.export_png(str(out_png))
    assert out_png.stat().st_size > 1000 and out_png.read_bytes()[:4] == b"\x89PNG"
    # saved in history, found by search, reopened
    saved = panel.run.rows("SELECT id, name, method, horizon FROM forecasts")
    assert len(saved) == 1 and saved[0]["method"] == "ets" and saved[0]["horizon"] == 6
    assert result["forecast_id"] == saved[0]["id"] and "sunspots" in saved[0]["name"]
    found = recorder(panel.service.search_done)
    panel.service.search("sunspots")
    qtbot.waitUntil(lambda: bool(found.calls), timeout=WAIT_MS)
    hits = [h for h in found.calls[0][1] if h["kind"] == "forecast"]
    assert [h["id"] for h in hits] == [saved[0]["id"]]
    panel.method_box.setCurrentText("naive")
    panel.run.window._open_history_item("forecast", hits[0]["id"])
    wait_done(qtbot, panel)
    assert panel.result["forecast_id"] == saved[0]["id"] and panel.method_box.currentText() == "ets"
    assert panel.result["mean"] == pytest.approx(result["mean"])
    assert curve_len(panel.plot.history) == 309 and curve_len(panel.plot.mean) == 7


@pytest.mark.parametrize(
    ("name", "text", "expect"),
    [
        ("empty.csv", "", "empty"),
        ("header.csv", "date,value\n", "no data rows"),
        ("text.csv", "date,value\n" + "".join(f"2020-01-{d:02d},abc\n" for d in range(1, 20)), "numeric"),
    ],
)
def test_unreadable_files_give_a_message(qtbot, panel, tmp_path, name, text, expect):
    load(qtbot, panel, write(tmp_path, name, text))
    assert panel.message.isVisible() and expect in panel.message_label.text()
    assert panel.source is None and not panel.run_button.isEnabled()


def test_fewer_points_than_the_horizon_is_refused_with_a_message(qtbot, panel, tmp_path):
    load(qtbot, panel, write(tmp_path, "short.csv", "value\n1\n2\n3\n4\n5\n"))
    assert panel.source is not None and curve_len(panel.plot.history) == 5
    forecast(qtbot, panel, "naive", 12)
    assert panel.message.isVisible() and "fewer than the horizon" in panel.message_label.text()
    assert panel.result is None and not panel.run.rows("SELECT id FROM forecasts")


def test_constant_series_gets_a_flat_forecast_and_a_note(qtbot, panel, tmp_path):
    load(qtbot, panel, write(tmp_path, "flat.csv", "value\n" + "7\n" * 40))
    forecast(qtbot, panel, "ets", 4)
    assert panel.result["mean"] == [7.0] * 4 and panel.result["hi95"] == [7.0] * 4
    assert "constant" in panel.notes.text()


def test_gaps_unordered_and_duplicate_dates_are_cleaned_and_said(qtbot, panel, tmp_path):
    days = [f"2021-03-{d:02d}" for d in range(1, 29)]
    rows = [f"{d},{'' if i in (5, 6, 11) else 10 + i % 7}" for i, d in enumerate(days)]
    rows = rows[14:] + rows[:14] + [rows[3]]  # out of order, one date twice
    load(qtbot, panel, write(tmp_path, "messy.csv", "day,sales\n" + "\n".join(rows) + "\n"))
    assert panel.source is not None and not panel.message.isVisible()
    x = panel.source["x"]
    assert x == sorted(x) and len(set(x)) == len(x) == 28
    forecast(qtbot, panel, "naive", 3)
    notes = panel.notes.text()
    assert "interpolation" in notes and len(panel.result["mean"]) == 3
    assert all(np.isfinite(panel.result["mean"]))


def test_a_million_rows_load_without_freezing_and_say_what_was_kept(qtbot, panel, tmp_path):
    path = tmp_path / "big.csv"
    values = np.round(np.sin(np.arange(1_000_000) / 50.0) * 10 + 20, 3)
    path.write_text("value\n" + "\n".join(map(str, values)) + "\n", encoding="utf-8")
    gaps = _watch_event_loop()
    load(qtbot, panel, path, LONG_WAIT_MS)
    forecast(qtbot, panel, "naive", 10, LONG_WAIT_MS)
    gaps.timer.stop()
    assert panel.result is not None and len(panel.result["mean"]) == 10
    assert "kept the last 20,000" in panel.notes.text()
    assert max(gaps.values) < 1.0, f"the window froze for {max(gaps.values):.1f} s"


def test_an_lstm_fit_shows_progress_and_keeps_the_event_loop_responsive(qtbot, panel, tmp_path):
    panel.lstm_options = TINY_LSTM
    load(qtbot, panel, SAMPLE)
    # the session's first fit imports torch and its lazy modules (holding the GIL for ~0.3 s, once);
    # the app has torch loaded for the chat model anyway, so measure a fit after that one
    forecast(qtbot, panel, "lstm", 4, LONG_WAIT_MS)
    progress = recorder(panel.service.job_progress)
    gaps = _watch_event_loop()
    started = time.perf_counter()
    forecast(qtbot, panel, "lstm", 4, LONG_WAIT_MS)
    qtbot.wait(100)  # the result is drawn on this thread: that counts too
    gaps.timer.stop()
    total = time.perf_counter() - started
    assert panel.result is not None and panel.result["method"] == "lstm" and not panel.message.isVisible()
    assert any(isinstance(c[1], dict) and c[1].get("stage") == "lstm" for c in progress.calls)
    assert panel.progress_events > 0 and not panel.progress_row.isVisible()
    assert len(gaps.values) > 5
    # a fit on this thread would stall the loop for about the whole job; a loaded CI machine
    # stretches everything, so the bound is relative to the job's own time
    bound = max(0.25, total / 3)
    worst = max(gaps.values)
    assert worst < bound, f"the event loop stalled {worst * 1000:.0f} of {total * 1000:.0f} ms"


def test_cancel_during_a_fit_changes_nothing(qtbot, panel):
    panel.lstm_options = {**TINY_LSTM, "epochs": 500, "patience": 500}
    load(qtbot, panel, SAMPLE)
    panel.method_box.setCurrentText("lstm")
    panel.run_button.click()
    assert panel.busy and panel.run_button.text() == "Cancel"
    panel.run_button.click()
    assert not panel.busy and "Cancelled" in panel.message_label.text()
    qtbot.wait(300)
    assert panel.result is None


class _Gaps:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        self.values.append(now - self.last)
        self.last = now


def _watch_event_loop() -> _Gaps:
    return _Gaps()


def test_lstm_settings_handed_over_from_a_train_run(qtbot, start_app):
    run = start_app()
    train = run.window.panel("train")
    qtbot.waitUntil(lambda: train.warm, timeout=60_000)
    options = {"hidden": 8, "epochs": 3, "seeds": 1, "cell": "gru"}
    train.forecaster.use_settings.emit(options, "Train run #7")  # what "Use these LSTM settings" sends
    panel = run.window.panels["forecast"]
    assert run.window.current_key() == "forecast"
    assert panel.settings()["lstm"] == options and "Train run #7" in panel.message_label.text()
    assert panel.side.lstm_origin.isVisibleTo(panel) and "Train run #7" in panel.side.lstm_origin.text()
    panel.side.defaults_button.click()
    assert panel.settings()["lstm"] is None and not panel.side.defaults_button.isVisibleTo(panel)


def test_backtests_fit_one_seed_even_with_a_train_runs_lstm_settings():
    from desktop.forecast_ops import _options

    assert _options("lstm", {"seeds": 3, "hidden": 8}, quick=True)["lstm"].seeds == 1  # backtest
    chosen = _options("auto", {"seeds": 3, "hidden": 8})["lstm"]  # the forecast itself: as chosen
    assert chosen.seeds == 3 and chosen.hidden == 8
    assert _options("ets", {"seeds": 3}) == {}


def test_linear_shares_the_lstm_preprocessing_settings_and_backtests_always_get_them():
    from desktop.forecast_ops import _options

    assert _options("linear", {"input_len": 24})["lstm"].input_len == 24  # the forecast itself
    # a backtest's rows (linear among them) do not depend on which method is selected
    for selected in ("ets", "lstm", "linear"):
        assert _options(selected, {"input_len": 24}, quick=True)["lstm"].input_len == 24


def test_hybrid_and_linear_are_offered_and_forecast_from_the_panel(qtbot, panel):
    panel.lstm_options = TINY_LSTM
    load(qtbot, panel, SAMPLE)
    offered = [panel.method_box.itemText(i) for i in range(panel.method_box.count())]
    assert "hybrid" in offered and "linear" in offered
    for method in ("linear", "hybrid"):
        forecast(qtbot, panel, method, 6, LONG_WAIT_MS)
        assert panel.result is not None and panel.result["method"] == method
        assert len(panel.result["mean"]) == 6 and not panel.message.isVisible()


def test_plot_export_says_when_nothing_was_written_and_adds_the_extension(qtbot, panel, tmp_path):
    """ "Plot saved" was shown for a folder that does not exist (pyqtgraph returns False) (bug hunt)."""
    load(qtbot, panel, SAMPLE)
    panel.export_png(str(tmp_path / "nope" / "x.png"))
    assert "Could not export" in panel.message_label.text() and not (tmp_path / "nope").exists()
    panel.export_png(str(tmp_path / "plot"))
    assert (tmp_path / "plot.png").is_file() and "plot.png" in panel.message_label.text()


def test_a_long_forecast_fan_is_drawn_with_a_bounded_number_of_vertices(qtbot, panel, tmp_path):
    """A 10,000-step fan repainted in 4 s and exported in 29 s on the GUI thread (bug hunt)."""
    from desktop.widgets.forecast_plot import FAN_POINTS

    y = 100 + np.sin(np.arange(9000) / 24 * 2 * np.pi)
    path = write(tmp_path, "h.csv", "value\n" + "\n".join(f"{v:.4f}" for v in y) + "\n")
    load(qtbot, panel, path)
    forecast(qtbot, panel, method="naive", horizon=8000)
    assert curve_len(panel.plot.mean) == 8001  # the line keeps every step
    assert curve_len(panel.plot.hi95) <= FAN_POINTS + 1
    x, hi = panel.plot.hi95.getData()
    assert x[-1] == panel.plot.mean.getData()[0][-1]  # the fan still reaches the last step
    t0 = time.perf_counter()
    panel.export_png(str(tmp_path / "long.png"))
    assert (tmp_path / "long.png").is_file() and time.perf_counter() - t0 < 5


def test_a_column_that_cannot_be_read_is_not_left_selected(qtbot, panel, tmp_path):
    rows = ["a,b"] + [f"{i},{i % 5}" for i in range(600)] + [f"{i},x" for i in range(600, 1500)]
    path = write(tmp_path, "ab.csv", "\n".join(rows) + "\n")
    load(qtbot, panel, path)
    assert panel.source["column"] == "a"
    assert panel.column_box.findText("b") >= 0  # offered: its first rows are numbers
    panel.column_box.setCurrentIndex(panel.column_box.findText("b"))
    panel.column_box.activated.emit(panel.column_box.currentIndex())
    wait_done(qtbot, panel)
    assert "not numeric" in panel.message_label.text()
    assert panel.column_box.currentText() == "a" == panel.source["column"]


def test_settings_are_locked_while_a_forecast_runs(qtbot, panel):
    panel.lstm_options = {**TINY_LSTM, "epochs": 500, "patience": 500}
    load(qtbot, panel, SAMPLE)
    panel.method_box.setCurrentText("lstm")
    panel.run_button.click()
    assert not panel.horizon.isEnabled() and not panel.method_box.isEnabled()
    panel.run_button.click()  # cancel
    assert panel.horizon.isEnabled() and panel.method_box.isEnabled()


def test_a_damaged_saved_forecast_says_so_and_the_others_still_open(qtbot, panel):
    """A record with invalid JSON stopped every older forecast from opening; wrong types or lengths
    raised inside pyqtgraph and drew half a plot (bug hunt)."""
    import sqlite3

    load(qtbot, panel, SAMPLE)
    for h in (3, 4, 5):
        forecast(qtbot, panel, horizon=h)
    ids = [r["id"] for r in panel.run.rows("SELECT id FROM forecasts ORDER BY id")]
    conn = sqlite3.connect(panel.run.db_path)
    conn.execute("UPDATE forecasts SET meta = '{not json' WHERE id = ?", (ids[2],))
    meta = conn.execute("SELECT meta FROM forecasts WHERE id = ?", (ids[1],)).fetchone()[0]
    conn.execute(
        "UPDATE forecasts SET meta = ? WHERE id = ?", (meta.replace('"mean": [', '"mean": ["a", '), ids[1])
    )
    conn.commit()
    conn.close()
    for item, ok in zip(ids, (True, False, False)):
        panel.show_history_item("forecast", item)
        wait_done(qtbot, panel)
        if ok:
            assert panel.result["forecast_id"] == item
        else:
            assert f"Forecast {item} is damaged" in panel.message_label.text()
