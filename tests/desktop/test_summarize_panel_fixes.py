"""Summarize panel fixes from the panel and history bug hunts: a search hit never cancels a running
summary silently, reopening a summary over a typed draft can be undone, every input has a name a
screen reader says, Chinese text gets sensible word counts, and the panes fit at every text size."""

from __future__ import annotations

import threading
import time

import pytest
from desktop_testkit import wait_done
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QFont, QFontMetrics
from PySide6.QtWidgets import QApplication

from desktop import summarize_ops as ops
from desktop import theme
from engine.text import normalize


@pytest.fixture
def panel(panel_of):
    return panel_of("summarize")


def _hold(release: threading.Event, result: dict, cancel=None) -> dict:
    """A job that runs until released (or cancelled): stands in for a long summary."""
    while not release.is_set() and not (cancel is not None and cancel.cancelled):
        time.sleep(0.01)
    return {"cancelled": True} if cancel is not None and cancel.cancelled else result


@pytest.fixture
def restore_look():
    yield
    theme.apply(QApplication.instance(), "light", 10)


def spoken_name(widget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def test_a_search_hit_does_not_cancel_a_running_summary(qtbot, panel):
    panel.source.setPlainText("Ferries run again. The harbour reopened on Monday. Crowds came.")
    panel.summarize()
    wait_done(qtbot, panel)
    saved = panel.result["summary_id"]
    release = threading.Event()
    panel._start(_hold, {"release": release, "result": {**panel.result, "title": "long job"}}, "Summarizing…")
    job = panel.job_id
    try:
        panel.run.window._open_history_item("summary", saved)
        assert panel.busy and panel.job_id == job  # still the same job, not cancelled
        assert panel.message.isVisible() and "still being made" in panel.message_label.text()
        qtbot.wait(100)
        assert panel.service.unfinished_jobs() == ["summarize"]  # it runs on
    finally:
        release.set()
    wait_done(qtbot, panel)
    assert panel.result["title"] == "long job"  # the job ran to its end and its result is shown


def test_reopening_a_summary_over_a_typed_draft_can_be_undone(qtbot, panel):
    text = "Ferry services resumed on Monday. The island was cut off for a week. Crowds cheered."
    panel.source.setPlainText(text)
    panel.summarize()
    wait_done(qtbot, panel)
    saved = panel.result["summary_id"]
    panel.clear()
    draft = "My private unsaved draft. It has two sentences."
    panel.source.setFocus()
    qtbot.keyClicks(panel.source, draft)
    panel.run.window._open_history_item("summary", saved)
    wait_done(qtbot, panel)
    assert panel.source.text() == text and panel.source.shaded
    assert panel.source.document().isUndoAvailable()
    qtbot.keyClick(panel.source, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.source.text() == draft  # one step: the draft is back, whole
    assert panel.result is None  # the summary shown was of the other text: retired, as after an edit
    # a text that was set (not typed) is replaced without an undo step, as before
    panel.source.setPlainText("one")
    panel.source.set_text("two")
    assert not panel.source.document().isUndoAvailable()


def test_every_input_has_a_spoken_name(panel):
    c = panel.controls
    assert spoken_name(panel.source) == "Text to summarize"
    assert spoken_name(c.amount) == "Summary length"
    assert spoken_name(c.keywords) == "Number of keywords"
    assert spoken_name(c.beam) == "Beam size"


def test_chinese_text_gets_sensible_word_counts(panel):
    assert ops.count_words("我们今天去公园。天气很好。") == 11  # each character; punctuation is no word
    assert ops.count_words("Parlance 很好 ok") == 4
    assert ops.count_words("x" * (normalize.WORD_CHUNK + 5) + " 我们") == 3  # the piece boundary joins no CJK
    day = "天，渡轮服务在星期一恢复了。岛上的居民已经等待了整整一个星期。游客们也很高兴。"
    text = "".join(f"第{i}{day}" for i in range(6))
    result = ops.summarize_text(text, {**panel.controls.settings(), "value": 2})
    assert 0 < result["summary_words"] <= result["n_words"]
    assert result["n_words"] > 100
    panel.show_result(result)
    assert f"{result['n_words']:,} words" in panel.origin_label.text()


def test_segment_buttons_fit_their_bold_text_after_a_text_size_change(qtbot, panel, restore_look):
    theme.apply(QApplication.instance(), "light", 18)
    button = panel.controls.textrank_button

    def fits() -> bool:
        bold = QFont(button.font())
        bold.setWeight(QFont.Weight.DemiBold)
        return button.minimumWidth() >= QFontMetrics(bold).horizontalAdvance("TextRank") + 26

    qtbot.waitUntil(lambda: button.font().pointSizeF() == 18)
    qtbot.waitUntil(fits, timeout=2000)
    assert (
        panel.controls.length_buttons["sentences"].width()
        >= panel.controls.length_buttons["sentences"].minimumWidth()
    )


def _summary_body(panel):
    from PySide6.QtWidgets import QScrollArea

    return next(s for s in panel.summary.findChildren(QScrollArea) if s.objectName() == "SummaryScroll")


@pytest.mark.parametrize("method", ["abstractive", "textrank"])
def test_the_summary_fits_its_pane_in_a_900_px_window(qtbot, panel, method):
    from desktop.views import summarize as view

    view.demo(panel, method=method)
    panel.window().resize(900, 700)
    scroll = _summary_body(panel)
    qtbot.waitUntil(lambda: scroll.viewport().width() < 400)
    qtbot.wait(50)
    body = scroll.widget()
    assert body.minimumSizeHint().width() <= scroll.viewport().width()
    assert body.width() <= scroll.viewport().width()  # nothing cut on the right
    legend = panel.summary.legend
    assert legend.height() >= legend.heightForWidth(legend.width())  # wrapped lines all shown


def test_pane_and_control_minimums_follow_the_text_size(qtbot, panel, restore_look):
    c = panel.controls
    base = {w: w.minimumWidth() for w in (c.amount, c.keywords, c.run_button, panel.source.parentWidget())}
    combo = panel.model_picker.combo
    base_combo = (combo.minimumWidth(), combo.maximumWidth())
    theme.apply(QApplication.instance(), "light", 18)
    qtbot.waitUntil(lambda: c.run_button.font().pointSizeF() == 18)
    qtbot.waitUntil(lambda: c.run_button.minimumWidth() >= 1.7 * base[c.run_button], timeout=2000)
    for w, px in base.items():
        assert w.minimumWidth() >= 1.7 * px, w
    assert combo.minimumWidth() >= 1.7 * base_combo[0] and combo.maximumWidth() >= 1.7 * base_combo[1]
    assert combo.minimumWidth() <= combo.maximumWidth()


def test_a_long_origin_is_elided_and_leaves_the_model_picker_its_room(qtbot, panel):
    panel.controls.abstractive_button.setChecked(True)  # shows the picker
    panel.origin_label.setText("   " + "a_very_long_file_name_" * 6 + ".txt · 1,234 words")
    panel.window().resize(900, 700)
    picker = panel.model_picker
    qtbot.waitUntil(lambda: picker.isVisible() and panel.header.width() < 900)
    qtbot.wait(50)
    assert picker.combo.width() >= picker.combo.minimumWidth()
    assert picker.info_button.x() >= picker.combo.geometry().right()  # (i) beside the combo, not on it
    label = panel.origin_label
    assert label.width() < label.fontMetrics().horizontalAdvance(label.text())
    label.grab()  # paints: the elided text, and the whole text as the tooltip
    assert label.toolTip() == label.text()


def test_the_source_title_is_not_shown_as_the_summary(qtbot, panel):
    """The article's own title stood large and bold above the summary, which read as the summary."""
    panel.source.setPlainText("Ferry <returns> to service\n\n" + "The ferry came back on Monday. " * 5)
    panel.controls.run_button.click()
    wait_done(qtbot, panel)
    title = panel.summary.title
    assert title.text() == "Of “Ferry <returns> to service”" and title.objectName() == "MutedLabel"
