"""Chat behaviour through the real window and engine service (scripted bot, offscreen)."""

from __future__ import annotations

import json

from desktop_testkit import WAIT_MS, long_chat, recorder
from PySide6.QtCore import Qt

LONG = " ".join(f"word{i}" for i in range(60))


def _bot_rows(run):
    rows = run.chat.messages.rows
    return [rows[m] for m in run.chat.messages.order if rows[m].role == "bot"]


def _user_rows(run):
    rows = run.chat.messages.rows
    return [rows[m] for m in run.chat.messages.order if rows[m].role == "user"]


def test_the_bot_is_told_which_replies_were_its_own(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "Hello bot")
    send_message(run, "Tell me more")
    calls = run.loader.bots[0].calls
    assert calls[0]["own_replies"] == []
    assert calls[1]["own_replies"] == [_bot_rows(run)[0].full_text()]  # its first reply, not the user's
    assert calls[1]["turns"][-1] == "Tell me more"


def test_send_streams_reply_token_by_token_and_commits_both(qtbot, start_app, send_message):
    run = start_app()
    tokens: list[str] = []
    run.service.reply_token.connect(lambda _bid, piece: tokens.append(piece))
    info = send_message(run, "Hello bot")
    assert info["status"] == "complete"
    assert len(tokens) == len(run.loader.bots[0].script.split(" ")) > 1
    assert "".join(tokens).strip() == run.loader.bots[0].script
    assert [r.role for r in run.chat.messages.rows.values()] == ["user", "bot"]
    bot = _bot_rows(run)[0]
    assert bot.full_text() == run.loader.bots[0].script
    assert "<b>scripted</b>" in bot.text.text() or "font-weight:700" in bot.text.text()  # Markdown rendered
    db = run.rows("SELECT role, text, status FROM messages ORDER BY id")
    assert db == [
        {"role": "user", "text": "Hello bot", "status": "complete"},
        {"role": "bot", "text": run.loader.bots[0].script, "status": "complete"},
    ]
    title = run.rows("SELECT title FROM conversations")[0]["title"]
    assert title == "Hello bot" and run.chat.header.title.toolTip() == "Hello bot"
    assert (
        run.window.status.speed.text().endswith((" s", " ms")) and "tok/s" in run.window.status.speed.text()
    )


def test_stop_keeps_partial_reply_marked_stopped_in_db(qtbot, start_app):
    run = start_app(script=LONG, delay_s=0.03)
    tokens: list[str] = []
    run.service.reply_token.connect(lambda _bid, piece: tokens.append(piece))
    run.chat.composer.set_text("talk to me")
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(tokens) >= 4, timeout=WAIT_MS)
    assert run.chat.composer.send_button.objectName() == "StopButton"
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)
    bot = run.rows("SELECT text, status FROM messages WHERE role = 'bot'")[0]
    assert bot["status"] == "stopped"
    assert bot["text"] and LONG.startswith(bot["text"]) and len(bot["text"]) < len(LONG)
    row = _bot_rows(run)[0]
    assert row.status_tag.text() == "Stopped" and row.full_text() == bot["text"]


def test_regenerate_and_switch_versions(qtbot, start_app, send_message):
    run = start_app(script="Reply number {n} here.")
    send_message(run, "Say something")
    first = _bot_rows(run)[0]
    first.regen_button.click()
    qtbot.waitUntil(
        lambda: not run.chat.generating and _bot_rows(run)[0].full_text() == "Reply number 2 here.",
        timeout=WAIT_MS,
    )
    bot = _bot_rows(run)[0]
    assert bot.version_label.text() == "2 / 2" and bot.prev_button.isEnabled()
    assert len(run.rows("SELECT id FROM messages WHERE role = 'bot'")) == 2
    bot.prev_button.click()
    qtbot.waitUntil(lambda: _bot_rows(run)[0].full_text() == "Reply number 1 here.", timeout=WAIT_MS)
    assert _bot_rows(run)[0].version_label.text() == "1 / 2"
    _bot_rows(run)[0].next_button.click()
    qtbot.waitUntil(lambda: _bot_rows(run)[0].full_text() == "Reply number 2 here.", timeout=WAIT_MS)


def test_edit_and_rerun_keeps_both_branches(qtbot, start_app, send_message):
    run = start_app(script="Answer {n}.")
    send_message(run, "first question")
    send_message(run, "second question")
    assert [r.full_text() for r in _user_rows(run)] == ["first question", "second question"]
    first = _user_rows(run)[0]
    first.edit_button.click()
    first.edit_field.setPlainText("first question, edited")
    first.edit_save.click()
    qtbot.waitUntil(lambda: not run.chat.generating and len(_user_rows(run)) == 1, timeout=WAIT_MS)
    texts = [run.chat.messages.rows[m].full_text() for m in run.chat.messages.order]
    assert texts == ["first question, edited", "Answer 3."]
    edited = _user_rows(run)[0]
    assert edited.version_label.text() == "2 / 2"
    edited.prev_button.click()
    qtbot.waitUntil(lambda: len(run.chat.messages.order) == 4, timeout=WAIT_MS)
    texts = [run.chat.messages.rows[m].full_text() for m in run.chat.messages.order]
    assert texts == ["first question", "Answer 1.", "second question", "Answer 2."]
    assert len(run.rows("SELECT id FROM messages")) == 6


def test_search_finds_message_and_selects_it(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "apples are my favourite fruit")
    run.chat.new_chat()
    send_message(run, "tell me about bananas please")
    run.chat.new_chat()
    assert run.chat.cid is None
    qtbot.keyClick(run.chat, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert run.chat.history.search.hasFocus()
    qtbot.keyClicks(run.chat.history.search, "banan")
    qtbot.waitUntil(lambda: len(run.chat.history.last_results) == 1, timeout=WAIT_MS)
    results = run.chat.history.last_results
    assert len(results) == 1 and results[0]["kind"] == "message"
    assert "[bananas]" in results[0]["snippet"]
    label = run.chat.history.results.itemWidget(run.chat.history.results.item(0))
    assert "font-weight:600'>bananas</span>" in label.text()
    target = results[0]["id"]
    qtbot.keyClick(run.chat.history.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: run.chat.messages.selected == target, timeout=WAIT_MS)
    assert run.chat.cid == results[0]["conversation_id"]
    assert run.chat.messages.rows[target].bubble.property("selected") == "true"
    assert run.chat.history.conversations.current_id() == run.chat.cid


def test_export_and_import_round_trip(qtbot, start_app, send_message, tmp_path):
    run = start_app()
    send_message(run, "Keep this conversation")
    cid = run.chat.cid
    out_json, out_md = tmp_path / "c.json", tmp_path / "c.md"
    exported = recorder(run.service.exported)
    run.service.export_conversation(cid, "json", str(out_json))
    run.service.export_conversation(cid, "md", str(out_md))
    qtbot.waitUntil(lambda: len(exported.calls) == 2, timeout=WAIT_MS)
    assert exported.calls == [(str(out_json),), (str(out_md),)]
    assert "Keep this conversation" in out_md.read_text(encoding="utf-8")
    exported = json.loads(out_json.read_text(encoding="utf-8"))
    run.chat.handle_drop([str(out_json)])  # dropping a JSON export imports it
    qtbot.waitUntil(
        lambda: run.chat.cid not in (None, cid) and len(run.chat.messages.order) == 2, timeout=WAIT_MS
    )
    texts = [run.chat.messages.rows[m].full_text() for m in run.chat.messages.order]
    assert texts == [m["text"] for m in exported["messages"]]
    assert len(run.rows("SELECT id FROM conversations")) == 2


def test_feedback_rename_delete_and_undo(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "rate me")
    bot = _bot_rows(run)[0]
    bot.up_button.click()
    qtbot.waitUntil(
        lambda: run.rows("SELECT feedback FROM messages WHERE role='bot'")[0]["feedback"] == 1,
        timeout=WAIT_MS,
    )
    bot.down_button.click()
    qtbot.waitUntil(
        lambda: run.rows("SELECT feedback FROM messages WHERE role='bot'")[0]["feedback"] == -1,
        timeout=WAIT_MS,
    )
    cid = run.chat.cid
    run.service.rename_conversation(cid, "Renamed chat")
    qtbot.waitUntil(
        lambda: run.chat.history.conversations.item_for(cid).text() == "Renamed chat", timeout=WAIT_MS
    )
    run.chat.history.conversations.delete_requested.emit(cid)
    qtbot.waitUntil(lambda: run.chat.cid is None and bool(run.window.notices.notices()), timeout=WAIT_MS)
    assert run.rows("SELECT id FROM conversations") == []
    notice = run.window.notices.notices()[-1]
    assert "Renamed chat" in notice.text
    notice.action_button.click()
    qtbot.waitUntil(lambda: run.chat.cid == cid and len(run.chat.messages.order) == 2, timeout=WAIT_MS)
    assert run.rows("SELECT id, title FROM conversations") == [{"id": cid, "title": "Renamed chat"}]


def test_why_this_reply_draws_attention_heat_maps(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "why did you say that")
    bot = _bot_rows(run)[0]
    bot.why_button.click()
    view = run.chat.attention
    qtbot.waitUntil(lambda: view.record is not None, timeout=WAIT_MS)
    assert run.chat.tabs.currentWidget() is view and run.chat.side.isVisible()
    n_out = len(run.loader.bots[0].script.split(" "))
    assert view.word_map.image.image.shape == (n_out, 5)  # generated pieces x context words
    assert view.turn_map.image.image.shape == (n_out, 1)  # generated pieces x turns
    assert view.word_map.cols == ["why", "did", "you", "say", "that"]
    assert view.word_map.rows == run.loader.bots[0].script.split(" ")
    assert bot.bubble.property("selected") == "true"


def test_decoding_settings_are_saved_per_conversation(qtbot, start_app, send_message):
    run = start_app()
    send_message(run, "use beam search")
    cid = run.chat.cid
    run.chat.decoding_panel.method_buttons["beam"].click()
    run.chat.decoding_panel.inputs["beam_size"].setValue(6)
    qtbot.waitUntil(
        lambda: (
            json.loads(run.rows("SELECT settings FROM conversations")[0]["settings"])
            .get("decoding", {})
            .get("beam_size")
            == 6
        ),
        timeout=WAIT_MS,
    )
    send_message(run, "again")
    options = run.loader.bots[0].calls[-1]["options"]
    assert options.method == "beam" and options.beam_size == 6
    run.chat.new_chat()
    assert run.chat.decoding["method"] == "greedy"
    run.chat.open_conversation(cid)
    qtbot.waitUntil(lambda: run.chat.decoding_panel.options()["beam_size"] == 6, timeout=WAIT_MS)


def test_a_failing_reply_is_kept_marked_error_and_reported(qtbot, start_app, send_message):
    run = start_app(raise_after=3)
    info = send_message(run, "break please")
    assert info["status"] == "error"
    qtbot.waitUntil(lambda: bool(run.window.notices.notices()), timeout=WAIT_MS)
    notice = run.window.notices.notices()[-1]
    assert notice.level == "error" and "scripted bot broke down" in notice.text
    bot = run.rows("SELECT text, status FROM messages WHERE role = 'bot'")[0]
    assert bot["status"] == "error" and bot["text"].split() == ["Hello", "there!", "I"]
    assert _bot_rows(run)[0].status_tag.text().startswith("Error")
    assert run.chat.composer.send_button.objectName() == "SendButton"  # ready for the next message


def test_keyboard_new_chat_and_copy(qtbot, start_app, send_message):
    from PySide6.QtGui import QGuiApplication

    run = start_app()
    send_message(run, "copy that")
    _bot_rows(run)[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == run.loader.bots[0].script
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert run.chat.cid is None and run.chat.center_stack.currentWidget() is run.chat.empty
    assert run.chat.history.conversations.current_id() is None


def test_switching_conversations_while_a_reply_streams(qtbot, start_app, send_message):
    run = start_app(script=LONG, delay_s=0.01)
    send_message(run, "first conversation")
    first = run.chat.cid
    run.chat.new_chat()
    run.chat.composer.set_text("second conversation")
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: run.chat.live_bid is not None and run.chat.cid is not None, timeout=WAIT_MS)
    second, live = run.chat.cid, run.chat.live_bid
    run.chat.open_conversation(first)  # the other conversation opens while the reply streams
    qtbot.waitUntil(lambda: run.chat.cid == first and len(run.chat.messages.order) == 2, timeout=WAIT_MS)
    run.chat.open_conversation(second)
    qtbot.waitUntil(lambda: live in run.chat.messages.rows, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: run.chat.messages.rows[live].full_text() == LONG, timeout=WAIT_MS)
    assert run.rows("SELECT text FROM messages WHERE id = ?", (live,))[0]["text"] == LONG


def test_deleting_the_conversation_that_is_streaming_stops_it_cleanly(qtbot, start_app):
    run = start_app(script=LONG, delay_s=0.03)
    run.chat.composer.set_text("doomed")
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: run.chat.live_bid is not None and run.chat.cid is not None, timeout=WAIT_MS)
    run.chat.history.conversations.delete_requested.emit(run.chat.cid)
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)
    assert run.rows("SELECT id FROM messages") == [] and run.chat.cid is None
    assert [n.level for n in run.window.notices.notices()] == ["info"]  # "Deleted …", no error


def test_a_message_the_history_cannot_store_goes_back_into_the_message_box(qtbot, start_app, send_message):
    """The database is locked or full when Enter is pressed: the error is shown and the text is back
    in the box to send again, not lost with the cleared composer (bug hunt)."""
    import sqlite3

    run = start_app()
    send_message(run, "first")
    errors = recorder(run.service.error)
    store = run.service._store
    real = store.add_message

    def locked(cid, role, text, *a, **k):
        if role == "user":
            raise sqlite3.OperationalError("database is locked")
        return real(cid, role, text, *a, **k)

    store.add_message = locked
    try:
        run.chat.composer.set_text("typed while locked")
        qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(errors.calls), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: run.chat.composer.text() == "typed while locked", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)
    finally:
        store.add_message = real
    assert "typed while locked" not in [r["text"] for r in run.rows("SELECT text FROM messages")]


def test_a_rename_in_progress_survives_a_reply_ending_and_a_blank_name_is_not_taken(
    qtbot, start_app, send_message
):
    """The list refreshes whenever a reply starts or ends; that used to destroy an open rename box
    and what was typed in it. A blank name keeps the old title on the row (bug hunt)."""
    from PySide6.QtWidgets import QLineEdit

    run = start_app(script=" ".join(f"word{i}" for i in range(60)), delay_s=0.02)
    send_message(run, "alpha")
    run.chat.new_chat()
    send_message(run, "beta")
    convs = run.chat.history.conversations
    alpha = next(c["id"] for c in run.chat.conversations if c["title"] == "alpha")
    run.chat.composer.set_text("more")
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: run.chat.live_bid is not None, timeout=WAIT_MS)
    convs.start_rename(alpha)

    def editors():
        return [e for e in convs.findChildren(QLineEdit) if e.isVisible()]

    qtbot.waitUntil(lambda: len(editors()) == 1, timeout=WAIT_MS)
    editors()[0].setText("my new name")
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)
    qtbot.wait(100)
    assert len(editors()) == 1 and editors()[0].text() == "my new name"
    qtbot.keyClick(editors()[0], Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: {r["title"] for r in run.rows("SELECT title FROM conversations")} == {"my new name", "beta"},
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: convs.item_for(alpha).text() == "my new name", timeout=WAIT_MS)
    assert len(convs.ids()) == 2  # the held refresh was applied

    convs.start_rename(alpha)
    qtbot.waitUntil(lambda: len(editors()) == 1, timeout=WAIT_MS)
    editors()[0].setText("   ")
    qtbot.keyClick(editors()[0], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not editors(), timeout=WAIT_MS)
    assert convs.item_for(alpha).text() == "my new name"


def test_the_desktop_highlights_only_the_matches():
    from desktop.views.history import highlight

    out = highlight("a[i] <b>x</b> apple", [[14, 19]], "#ff0", "#000")
    assert out.count("<span") == 1 and "a[i] &lt;b&gt;x&lt;/b&gt; " in out and ">apple</span>" in out


def test_the_version_picked_while_a_new_one_is_written_stays_on_screen(qtbot, start_app, send_message):
    """Regenerate, then go back to version 1 while version 2 streams: when it ends the view used to
    jump to version 2 on its own (bug hunt)."""
    run = start_app(script=" ".join(f"word{i}" for i in range(60)), delay_s=0.02)
    send_message(run, "one")
    first = next(m for m in run.chat.messages.order if run.chat.messages.rows[m].role == "bot")
    run.chat._on_row_action("regenerate", first, None)
    qtbot.waitUntil(lambda: run.chat.live_bid is not None, timeout=WAIT_MS)
    second = run.chat.live_bid
    run.chat._on_row_action("version", first, first)
    qtbot.waitUntil(lambda: first in run.chat.messages.order, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)
    qtbot.wait(200)
    assert first in run.chat.messages.order and second not in run.chat.messages.order
    rows = run.rows("SELECT status FROM messages WHERE id = ?", (second,))
    assert [r["status"] for r in rows] == ["complete"]


def test_a_message_of_invisible_characters_cannot_be_sent(qtbot, start_app):
    run = start_app()
    for invisible in ("\u200b", " \u200b\n\u2060", "\ufeff"):
        run.chat.composer.set_text(invisible)
        assert not run.chat.composer.can_send()
    run.chat.composer.set_text("\u200bhi")
    assert run.chat.composer.can_send()


def test_a_long_chat_is_drawn_a_page_at_a_time(qtbot, start_app, tmp_path):
    """Opening a 600-message chat drew every bubble at once: the window froze for 3-5 s."""
    from desktop.widgets.message_list import PAGE

    data = tmp_path / "data"
    cid, first = long_chat(data, 75)
    run = start_app(data_dir=data)
    messages = run.chat.messages
    run.chat.open_conversation(cid)
    qtbot.waitUntil(lambda: len(messages.order) == 150, timeout=WAIT_MS)
    assert len(messages.rows) == PAGE and messages.shown == messages.order[-PAGE:]
    assert messages.earlier.isVisible() and "90 not shown" in messages.earlier.text()
    qtbot.waitUntil(lambda: messages.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
    messages.verticalScrollBar().setValue(0)
    top = messages.rows[messages.shown[0]]
    messages.earlier.click()
    assert len(messages.rows) == 2 * PAGE and messages.earlier.text() == "Show the 30 earlier messages"
    at = lambda: top.mapTo(messages.viewport(), top.rect().topLeft()).y()  # noqa: E731
    shown = lambda: all(r.isVisible() for r in messages.rows.values()) and top.y() > 1000  # noqa: E731
    qtbot.waitUntil(shown, timeout=WAIT_MS)  # the earlier rows are placed above it
    qtbot.waitUntil(lambda: 0 <= at() < messages.viewport().height(), timeout=WAIT_MS)  # still in view
    y = at()
    reply = dict(messages._messages[-1], id=10**6, text="a long reply streaming in " * 60)
    messages.set_messages([*messages._messages, reply])  # text arriving below does not move it
    qtbot.wait(300)
    assert at() == y
    k = messages.order.index(messages.shown[0])  # another version of the oldest message drawn:
    full = list(messages._messages)
    branch = [*full[:k], dict(full[k], id=2 * 10**6, text="edited")]
    messages.set_messages(branch)  # it stays drawn (the newest page of the branch left it out)
    assert 2 * 10**6 in messages.rows and messages.shown[0] == 2 * 10**6
    messages.set_messages(full)
    messages.select(first)  # a search hit older than every row drawn
    assert len(messages.rows) == 151 and messages.selected == first and not messages.earlier.isVisible()


def test_after_show_earlier_a_scroll_of_the_wheel_is_kept(qtbot, start_app, tmp_path):
    """The rows drawn above keep the row on top in place until the person scrolls; a scroll then
    stays where it was put when more text arrives below."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    data = tmp_path / "data"
    cid, _ = long_chat(data, 50)
    run = start_app(data_dir=data)
    messages = run.chat.messages
    run.chat.open_conversation(cid)
    qtbot.waitUntil(lambda: len(messages.order) == 100, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: messages.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
    messages.verticalScrollBar().setValue(0)
    top = messages.rows[messages.shown[0]]
    messages.earlier.click()
    bar = messages.verticalScrollBar()
    qtbot.waitUntil(lambda: top.y() > 1000 and bar.value() > 1000, timeout=WAIT_MS)  # kept in view
    qtbot.wait(100)
    before = bar.value()
    wheel = QWheelEvent(
        QPointF(50, 50), QPointF(50, 50), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(messages.viewport(), wheel)
    scrolled = bar.value()
    assert scrolled < before
    reply = dict(messages._messages[-1], id=10**6, text="a long reply streaming in " * 60)
    messages.set_messages([*messages._messages, reply])
    qtbot.wait(300)
    assert bar.value() == scrolled
