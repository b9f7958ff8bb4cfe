"""Switching the theme (or the text size) at runtime through Settings (``MainWindow.apply_settings``
-> ``restyle``) redraws what widgets had drawn in the old theme's colours: search results, the
abstractive sentence and beams, TextRank badges, heat maps, live plots, the Lab's gate maps and
scatter, the caption detail's timeline and beams, and icons drawn as pixmaps. Each test failed
before the widgets had a ``retheme()`` that ``restyle`` calls."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel

from desktop import theme

LIGHT, DARK = theme.LIGHT, theme.DARK


@pytest.fixture
def run(start_app):
    started = start_app()
    yield started
    theme.apply(QApplication.instance(), "light", 10)  # the next test starts as the others do


def switch(run, theme_name: str = "dark", font_pt: float | None = None) -> None:
    """What the Settings dialog's OK does."""
    s = run.window.settings
    run.window.apply_settings(
        {
            "theme": theme_name,
            "font_pt": s.font_pt if font_pt is None else font_pt,
            "force_cpu": s.force_cpu,
            "default_decoding": s.default_decoding,
        }
    )
    assert theme.current_colors() == (DARK if theme_name == "dark" else LIGHT)


def ink(pixmap) -> QColor:
    """The colour of an icon's most opaque pixel (its strokes)."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_ARGB32)
    best = max(
        (image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())),
        key=lambda c: c.alpha(),
    )
    assert best.alpha() > 150
    return best


def near(a: QColor, hex_color: str, tol: int = 10) -> bool:
    b = QColor(hex_color)
    return all(abs(x - y) <= tol for x, y in zip(a.getRgb()[:3], b.getRgb()[:3]))


def swapped(text: str, *keys: str) -> bool:
    """``text`` holds the dark colours of ``keys`` and none of the light ones."""
    low = text.lower()
    return all(DARK[k] in low for k in keys) and not any(LIGHT[k] in low for k in keys)


# ----------------------------------------------------------------------------- 1. search results
def test_search_results_and_the_search_icon_take_the_new_colours(run):
    history = run.chat.history
    history.search.setText("banan")
    history._timer.stop()  # the rows below stand in for the history's answer
    hit = {
        "kind": "message",
        "title": "Fruit",
        "created_at": "2024-05-01 10:00:00",
        "snippet_text": "I like a banana",
        "matches": [[9, 15]],
    }
    history.show_results("banan", [hit, hit | {"title": "More fruit"}])
    history.results.setCurrentRow(1)
    icon = history.search.actions()[0].icon().pixmap(16, 16)
    assert near(ink(icon), LIGHT["muted"])
    before = history.results.itemWidget(history.results.item(0)).text().lower()
    assert LIGHT["text"] in before and LIGHT["accent_soft"] in before
    switch(run)
    for row in range(2):
        text = history.results.itemWidget(history.results.item(row)).text()
        assert swapped(text, "text", "muted", "accent_soft", "accent_text_on_soft")
        assert "I like a " in text and "banana" in text.replace("a</span>", "a")
    assert history.results.currentRow() == 1  # the rows were redrawn, not replaced
    assert near(ink(history.search.actions()[0].icon().pixmap(16, 16)), DARK["muted"])


# ------------------------------------------------------------- 2, 7. summary sentence, beams, badges
ABSTRACTIVE = {
    "method": "abstractive",
    "sentences": ["ferry sinks near harbour"],
    "indices": [],
    "keywords": [],
    "extras": {
        "copy": [0.9, 0.2, 0.8, 0.7],
        "log_prob": -1.5,
        "alternatives": [{"text": "a ferry sinks", "log_prob": -2.25}],
    },
}


def test_the_abstractive_sentence_and_its_beams_take_the_new_colours(run):
    from desktop.widgets.summary_view import SummaryView

    view = SummaryView(run.window)
    view.show_result(ABSTRACTIVE, "stats")
    light_html = view.text.toHtml().lower()
    assert LIGHT["text"] in light_html
    assert LIGHT["muted"] in view.abstractive.beams.text()
    switch(run)
    html = view.text.toHtml().lower()
    assert DARK["text"] in html and LIGHT["text"] not in html
    accent = QColor(DARK["accent"])
    assert f"rgba({accent.red()},{accent.green()},{accent.blue()}" in html.replace(" ", "")
    assert "underline" in html and "harbour" in view.text.toPlainText()
    beams = view.abstractive.beams.text()
    assert swapped(beams, "muted") and "a ferry sinks" in beams and "-2.25" in beams


def test_textrank_badges_take_the_new_accent(run):
    from desktop.widgets.summary_view import SummaryView

    view = SummaryView(run.window)
    result = {"method": "textrank", "sentences": ["One.", "Two."], "indices": [3, 7], "keywords": []}
    view.show_result(result, "stats")
    assert LIGHT["accent"] in view.text.toHtml().lower()
    switch(run)
    html = view.text.toHtml().lower()
    assert swapped(html, "accent") and ">4<" in html.replace("</b>", "").replace("<b>", "")
    unlinked = SummaryView(run.window)
    unlinked.show_result(result | {"indices": []}, "stats")  # no source to link to: muted numbers
    switch(run, "light")
    assert LIGHT["muted"] in unlinked.text.toHtml().lower()
    assert DARK["muted"] not in unlinked.text.toHtml().lower()


# ---------------------------------------------------------------------------------- 3. heat map
def test_a_heat_map_takes_the_new_colours_and_text_size(run):
    from desktop.widgets.attention_view import HeatMap

    heat = HeatMap(11, run.window)
    heat.set_data([[0.2, 0.8], [0.6, 0.4]], ["ferry", "sinks"], ["the", "ferry"])
    assert heat.canvas.backgroundBrush().color() == QColor(LIGHT["pane"])
    switch(run, font_pt=14.0)
    assert heat.canvas.backgroundBrush().color() == QColor(DARK["pane"])
    for name in ("left", "bottom"):
        axis = heat.plot.getAxis(name)
        assert axis.textPen().color() == QColor(DARK["text"]) and axis.pen().color() == QColor(DARK["border"])
        assert axis.style["tickFont"].pointSizeF() == 14.0
    assert heat.rows == ["ferry", "sinks"] and heat.image.image.shape == (2, 2)  # the same map


# ---------------------------------------------------------------------------------- 4. live plot
def test_a_live_plot_takes_the_new_colours_and_follows_the_text_size(run):
    from desktop.widgets.live_plot import LivePlot

    plot = LivePlot("This run", "step", "loss", parent=run.window)
    plot.add_point("train", 1, 2.0)
    plot.add_point("valid", 1, 2.5)
    plot.flush()
    plot.plot.setLabel("left", "perplexity")  # a caller renames an axis (train_dialogue does)
    assert plot.widget.backgroundBrush().color() == QColor(LIGHT["pane"])
    assert "10pt" in plot.plot.titleLabel.item.toHtml().replace(" ", "")
    switch(run, font_pt=14.0)
    assert plot.widget.backgroundBrush().color() == QColor(DARK["pane"])
    title = plot.plot.titleLabel.item.toHtml().lower()
    assert "this run" in title and DARK["text"] in title and "14pt" in title.replace(" ", "")
    left, bottom = plot.plot.getAxis("left"), plot.plot.getAxis("bottom")
    for axis in (left, bottom):
        assert axis.pen().color() == QColor(DARK["muted"])  # axis lines and the grid
        assert axis.textPen().color() == QColor(DARK["muted"])
        assert axis.style["tickFont"].pointSizeF() == 13.0
        label = axis.label.toHtml().lower()
        assert DARK["muted"] in label and "13pt" in label.replace(" ", "")
    assert left.labelText == "perplexity" and bottom.labelText == "step"  # the text stays
    legend = {label.text: label.item.toHtml().lower() for _, label in plot.legend.items}
    assert set(legend) == {"train", "valid"}
    assert all(DARK["text"] in html and LIGHT["text"] not in html for html in legend.values())
    assert plot.points("train") == 1 and plot.points("valid") == 1


# ------------------------------------------------------------------------------- 5. Lab, inside
def test_the_gate_maps_and_the_embedding_scatter_take_the_new_colours(run):
    from desktop.widgets.lab_inside import EmbeddingsTab, GateMaps

    gates = GateMaps(run.window)
    gates.set_gates({"update": [[0.1, 0.9], [0.5, 0.5]], "reset": [[0.3, 0.2], [0.7, 0.1]]}, ["1", "0"])
    tab = EmbeddingsTab(run.service, run.window)
    projection = {"xy": [[0, 0], [1, 1]], "words": ["cat", "dog"]}
    tab.finished({"word": "cat", "model": [("dog", 0.9)], "projection": projection})
    assert gates.canvas.backgroundBrush().color() == QColor(LIGHT["pane"])
    switch(run)
    assert gates.canvas.backgroundBrush().color() == QColor(DARK["pane"])
    plots = [gates.canvas.getItem(row, 0) for row in range(2)]
    assert [p.titleLabel.text for p in plots] == ["update", "reset"]
    for p in plots:
        assert DARK["text"] in p.titleLabel.item.toHtml().lower()
        assert p.getAxis("bottom").textPen().color() == QColor(DARK["muted"])
    assert list(gates.images) == ["update", "reset"]
    assert tab.scatter.backgroundBrush().color() == QColor(DARK["pane"])
    import pyqtgraph as pg

    items = tab.scatter.getPlotItem().items
    words = [i for i in items if isinstance(i, pg.TextItem)]
    assert sorted(w.toPlainText() for w in words) == ["cat", "dog"]
    assert all(w.color == QColor(DARK["text"]) for w in words)
    points = [i for i in items if isinstance(i, pg.PlotDataItem)]
    assert len(points) == 1 and points[0].opts["symbolBrush"] == DARK["accent"]
    assert DARK["text"] in tab.scatter.getPlotItem().titleLabel.item.toHtml().lower()


# ------------------------------------------------------------------------------ 6. caption detail
def test_the_caption_timeline_tiles_and_beams_take_the_new_colours(run):
    from desktop.widgets.caption_detail import CaptionDetail
    from desktop.widgets.caption_grid import ICON

    detail = CaptionDetail(run.window)
    thumb = np.zeros((40, 40, 3), np.uint8)  # square: the tile shows on its left and right
    scene = {
        "start_s": 0.0,
        "end_s": 1.0,
        "caption": "a red screen",
        "thumb": thumb,
        "frame": None,
        "words": ["a", "red", "screen"],
        "attention": [],
        "logprob": -2.0,
        "alternatives": [("a screen", -3.5)],
    }
    item = {
        "name": "v.mp4",
        "path": "/x/v.mp4",
        "media": "video",
        "caption": "a screen",
        "words": ["a", "screen"],
        "attention": [],
        "logprob": -3.0,
        "alternatives": [("the screen", -4.25)],
        "thumb": thumb,
        "preview": None,
        "scenes": [scene],
    }
    detail.show_item(item)

    def tile(row: int) -> QColor:
        image = detail.timeline.item(row).icon().pixmap(ICON).toImage()
        return image.pixelColor(4, image.height() // 2)

    assert detail.timeline.count() == 2 and tile(1) == QColor(LIGHT["surface"])
    assert LIGHT["muted"] in detail.beams.text()
    switch(run)
    assert tile(0) == tile(1) == QColor(DARK["surface"])
    assert swapped(detail.beams.text(), "muted") and "the screen" in detail.beams.text()
    detail.timeline.setCurrentRow(1)  # a scene's beams, drawn after the switch
    assert DARK["muted"] in detail.beams.text() and "a screen" in detail.beams.text()
    switch(run, "light")
    assert LIGHT["muted"] in detail.beams.text() and DARK["muted"] not in detail.beams.text()
    assert "a screen" in detail.beams.text() and tile(1) == QColor(LIGHT["surface"])


# ------------------------------------------------------------------------------------- 8. icons
def test_icons_drawn_as_pixmaps_take_the_new_colours(run):
    from desktop.views.placeholder import PlaceholderPanel
    from desktop.widgets.drop_zone import DropZone
    from desktop.widgets.notice import Notice
    from desktop.widgets.summary_view import SummaryView

    w = run.window
    labels = {
        "notice": (Notice("Saved.", "info", None, 0, w).findChildren(QLabel)[0], "accent"),
        "error": (Notice("Broken.", "error", None, 0, w).findChildren(QLabel)[0], "danger"),
        "drop": (DropZone("Drop", "files", parent=w).icon, "muted"),
        "placeholder": (PlaceholderPanel("Soon", "text", "train", parent=w).findChildren(QLabel)[0], "muted"),
        "summary": (SummaryView(w).empty.findChildren(QLabel)[0], "muted"),
    }
    for name, (label, key) in labels.items():
        assert near(ink(label.pixmap()), LIGHT[key]), name
    switch(run)
    for name, (label, key) in labels.items():
        assert near(ink(label.pixmap()), DARK[key]), name
