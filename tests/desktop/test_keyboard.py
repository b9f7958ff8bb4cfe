"""The chat and the window with the keyboard only, and what a screen reader is told (found in a
bug hunt of keyboard use and accessibility): each test fails on the code before its fix."""

from __future__ import annotations

from desktop_testkit import WAIT_MS, long_chat
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog


def _user_rows(run):
    rows = run.chat.messages.rows
    return [rows[m] for m in run.chat.messages.order if rows[m].role == "user"]


def _focus(qtbot, run, widget) -> None:
    run.window.activateWindow()
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=WAIT_MS)


def test_focus_on_the_conversation_list_opens_nothing_and_a_draft_starts_a_new_chat(
    qtbot, start_app, send_message
):
    """Tab onto the list made its first row current, which opened that conversation, and the new
    chat's draft was then sent into it."""
    run = start_app()
    send_message(run, "an older conversation")
    run.chat.new_chat()
    run.chat.composer.set_text("my new topic")
    lst = run.chat.history.conversations
    _focus(qtbot, run, lst)
    qtbot.wait(50)
    assert run.chat.cid is None
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not run.chat.generating and len(lst.ids()) == 2, timeout=WAIT_MS)
    _focus(qtbot, run, lst)
    qtbot.keyClick(lst, Qt.Key.Key_Home)
    qtbot.keyClick(lst, Qt.Key.Key_Return)  # Enter on the current row opens it
    qtbot.waitUntil(lambda: run.chat.cid == lst.ids()[0], timeout=WAIT_MS)


def test_down_from_the_search_field_goes_into_the_results(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "zebra crossing")
    search = run.chat.history.search
    _focus(qtbot, run, search)
    qtbot.keyClicks(search, "zebra")
    results = run.chat.history.results
    qtbot.waitUntil(lambda: results.count() >= 1, timeout=WAIT_MS)
    qtbot.keyClick(search, Qt.Key.Key_Down)
    assert results.hasFocus() and results.currentRow() == 0
    item = results.item(0)
    assert "zebra crossing" in item.data(Qt.ItemDataRole.AccessibleTextRole)


def test_a_search_hit_of_a_deleted_conversation_does_not_strand_the_chat(qtbot, start_app, send_message):
    """Choosing it set the chat on a conversation that no longer existed: every send then failed."""
    run = start_app()
    send_message(run, "zebra crossing")
    cid = run.chat.cid
    run.chat.history.search.setText("zebra")
    results = run.chat.history.results
    qtbot.waitUntil(lambda: results.count() == 1, timeout=WAIT_MS)
    stale = results.item(0).data(Qt.ItemDataRole.UserRole)
    run.service.delete_conversation(cid)
    qtbot.waitUntil(lambda: run.chat.cid is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: results.count() == 0, timeout=WAIT_MS)  # the results were asked again
    run.chat._on_result(stale)  # a hit chosen before the refresh arrived
    assert run.chat.cid is None


def test_ctrl_z_brings_back_the_conversation_deleted_last(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "keep me")
    lst = run.chat.history.conversations
    run.service.delete_conversation(run.chat.cid)
    qtbot.waitUntil(lambda: lst.ids() == [], timeout=WAIT_MS)
    _focus(qtbot, run, lst)
    qtbot.keyClick(lst, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(lst.ids()) == 1, timeout=WAIT_MS)
    qtbot.keyClick(lst, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # not twice
    qtbot.wait(100)
    assert len(lst.ids()) == 1


def test_editing_a_sent_message_with_the_keyboard(qtbot, start_app, send_message):
    """Enter typed a new line, Esc did nothing and Tab typed a tab at the start of the text."""
    run = start_app(script="Answer {n}.")
    send_message(run, "first question")
    row = _user_rows(run)[0]
    row.edit_button.click()
    field = row.edit_field
    assert field.textCursor().position() == len("first question")  # the cursor at the end
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert row._editor is None and run.chat.messages.rows  # cancelled
    row.edit_button.click()
    field = row.edit_field
    qtbot.keyClicks(field, ", edited")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not run.chat.generating and bool(_user_rows(run)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _user_rows(run)[0].full_text() == "first question, edited", timeout=WAIT_MS)


def test_icon_only_buttons_have_names_for_screen_readers(start_app, send_message):
    run = start_app()
    send_message(run, "hello")
    header = run.chat.header
    assert header.export_button.accessibleName() == "Export this conversation"
    assert header.side_button.accessibleName().startswith("Show or hide")
    row = _user_rows(run)[0]
    assert row.edit_button.accessibleName() and run.chat.composer.send_button.accessibleName() == "Send"
    assert run.window.nav.buttons["chat"].toolTip() == "Chat (Ctrl+1)"


def test_ctrl_n_and_ctrl_f_work_from_every_panel(qtbot, start_app):
    run = start_app()
    run.window.select_panel("summarize")
    _focus(qtbot, run, run.window)
    qtbot.keyClick(run.window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert run.window.current_key() == "chat" and run.chat.history.search.hasFocus()


def test_an_export_named_without_extension_gets_one(qtbot, start_app, send_message, tmp_path, monkeypatch):
    run = start_app()
    send_message(run, "hello")
    bare = tmp_path / "notes"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(bare), ""))
    run.chat.ask_export(run.chat.cid, "md")
    qtbot.waitUntil(lambda: (tmp_path / "notes.md").is_file(), timeout=WAIT_MS)


def test_opening_the_train_panel_shows_no_stray_windows(qtbot, start_app):
    """Its tabs were built without a parent: buttons and plots flashed up as windows of their own."""
    run = start_app()
    shown: list[str] = []
    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    from PySide6.QtCore import QEvent, QObject

    class Watch(QObject):
        def eventFilter(self, obj, event):
            new = obj.isWidgetType() and obj.isWindow() and id(obj) not in before and obj is not run.window
            if event.type() == QEvent.Type.Show and new:
                shown.append(type(obj).__name__)
            return False

    watch = Watch()
    QApplication.instance().installEventFilter(watch)
    try:
        run.window.select_panel("train")
    finally:
        QApplication.instance().removeEventFilter(watch)
    assert shown == []


def test_undo_and_ctrl_z_bring_a_conversation_back_once(qtbot, start_app, send_message):
    """Review: the notice's Undo after Ctrl+Z restored a second copy."""
    run = start_app()
    send_message(run, "only once")
    lst = run.chat.history.conversations
    cid = run.chat.cid
    run.service.delete_conversation(cid)
    qtbot.waitUntil(lambda: lst.ids() == [], timeout=WAIT_MS)
    run.chat.undo_delete()  # Ctrl+Z
    run.chat.undo_delete(cid)  # then the notice's Undo
    qtbot.waitUntil(lambda: len(lst.ids()) == 1, timeout=WAIT_MS)
    qtbot.wait(150)
    assert len(lst.ids()) == 1


def _message_stops(run) -> list:
    """The message buttons Tab stops on, going round the window's focus chain once."""
    start = run.chat.composer.edit
    stops, w = [], start.nextInFocusChain()
    while w is not start:
        reachable = w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        if reachable and run.chat.messages.widget().isAncestorOf(w):
            stops.append(w)
        w = w.nextInFocusChain()
    return stops


def test_tab_crosses_a_long_chat_in_one_row_and_arrows_move_between_messages(qtbot, start_app, send_message):
    """Every button of every message was a Tab stop: 7 per exchange, about 200 in a long chat
    before the keyboard reached the decoding panel again."""
    run = start_app(script="Answer {n}.")
    for i in range(6):
        send_message(run, f"question {i}")
    messages = run.chat.messages
    last = messages.rows[messages.order[-1]]
    qtbot.waitUntil(last.copy_button.isVisible, timeout=WAIT_MS)  # a new row is shown by a queued call
    stops = _message_stops(run)
    assert stops and all(messages._row_of(b) is last for b in stops)  # only the newest reply's buttons
    copy = last.copy_button
    _focus(qtbot, run, copy)
    qtbot.keyClick(copy, Qt.Key.Key_Up)  # the question before it, same kind of button
    question = messages.rows[messages.order[-2]]
    assert question.copy_button.hasFocus() and messages.current == question.mid
    assert all(messages._row_of(b) is question for b in _message_stops(run))
    assert "question 5" in question.copy_button.accessibleDescription()  # what a screen reader hears
    qtbot.keyClick(question.copy_button, Qt.Key.Key_Home)
    first = messages.rows[messages.order[0]]
    assert first.copy_button.hasFocus()
    qtbot.keyClick(first.copy_button, Qt.Key.Key_End)
    assert last.copy_button.hasFocus()
    qtbot.keyClick(last.copy_button, Qt.Key.Key_Down)  # nothing below: focus stays
    assert last.copy_button.hasFocus()


def test_results_narrow_to_one_kind_and_a_summary_found_can_be_deleted_and_restored(
    qtbot, start_app, tmp_path
):
    """Summaries, captions and forecasts could not be deleted at all; the hint "No conversations
    yet" stood under the results of a history without chats."""
    from engine.history import HistoryStore

    data = tmp_path / "data"
    data.mkdir()
    with HistoryStore(data / "history.db") as s:
        s.add_summary("A private article about quokkas.", "Quokkas.", "textrank", {"origin": "quokka.txt"})
        s.add_caption("q.png", "0" * 64, "a quokka", {})
    run = start_app(data_dir=data)
    pane = run.chat.history
    qtbot.waitUntil(pane.empty.isVisible, timeout=WAIT_MS)  # no conversations
    pane.search.setText("quokka")
    results = pane.results
    qtbot.waitUntil(lambda: results.count() == 2, timeout=WAIT_MS)
    assert not pane.empty.isVisible()
    pane.kind_box.setCurrentIndex(pane.kind_box.findText("Summaries"))
    qtbot.waitUntil(lambda: results.count() == 1, timeout=WAIT_MS)
    assert results.item(0).data(Qt.ItemDataRole.UserRole)["kind"] == "summary"
    _focus(qtbot, run, results)
    results.setCurrentRow(0)
    qtbot.keyClick(results, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: results.count() == 0, timeout=WAIT_MS)
    notice = run.window.notices.notices()[-1]
    assert "Deleted the summary “quokka.txt”" in notice.text
    notice.action_button.click()  # Undo
    qtbot.waitUntil(lambda: results.count() == 1, timeout=WAIT_MS)
    pane.clear_search()
    assert pane.empty.isVisible()


def test_up_on_the_oldest_message_drawn_draws_the_page_before_it(qtbot, start_app, tmp_path):
    """In a long chat Up stopped at the oldest of the 60 rows drawn: the earlier messages could
    only be reached with the mouse ("Show earlier messages")."""
    from desktop.widgets.message_list import PAGE

    data = tmp_path / "data"
    cid, _ = long_chat(data, 40)
    run = start_app(data_dir=data)
    messages = run.chat.messages
    run.chat.open_conversation(cid)
    qtbot.waitUntil(lambda: len(messages.rows) == PAGE, timeout=WAIT_MS)
    oldest = messages.rows[messages.shown[0]]
    qtbot.waitUntil(oldest.copy_button.isVisible, timeout=WAIT_MS)
    messages._set_current(oldest.mid)
    _focus(qtbot, run, oldest.copy_button)
    qtbot.keyClick(oldest.copy_button, Qt.Key.Key_Up)
    assert len(messages.rows) == 80 and not messages.earlier.isVisible()
    before = messages.rows[messages.order[messages.order.index(oldest.mid) - 1]]
    assert messages.current == before.mid and before.copy_button.hasFocus()
