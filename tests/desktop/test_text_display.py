"""Text the user or the bot wrote, and names of files and chats, are shown as written: chat bubbles
(HTML and entities stay text, line breaks are kept, long words wrap), the chat header, notices and
banners, the caption title; and a dropped text file in any common encoding reaches the composer."""

from __future__ import annotations

import pytest
from desktop_testkit import WAIT_MS, recorder
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextDocument, QTextLayout
from PySide6.QtWidgets import QLabel

TRICKY_TITLE = "<img src=x> <b>Secret</b> plan for the <u>week</u>"


def _html_text(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText().replace("\u200b", "")  # the bubble's break chances are invisible


def shown(label: QLabel) -> str:
    """The text a label draws, as QLabel decides it (AutoText: HTML when it looks like HTML)."""
    text = label.text()
    fmt = label.textFormat()
    rich = fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(text))
    return _html_text(text) if rich else text


def shown_tip(tip: str) -> str:
    """What a tooltip shows: Qt takes one that looks like HTML as HTML."""
    return _html_text(tip) if QtGui.Qt.mightBeRichText(tip) else tip


def _row(qtbot, text: str, role: str = "user", width: int = 420):
    from desktop.widgets.bubble import MessageRow

    row = MessageRow({"id": 1, "role": role, "text": text, "status": "complete"})
    qtbot.addWidget(row)
    row.set_max_width(width)
    row.resize(width + 80, 300)
    row.show()
    return row


# ------------------------------------------------------------------------------ chat bubbles
@pytest.mark.parametrize(
    "text",
    [
        "x<y and y>z",
        "how do I declare List<String> in Java?",
        "<img src=x> after image",
        "tag <script>alert(1)</script> after",
        "<!-- hidden --> visible",
        "<b>not bold</b> <h1>no heading</h1> <font color=red size=7>big</font>",
        '<a href="http://evil">click</a>',
        "&amp; &lt;b&gt; &#65; &copy; but AT&T and R&D",
    ],
)
def test_a_bubble_shows_html_and_entities_as_typed(qtbot, text):
    row = _row(qtbot, text)
    assert shown(row.text) == text
    assert "font-weight:700" not in row.text.text() and 'href="http://evil"' not in row.text.text()


def test_markdown_is_still_formatted_in_a_bubble(qtbot):
    row = _row(qtbot, "**bold** and `x<y` and [site](https://example.com/a?b=1&c=2)\n\n- one\n- two")
    html = row.text.text()
    assert "font-weight:700" in html and "<li" in html and 'href="https://example.com/a?b=1&amp;c=2"' in html
    assert shown(row.text).split("\n") == ["bold and x<y and site", "one", "two"]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("\n".join(f"line {i}" for i in range(200)), [f"line {i}" for i in range(200)]),
        ("col1\tcol2\tcol3\nA\tB\tC", ["col1\tcol2\tcol3", "A\tB\tC"]),  # rows stay rows
        ("first\r\nsecond\rthird\u2028fourth\u2029fifth", ["first", "second", "third", "fourth", "fifth"]),
        ("*a line\nand the next*", ["a line", "and the next"]),
        ("- item\n  more of it\n- next", ["item", "more of it", "next"]),
        ("see https://example.com/x\nnext", ["see https://example.com/x", "next"]),
    ],
)
def test_a_bubble_keeps_the_line_breaks(qtbot, text, lines):
    row = _row(qtbot, text)
    assert shown(row.text).split("\n") == lines


def test_line_breaks_do_not_undo_markdown_blocks(qtbot):
    from desktop.widgets.bubble import render_markdown

    html = render_markdown("# Title\ntext\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n<b> &amp;\n```\nafter")
    assert "<h1" in html and "<table" in html and "white-space:pre-wrap" in html  # the code block
    assert _html_text(html).split("\n") == ["Title", "text", "a", "b", "1", "2", "", "<b> &amp;", "after"]
    assert 'href="https://example.com/x"' in render_markdown("see https://example.com/x\nnext")
    setext = render_markdown("Heading\n===\nbody")
    assert "<h1" in setext and _html_text(setext).split("\n") == ["Heading", "body"]


def test_a_long_word_wraps_inside_the_bubble_and_copies_whole(qtbot):
    blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 140  # ~5,000 characters, no break point
    row = _row(qtbot, f"blob: {blob} end", width=420)
    room = 420 - 30
    label = row.text
    assert label.heightForWidth(room) > 20 * label.fontMetrics().height()  # wrapped, not one clipped line
    doc = QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setHtml(label.text())
    doc.setTextWidth(room)
    assert doc.size().width() <= room + 1
    assert shown(label) == f"blob: {blob} end"
    QGuiApplication.clipboard().clear()
    label.setSelection(0, len(shown(label)) + label.text().count("\u200b"))
    label.setFocus()
    qtbot.keyClick(label, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == f"blob: {blob} end"  # without the break chances


# ------------------------------------------------------------------ header, notices, banners
def test_a_chat_title_with_markup_is_shown_as_written(qtbot, start_app, send_message):
    run = start_app()
    run.window.resize(1400, 800)
    send_message(run, TRICKY_TITLE)
    header = run.chat.header
    qtbot.waitUntil(lambda: header.title.toolTip() != "", timeout=WAIT_MS)
    title = shown(header.title)  # cut to the label's width: measured as text, not as markup ("S…")
    assert title.startswith("<img src=x> <b>Secret") and TRICKY_TITLE.startswith(title.rstrip("…"))
    assert shown_tip(header.title.toolTip()) == TRICKY_TITLE
    run.chat.history.conversations.delete_requested.emit(run.chat.cid)
    qtbot.waitUntil(lambda: bool(run.window.notices.notices()), timeout=WAIT_MS)
    label = run.window.notices.notices()[-1].label
    assert shown(label) == f"Deleted “{TRICKY_TITLE}” (Ctrl+Z undoes)."


def test_a_plain_title_keeps_a_plain_tooltip(qtbot):
    from desktop.widgets.chat_chrome import ChatHeader

    header = ChatHeader()
    qtbot.addWidget(header)
    for title in ("Hello bot", "R&D and AT&T", "a < b"):
        header.set_title(title)
        assert header.title.toolTip() == title and shown(header.title) == title


def test_banners_show_names_as_written(qtbot):
    from desktop.widgets.chat_chrome import ModelBanner
    from desktop.widgets.notice import MessageBanner

    text = "Could not open <b>bold <i>pic.png: <img src=x> missing"
    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.show_message(text)
    assert shown(banner.label) == text
    model_banner = ModelBanner()
    qtbot.addWidget(model_banner)
    model_banner.show_problem(f"Could not load the chat model {text}")
    assert shown(model_banner.label) == f"Could not load the chat model {text}"


# ---------------------------------------------------------------------------- dropped files
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Temperatur in °C, Grüße\n".encode("latin-1"), "Temperatur in °C, Grüße\n"),
        ("“Smart” quotes — and €5\r\n".encode("cp1252"), "“Smart” quotes — and €5\n"),
        ("UTF-16 with a BOM: שלום\n".encode("utf-16"), "UTF-16 with a BOM: שלום\n"),
        ("\ufeffUTF-8 with a BOM\n".encode(), "UTF-8 with a BOM\n"),
    ],
)
def test_a_dropped_text_file_in_another_encoding_goes_into_the_message_box(
    qtbot, start_app, tmp_path, data, expected
):
    run = start_app()
    path = tmp_path / "dropped.txt"
    path.write_bytes(data)
    notices = recorder(run.chat.notice_requested)
    run.chat.handle_drop([str(path)])
    assert run.chat.composer.text() == expected and notices.calls == []


def test_a_dropped_binary_file_is_still_refused(qtbot, start_app, tmp_path):
    run = start_app()
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    notices = recorder(run.chat.notice_requested)
    run.chat.handle_drop([str(path)])
    qtbot.waitUntil(lambda: bool(notices.calls), timeout=WAIT_MS)
    assert notices.calls[0][0] == "photo.txt is not a text file." and run.chat.composer.text() == ""


# ---------------------------------------------------------------------------- caption title
def _detail(qtbot, name: str, width: int = 520):
    from desktop.widgets.caption_detail import CaptionDetail

    detail = CaptionDetail()
    qtbot.addWidget(detail)
    detail.resize(width, 700)
    detail.show()
    detail.show_item({"name": name, "path": f"/pics/{name}", "media": "image", "error": "unreadable"})
    return detail


def test_the_caption_title_shows_a_file_name_as_written(qtbot):
    name = "<b>bold <i>pic.png"
    detail = _detail(qtbot, name)
    assert shown(detail.title).lstrip("\u200e") == name
    assert shown_tip(detail.title.toolTip()) == name


def test_a_hebrew_file_name_keeps_its_extension_at_the_end(qtbot):
    detail = _detail(qtbot, "שלום תמונה.png")
    text = shown(detail.title)
    layout = QTextLayout(text, detail.title.font())
    layout.beginLayout()
    line = layout.createLine()
    layout.endLayout()
    ext, hebrew = text.index(".png"), text.index("ש")
    assert line.cursorToX(ext + 1)[0] > line.cursorToX(hebrew)[0]  # ".png" drawn right of the name


def test_a_long_caption_title_is_elided_with_the_name_as_tooltip(qtbot):
    name = "a-very-long-file-name " * 10 + ".png"
    detail = _detail(qtbot, name)
    qtbot.waitUntil(lambda: shown(detail.title).endswith("…"), timeout=WAIT_MS)
    title = detail.title
    assert title.fontMetrics().horizontalAdvance(title.text()) <= title.width()
    assert title.geometry().right() < detail.copy_button.geometry().left()
    assert title.toolTip() == name


def test_control_characters_in_a_file_name_stay_on_one_line(qtbot):
    detail = _detail(qtbot, "two\nlines\tand tab\x07.png")
    assert shown(detail.title).lstrip("\u200e") == "two lines and tab\ufffd.png"
    assert detail.title.toolTip() == "two\nlines\tand tab\x07.png"


def _link_colors(label: QLabel) -> set[str]:
    """The colours the label's links are drawn in."""
    doc = QTextDocument()
    doc.setHtml(label.text())
    colors, block = set(), doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isAnchor():
                colors.add(fmt.foreground().color().name())
            it += 1
        block = block.next()
    return colors


def test_links_stand_out_on_either_bubble_and_follow_the_theme(qtbot):
    """Qt wrote the accent colour into every link: on the accent-blue user bubble a link was
    invisible, and a theme change left it in the old theme's colour."""
    from PySide6.QtWidgets import QApplication

    from desktop import theme

    app = QApplication.instance()
    text = "see [the docs](http://example.org) and http://example.com/a"
    try:
        theme.apply(app, "light", 10)
        user, bot = _row(qtbot, text, "user"), _row(qtbot, text, "bot")
        light = theme.current_colors()
        assert _link_colors(user.text) == {light["user_text"]} != {light["user_bubble"]}
        assert _link_colors(bot.text) == {light["accent"]}
        theme.apply(app, "dark", 10)
        theme.retheme(bot)
        assert _link_colors(bot.text) == {theme.current_colors()["accent"]} != {light["accent"]}
    finally:
        theme.apply(app, "light", 10)


def test_a_long_line_of_code_wraps_and_keeps_its_spaces(qtbot):
    """A QLabel lays out a code block as <pre>, unwrapped: a long line of code ran past the
    bubble's edge and could not be read."""
    line = "result = compute(" + ", ".join(f"argument_{i}" for i in range(30)) + ")"
    row = _row(qtbot, f"try this:\n\n```python\n{line}\n    indented  =  2\n```\n", "bot", width=420)
    room = 420 - 30
    doc = QTextDocument()
    doc.setDefaultFont(row.text.font())
    doc.setHtml(row.text.text())
    doc.setTextWidth(room)
    assert doc.size().width() <= room + 1
    assert "    indented  =  2" in doc.toPlainText()  # spaces kept
    assert row.text.heightForWidth(room) > 4 * row.text.fontMetrics().height()
