"""Unusual text in the desktop: CSV column names on the forecast plot (they were read as HTML),
forecast files in other encodings, and the note for pasted Markdown (it said HTML)."""

from __future__ import annotations

import pytest
from desktop_testkit import wait_done

from desktop.summarize_ops import summarize_text
from desktop.widgets.forecast_plot import ForecastPlot

NAMES = ["temp<5 & rain>3", "<b>sales</b> & <i>co</i>"]


def shown(plot: ForecastPlot) -> dict:
    """The plain text the axis label, the title and the legend show."""
    return {
        "axis": plot.plot.getAxis("left").label.toPlainText().strip(),  # pyqtgraph adds a space
        "title": plot.plot.titleLabel.item.toPlainText(),
        "legend": [label.item.toPlainText() for _, label in plot.legend.items],
    }


def result(name: str) -> dict:
    x = [0.0, 1.0, 2.0]
    band = [1.0, 1.0]
    keys = {k: band for k in ("lo80", "hi80", "lo95", "hi95")}
    return {"name": name, "x": x, "y": [1.0, 2.0, 3.0], "fx": [3.0, 4.0], "mean": band, **keys,
            "horizon": 2, "method": "naive"}  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_column_names_show_literally_on_the_plot(qtbot, name):
    plot = ForecastPlot()
    qtbot.addWidget(plot)
    plot.set_history([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], dated=False, label=name)
    plot.set_forecast(result(name))
    plot.set_backtest([0.0, 1.0], [1.0, 2.0], f"backtest ({name})")
    got = shown(plot)
    assert got["axis"] == name
    assert got["title"] == f"{name}: 2-step forecast · naive"
    assert f"backtest ({name})" in got["legend"] and f"backtest ({name})" in plot.legend_labels()
    assert "<b>" not in plot.plot.titleLabel.item.toHtml().replace("&lt;b&gt;", "")
    plot.retheme()  # the title is set again from the stored one
    assert shown(plot)["title"] == got["title"]


def test_a_long_column_name_is_elided(qtbot):
    plot = ForecastPlot()
    qtbot.addWidget(plot)
    name = "N" * 300
    plot.set_history([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], dated=False, label=name)
    plot.set_forecast(result(name))
    got = shown(plot)
    assert got["axis"].endswith("…") and 20 <= len(got["axis"]) <= 60
    assert got["title"] == got["axis"] + ": 2-step forecast · naive"


def test_the_forecast_panel_reads_utf16_and_latin1_csvs(qtbot, panel_of, tmp_path):
    panel = panel_of("forecast")
    rows = "".join(f"2020-{m:02d}-01,{m * 1.5}\n" for m in range(1, 13))
    for codec in ("utf-16", "latin-1"):
        path = tmp_path / f"{codec}.csv"
        path.write_bytes(("date,Température (°C)\n" + rows).encode(codec))
        assert panel.open_file(str(path)) is not False
        wait_done(qtbot, panel)
        assert not panel.message.isVisible(), panel.message_label.text()
        assert panel.column_box.currentText() == "Température (°C)"
        assert shown(panel.plot)["axis"] == "Température (°C)"


def test_pasted_markdown_is_not_called_html():
    md = "# Ferry news\n\n**Important**: the ferry runs again. See [the timetable](http://x). It is late.\n"
    notes = summarize_text(md, {"length": "sentences", "value": 1})["notes"]
    assert not any("HTML" in n for n in notes)
    assert any("Markdown" in n for n in notes)
    html = "<p>The ferry runs again.</p><p>It is <b>late</b>.</p><p>Buses wait.</p>"
    notes = summarize_text(html, {"length": "sentences", "value": 1})["notes"]
    assert any("was HTML" in n for n in notes) and not any("Markdown" in n for n in notes)
    notes = summarize_text("The ferry runs again. It is late. Buses wait.", {"value": 1})["notes"]
    assert not any("HTML" in n or "Markdown" in n for n in notes)
