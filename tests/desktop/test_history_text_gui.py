"""Search result rows of the history pane with hard text (found in a bug hunt): a long word, a
right-to-left title. Each test fails on the code before its fix."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextDocument, QTextOption

from desktop import theme
from desktop.views.history import HistoryPane, _result_html

URL = "https://example.com/" + "A1b2C3d4" * 6


@pytest.fixture
def pane(qtbot):
    from PySide6.QtWidgets import QApplication

    theme.apply(QApplication.instance(), "light", 10)  # the app's style sheet: rows have margins
    pane = HistoryPane()
    qtbot.addWidget(pane)
    pane.resize(260, 600)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def _hit(title: str, text: str, matches: list) -> dict:
    return {
        "kind": "message",
        "id": 1,
        "conversation_id": 1,
        "title": title,
        "snippet_text": text,
        "matches": matches,
        "created_at": "2024-05-01T10:00:00.000Z",
    }


def test_a_row_is_as_tall_as_its_text_wrapped_at_the_rows_width(pane, qtbot):
    """The row took the label's size hint (46089×78 for a long URL: its text unwrapped), so the
    snippet line under a wrapped title was cut off."""
    snippet = f"see this …{URL[10:50]}… end"
    start = snippet.index("A1b2")
    hits = [_hit("see this " + URL, snippet, [[start, start + 28]]), _hit("short", "a snippet", [[2, 9]])]
    pane.search.setText("A1b2C3d4")
    pane._timer.stop()  # the rows below stand in for the history's answer
    pane.show_results("A1b2C3d4", hits)
    qtbot.wait(20)
    width = pane.results.viewport().width()
    for row in range(2):
        item = pane.results.item(row)
        label = pane.results.itemWidget(item)
        hint = item.sizeHint()
        assert hint.width() <= width
        assert label.height() == label.heightForWidth(label.width())  # inside the row's margins
        margins = label.contentsMargins()
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        option = doc.defaultTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)  # as a label wraps: never inside a word
        doc.setDefaultTextOption(option)
        doc.setHtml(label.text())
        doc.setTextWidth(label.width() - margins.left() - margins.right())
        assert doc.idealWidth() <= doc.textWidth()  # every line fits: the long word wraps too
        assert doc.size().height() <= hint.height() - margins.top() - margins.bottom() + 1
    first = pane.results.itemWidget(pane.results.item(0))
    assert first.heightForWidth(first.width()) > pane.results.itemWidget(pane.results.item(1)).height()


def _x(layout, text: str, word: str) -> tuple[int, float]:
    """(line, x) of a point inside ``word`` (not at a run's edge, where the cursor's x is ambiguous)."""
    i = text.index(word) + 1
    line = layout.lineForTextPosition(i)
    x = line.cursorToX(i)
    return line.lineNumber(), x[0] if isinstance(x, tuple) else x


@pytest.mark.parametrize("title", ["שלום 2024 עולם abc", "مرحبا بالعالم abc", "abc שלום עולם"])
def test_the_kind_and_time_follow_a_right_to_left_title_whole(qtbot, title):
    """In a Hebrew title with a Latin word the meta landed between the title's words:
    "abc · Chat · 14:01 שלום 2024 עולם"."""
    rich, plain = _result_html(_hit(title, "snippet", []), theme.current_colors())
    assert plain.startswith(f"{title}, Chat, ")
    doc = QTextDocument()
    doc.setHtml(rich)
    doc.setTextWidth(2000)  # one line
    doc.size()  # (lays the document out)
    block = doc.firstBlock()
    layout, text = block.layout(), block.text()
    words = [w for w in title.split() if not w.isdigit()]
    title_x = [_x(layout, text, w) for w in words]
    meta = _x(layout, text, "Chat")
    assert {line for line, _ in title_x} == {meta[0]} == {0}
    xs = [x for _, x in title_x]
    if block.textDirection().name == "RightToLeft":
        assert meta[1] < min(xs)  # the end of a right-to-left line is its left
    else:
        assert meta[1] > max(xs)
