"""The Chat panel: history pane | conversation | side panel (decoding settings, why this reply).

It holds only view state (which conversation and branch is shown, which reply streams); every
read and write goes through the engine service's signals and slots.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QFrame, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from desktop.views.history import HistoryPane
from desktop.widgets.attention_view import AttentionView
from desktop.widgets.chat_chrome import ChatHeader, EmptyState, ModelBanner
from desktop.widgets.composer import Composer
from desktop.widgets.decoding_panel import DecodingPanel
from desktop.widgets.message_list import MessageList
from desktop.widgets.panel_parts import min_width_for_text
from engine.decoding import DecodeOptions
from engine.history import make_title
from engine.text.decode import decode_bytes

DROP_TEXT_LIMIT = 2_000_000  # bytes of a dropped text file put into the message box
SAVE_SETTINGS_MS = 600
OUTSIDE_CHECK_MS = 5000  # look this often for conversations another program added or deleted
GONE = "This chat was deleted outside Parlance."
GONE_TEXT = {  # what conversation_gone says, by what was being done (see ChatSlots._gone)
    "send": GONE + " Your message is still in the message box: send it to start a new chat.",
    "reply": GONE + " The reply was not saved.",
    "delete": "That chat had already been deleted outside Parlance.",
    "search": "That conversation has been deleted.",
}


SIDE_MIN_WIDTH = 280  # px at the usual text size (proportionally more at larger ones)
SPLITTER_DEFAULT = (270, 730, 370)  # history, conversation, side panel (pixels)


def splitter_sizes(saved: list[int]) -> list[int]:
    """The saved pane widths, or the defaults where they are damaged. The side panel's width is 0
    when it was hidden at close: only that one takes its default, the others are kept."""
    if len(saved) != 3 or saved[0] <= 0 or saved[1] <= 0:
        return list(SPLITTER_DEFAULT)
    return saved if saved[2] > 0 else [saved[0], saved[1], SPLITTER_DEFAULT[2]]


class ChatPanel(QWidget):
    notice_requested = Signal(str, str, object)  # text, level, (button text, callback) or None
    status_message = Signal(str)
    speed_changed = Signal(object, object)  # tokens/s, latency ms
    panel_requested = Signal(str)  # e.g. "train" from the no-model banner
    history_item_requested = Signal(str, int)  # kind, id (a summary, caption … found by search)

    def __init__(self, service, settings, parent=None) -> None:
        super().__init__(parent)
        self.service = service
        self.settings = settings
        self.cid: int | None = None
        self.leaves: dict[int, int] = {}
        self.live_bid: int | None = None
        self.generating = False
        self.model_state = "loading"
        self.model_name = ""
        self._chosen_model: str | None = None  # picked in the header, not loaded yet
        self.conversations: list[dict] = []
        self._deleted: dict[int, dict] = {}  # deleted conversations that can come back, oldest first
        self._listed = False  # the history's list has arrived (search hits are checked against it)
        self.model_defaults = DecodeOptions().to_dict()  # the loaded model's recommended decoding
        self.decoding = self.new_decoding()
        self._expect_created = False
        self._shown_cid: int | None = None
        self._revealing: int | None = None  # a search hit's conversation not listed yet, being opened
        self._build()
        self._connect()
        self._show_empty(True)
        self.banner.show_loading("Starting the chat engine…")

    # ================================================================== construction
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        outer.addWidget(self.splitter)
        self.history = HistoryPane()
        self.splitter.addWidget(self.history)
        center = QWidget()
        center.setObjectName("ChatArea")
        col = QVBoxLayout(center)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        self.header = ChatHeader()
        col.addWidget(self.header)
        self.banner = ModelBanner()
        banner_wrap = QVBoxLayout()
        banner_wrap.setContentsMargins(24, 10, 24, 0)
        banner_wrap.addWidget(self.banner)
        col.addLayout(banner_wrap)
        self.center_stack = QStackedWidget()
        self.empty = EmptyState()
        self.messages = MessageList()
        self.center_stack.addWidget(self.empty)
        self.center_stack.addWidget(self.messages)
        col.addWidget(self.center_stack, 1)
        self.composer = Composer()
        col.addWidget(self.composer)
        self.splitter.addWidget(center)
        self.side = QFrame()
        self.side.setObjectName("SidePanel")
        self.side.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        min_width_for_text(self.side, SIDE_MIN_WIDTH)  # its fields fit at larger text sizes too
        side_col = QVBoxLayout(self.side)
        side_col.setContentsMargins(6, 8, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.decoding_panel = DecodingPanel()
        self.attention = AttentionView()
        self.tabs.addTab(self.decoding_panel, "Decoding")
        self.tabs.addTab(self.attention, "Why this reply")
        side_col.addWidget(self.tabs)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes(splitter_sizes(self.settings.int_list("chat/splitter")))
        self.header.side_button.setChecked(self.settings.side_panel)
        self.side.setVisible(self.settings.side_panel)
        self._show_decoding()
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_SETTINGS_MS)
        self._save_timer.timeout.connect(self._save_decoding)
        # Ctrl+N and Ctrl+F are the window's (they work from every panel): see MainWindow
        for keys, slot in (
            ("Ctrl+Shift+S", self._toggle_side),
            (QKeySequence.StandardKey.Undo, self.undo_delete),
        ):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(
            QKeySequence("Esc"), self, self._on_escape, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        # conversations another program added or deleted (the CLI's chat, delete, import) showed
        # only after a restart: looked for now and then and when the window comes back to the front;
        # the timer runs only while the panel is shown (showEvent / hideEvent)
        self._outside_timer = QTimer(self)
        self._outside_timer.setInterval(OUTSIDE_CHECK_MS)
        self._outside_timer.timeout.connect(self.check_outside_changes)
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self._on_app_state)

    def _connect(self) -> None:
        # service signals go to bound methods only (queued to this thread); never to a lambda
        s = self.service
        s.conversations_changed.connect(self._on_conversations)
        s.thread_loaded.connect(self._on_thread)
        s.reply_started.connect(self._on_reply_started)
        s.reply_token.connect(self._on_token)
        s.reply_finished.connect(self._on_reply_finished)
        s.generating_changed.connect(self._on_generating)
        s.models_found.connect(self.header.picker.set_models)
        s.model_loading.connect(self._on_model_loading)
        s.model_loaded.connect(self._on_model_loaded)
        s.model_failed.connect(self._on_model_failed)
        s.conversation_deleted.connect(self._on_deleted)
        s.conversation_restored.connect(self._on_restored)
        s.conversation_gone.connect(self._on_gone)
        s.search_done.connect(self.history.show_results)
        s.message_not_saved.connect(self._on_not_saved)
        s.attention_loaded.connect(self._on_attention)
        s.exported.connect(self._on_exported)
        s.imported.connect(self._on_imported)
        h = self.history
        h.new_chat.connect(self.new_chat)
        h.import_requested.connect(self.ask_import)
        h.search_requested.connect(s.search)
        h.result_chosen.connect(self._on_result)
        h.delete_result_requested.connect(s.delete_result)
        s.result_deleted.connect(self._on_result_deleted)
        s.result_restored.connect(lambda *_: self.history.refresh_search())
        h.conversations.conversation_chosen.connect(self.open_conversation)
        h.conversations.rename_requested.connect(s.rename_conversation)
        h.conversations.delete_requested.connect(s.delete_conversation)
        h.conversations.export_requested.connect(self.ask_export)
        self.header.export_requested.connect(
            lambda fmt: self.cid is not None and self.ask_export(self.cid, fmt)
        )
        self.header.side_toggled.connect(self._set_side)
        self.header.picker.model_chosen.connect(self._choose_model)
        self.header.picker.rescan_requested.connect(s.refresh_models)
        self.banner.action_requested.connect(lambda: self.panel_requested.emit("train"))
        self.empty.suggestion_chosen.connect(self._send)
        self.composer.submitted.connect(self._send)
        self.composer.stop_requested.connect(self.stop)
        self.messages.action.connect(self._on_row_action)
        self.decoding_panel.changed.connect(self._on_decoding)

    # ================================================================= user actions
    def new_chat(self, focus: bool = True) -> None:
        self.cid = None
        self._revealing = None
        self._shown_cid = None
        self._expect_created = False
        self.messages.clear()
        self.history.conversations.select(None)
        self.header.set_title("New chat")
        self.decoding = self.new_decoding()
        self._show_decoding()
        self.attention.set_record(None)
        self._show_empty(True)
        if focus:
            self.composer.focus()

    def undo_delete(self, cid: int | None = None) -> None:
        """Bring back a deleted conversation: ``cid`` (the notice's Undo) or, for Ctrl+Z outside a
        text field, the one deleted last. Each comes back once, whichever way is used first."""
        if cid is None:
            cid = next(reversed(self._deleted), None)
        snapshot = self._deleted.pop(cid, None) if cid is not None else None
        if snapshot is not None:
            self.service.restore_conversation(snapshot)

    def apply_default_decoding(self) -> None:
        """A new default (Settings) also applies to the blank new chat on screen."""
        if self.cid is None and not self.generating:
            self.decoding = self.new_decoding()
            self._show_decoding()

    def new_decoding(self) -> dict:
        """Decoding for a new conversation: the user's default (Settings) or the model's own."""
        return dict(self.settings.default_decoding or self.model_defaults)

    def open_conversation(self, cid: int, leaf: int | None = None, focus: int | None = None) -> None:
        self._revealing = None
        if cid != self.cid:
            self.messages.clear()
        self.cid = cid
        self.history.conversations.select(cid)
        self.service.open_conversation(cid, leaf if leaf is not None else self.leaves.get(cid), focus)

    def _send(self, text: str) -> None:
        if not text.strip() or self.generating:
            return
        parent = None
        if self.cid is not None:  # continue the branch on screen (or the one last shown)
            parent = self.messages.order[-1] if self.messages.order else self.leaves.get(self.cid)
        self._expect_created = self.cid is None
        self.generating = True
        self.composer.set_generating(True)
        self.messages.scroll_to_end()
        self.service.send_message(self.cid, text, parent, self.decoding)

    def _on_not_saved(self, text: str) -> None:
        """A message the history could not store goes back into the message box (unless something
        new was typed there meanwhile), so "try again" does not mean typing it again."""
        if not self.composer.text().strip():
            self.composer.set_text(text)

    def stop(self) -> None:
        if self.generating:
            self.service.stop_reply()
            self.status_message.emit("Stopping — the reply so far is kept")

    def _on_escape(self) -> None:
        """Esc clears a search being typed (the reply goes on), otherwise stops the reply."""
        if self.history.search.hasFocus() and self.history.search.text():
            self.history.clear_search()
        elif self.generating:
            self.stop()
        elif self.history.search.text():
            self.history.clear_search()

    def _on_row_action(self, name: str, mid: int, value) -> None:
        s, cid = self.service, self.cid
        if cid is None:
            return
        if name == "copy":
            self.status_message.emit("Copied to the clipboard")
        elif name in ("regenerate", "retry") and not self.generating:
            self.generating = True
            self.composer.set_generating(True)
            s.regenerate(cid, mid, self.decoding)
        elif name == "edit" and not self.generating:
            self.generating = True
            self.composer.set_generating(True)
            s.edit_message(cid, mid, value, self.decoding)
        elif name == "feedback":
            s.set_feedback(mid, value)
        elif name == "version":
            self.open_conversation(cid, leaf=value)
        elif name == "select":
            self.messages.select(mid, scroll=False)
            s.load_attention(mid)

    def _show_decoding(self) -> None:
        """Show ``self.decoding`` in the panel and use what it shows: values out of the panel's
        ranges are clamped, and damaged saved options (a wrong type, NaN) fall back to the defaults."""
        try:
            self.decoding_panel.set_options(self.decoding)
        except ValueError:
            self.decoding_panel.set_options(None)
        self.decoding = self.decoding_panel.options()

    def _on_decoding(self, options: dict) -> None:
        self.decoding = options
        if self.cid is not None:
            self._save_timer.start()

    def _save_decoding(self) -> None:
        if self.cid is not None:
            self.service.save_conversation_settings(self.cid, {"decoding": self.decoding})

    def _choose_model(self, folder: str) -> None:
        self._chosen_model = folder  # remembered once it has loaded (a broken one is not kept)
        self.service.load_model(folder)

    def ask_export(self, cid: int, fmt: str) -> None:
        title = next((c["title"] for c in self.conversations if c["id"] == cid), "") or "conversation"
        safe = (
            "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip()[:60] or "conversation"
        )
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export conversation",
            str(Path.home() / f"{safe}.{fmt}"),
            "Markdown (*.md)" if fmt == "md" else "JSON (*.json)",
        )
        if path:
            if not Path(path).suffix:  # a bare name gets the format's extension
                path = f"{path}.{fmt}"
            self.service.export_conversation(cid, fmt, path)

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a conversation", str(Path.home()), "JSON (*.json)"
        )
        if path:
            self.service.import_conversation(path)

    def handle_drop(self, paths: list[str]) -> None:
        """Dropped files: JSON exports are imported; a text file goes into the message box."""
        for p in paths:
            path = Path(p)
            if path.suffix.lower() == ".json":
                self.service.import_conversation(str(path))
            elif path.is_file() and path.stat().st_size <= DROP_TEXT_LIMIT:
                # decoded as Summarize does (UTF-16 with a BOM, Windows-1252): read as UTF-8 only,
                # a Latin-1 or smart-quoted file was "not a text file"
                try:
                    text = decode_bytes(path.read_bytes(), path.name)
                except (OSError, ValueError):
                    self.notice_requested.emit(f"{path.name} is not a text file.", "warning", None)
                else:
                    self.composer.set_text(text.replace("\r\n", "\n").replace("\r", "\n"))
            else:
                self.notice_requested.emit(f"{path.name} cannot be used in the chat.", "warning", None)

    def _toggle_side(self) -> None:
        self.header.side_button.toggle()

    def _set_side(self, on: bool) -> None:
        self.side.setVisible(on)
        self.settings.side_panel = on

    def save_state(self) -> None:
        self.settings.set_int_list("chat/splitter", self.splitter.sizes())

    # ============================================================== service answers
    def check_outside_changes(self) -> None:
        """Ask the engine to re-list the conversations if another program changed them."""
        if self.isVisible():
            self.service.check_outside_changes()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._outside_timer.isActive():
            self._outside_timer.start()
            if self._listed:  # what changed while another panel was shown
                self.check_outside_changes()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().hideEvent(event)
        if not self.isVisible():  # another panel (a minimised window stays "visible": nothing to do)
            self._outside_timer.stop()

    def _on_app_state(self, state) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.check_outside_changes()

    def _on_conversations(self, conversations) -> None:
        """Every conversation (a list: start-up, import), or one that changed or is gone (a dict
        from ChatSlots._emit_conversation: only its row is updated, whatever the history's size)."""
        lst = self.history.conversations
        if isinstance(conversations, dict):
            if "changed" in conversations:
                conv = conversations["changed"]
                self._drop_listed(conv["id"])
                key = (conv["updated_at"] or "", conv["id"])  # kept in the store's order, newest first
                at = bisect.bisect_left(
                    self.conversations, True, key=lambda c: (c["updated_at"] or "", c["id"]) < key
                )
                self.conversations.insert(at, conv)
                lst.update_conversation(conv, self.cid)
            else:
                self._drop_listed(conversations["removed"])
                lst.remove_conversation(conversations["removed"], self.cid)
        else:
            self.conversations = list(conversations)
            self._listed = True
            lst.set_conversations(self.conversations, self.cid)
            shown = self.cid
            if (
                shown is not None
                and not self.generating
                and all(c["id"] != shown for c in self.conversations)
            ):
                self._on_gone(shown, "open")  # deleted by another program (a re-read list says so)
        self.history.set_empty(not self.conversations)
        current = next((c for c in self.conversations if c["id"] == self.cid), None)
        if current is not None:
            self.header.set_title(current["title"] or "Untitled conversation")

    def _drop_listed(self, cid: int) -> None:
        at = next((k for k, c in enumerate(self.conversations) if c["id"] == cid), None)
        if at is not None:
            del self.conversations[at]

    def _on_thread(self, payload: dict) -> None:
        conv = payload["conversation"]
        cid = conv["id"]
        if cid == self._revealing:  # a search hit in a conversation the list did not hold: it exists
            self._revealing = None
            if cid != self.cid:
                self.messages.clear()
            self.cid = cid
        if payload.get("created") and self.cid is None and self._expect_created:
            self.cid = cid
            self._expect_created = False
            self.history.conversations.select(cid)
        if cid != self.cid:
            return
        done = payload.get("finished_reply")
        if done is not None and self.messages.order and done not in self.messages.order:
            # the person picked another version while this reply was written: stay on that
            # branch (reloaded, so its version counts include the new reply)
            self.service.open_conversation(cid, self.messages.order[-1], None)
            return
        self.leaves[cid] = payload["leaf"]
        self.header.set_title(conv["title"] or "Untitled conversation")
        if self._shown_cid != cid:
            self._shown_cid = cid
            saved = (conv["settings"] or {}).get("decoding")  # a dict (the CLI and old files: maybe not)
            self.decoding = {**self.new_decoding(), **(saved if isinstance(saved, dict) else {})}
            self._show_decoding()
            self.attention.set_record(None)
            self.messages.scroll_to_end()
        self.messages.set_messages(payload["messages"], live=self.live_bid)
        self._show_empty(not payload["messages"])
        if payload.get("focus") is not None:
            self.messages.select(payload["focus"])

    def _on_reply_started(self, cid: int, bid: int, uid: int) -> None:
        self.live_bid = bid

    def _on_token(self, bid: int, piece: str) -> None:
        if bid == self.live_bid:
            self.messages.append_token(bid, piece)

    def _on_reply_finished(self, bid: int, info: dict) -> None:
        self.messages.finish_stream(bid)
        if bid == self.live_bid:
            self.live_bid = None
        self.speed_changed.emit(info.get("tokens_per_s"), info.get("latency_ms"))
        if info.get("status") == "stopped":
            self.status_message.emit("Reply stopped — the partial text is saved")

    def _on_generating(self, on: bool) -> None:
        self.generating = on
        self.composer.set_generating(on)

    def _on_model_loading(self, folder: str) -> None:
        self.model_state = "loading"
        what = f"Loading the chat model {Path(folder).name}…" if folder else "Looking for chat models…"
        self.banner.show_loading(what + " You can start typing; the reply follows when it is ready.")
        self.composer.set_blocked(None)
        if folder:
            self.header.picker.set_current(folder)

    def _on_model_loaded(self, info: dict) -> None:
        if info["folder"] == self._chosen_model:
            self.settings.chat_model = info["folder"]
        self._chosen_model = None
        self.model_state = "ready"
        self.model_name = info["name"]
        self.banner.hide()
        self.header.picker.set_current(info["folder"], info.get("card"))
        self.model_defaults = DecodeOptions.from_dict(info.get("defaults")).to_dict()
        self.decoding_panel.set_defaults(self.model_defaults)
        if self.cid is None:  # a new chat follows the model's recommendation
            self.decoding = self.new_decoding()
            self._show_decoding()
        self.composer.set_blocked(None)
        self.composer.edit.setPlaceholderText(f"Message {info['name']}…")

    def _on_model_failed(self, message: str) -> None:
        self.model_state = "none"
        self.banner.show_problem(message)
        self.composer.set_blocked("No chat model is loaded: " + message)

    def _on_deleted(self, cid: int, snapshot: dict) -> None:
        title = (snapshot.get("conversation") or {}).get("title") or "Untitled conversation"
        self._deleted[cid] = snapshot
        if cid == self.cid:  # deleting from the list by keyboard keeps the focus there
            self.new_chat(focus=not self.history.conversations.hasFocus())
        self.history.refresh_search()  # its hits are gone from the results too
        self.notice_requested.emit(
            f"Deleted “{title}” (Ctrl+Z undoes).",
            "info",
            ("Undo", lambda: self.undo_delete(cid)),
        )

    def _on_gone(self, cid: int, context: str) -> None:
        """Another program deleted conversation ``cid`` (its row is already gone): say so in words.
        The chat on screen becomes a new one; what is in the message box stays there."""
        if cid == self._revealing:
            self._revealing = None
        if cid == self.cid:
            self.new_chat(focus=not self.history.conversations.hasFocus())
        self.history.refresh_search()  # its hits are gone from the results too
        self.notice_requested.emit(GONE_TEXT.get(context, GONE), "info", None)

    def _on_result_deleted(self, kind: str, _item_id: int, snapshot: dict) -> None:
        row = snapshot.get("row") or {}
        name = row.get("origin") or row.get("file_name") or row.get("name")
        name = name or make_title(row.get("source") or "")
        self.history.refresh_search()
        self.notice_requested.emit(
            f"Deleted the {kind} “{name}”.", "info", ("Undo", lambda: self.service.restore_result(snapshot))
        )

    def _on_restored(self, cid: int) -> None:
        self.open_conversation(cid)
        self.history.refresh_search()

    def _on_exported(self, path: str) -> None:
        self.notice_requested.emit(f"Exported to {path}", "info", None)

    def _on_imported(self, cid: int) -> None:
        self.notice_requested.emit("Conversation imported.", "info", None)
        self.open_conversation(cid)

    def _on_attention(self, mid: int, record) -> None:
        if mid != self.messages.selected:
            return
        self.attention.set_record(record)
        if not self.side.isVisible():
            self.header.side_button.setChecked(True)
        self.tabs.setCurrentWidget(self.attention)

    def _on_result(self, result: dict) -> None:
        if result.get("kind") == "message" and result.get("conversation_id") is not None:
            cid, mid = int(result["conversation_id"]), int(result["id"])
            if self._listed and cid not in {c["id"] for c in self.conversations}:
                # not listed: deleted, or written by another program since the list was read. The
                # history says which ("That conversation has been deleted." was said of both)
                self._revealing = cid
                self.service.open_conversation(cid, mid, mid, reveal=True)
                return
            self.open_conversation(cid, leaf=mid, focus=mid)
        else:
            self.history_item_requested.emit(str(result.get("kind")), int(result["id"]))

    def _show_empty(self, empty: bool) -> None:
        self.center_stack.setCurrentWidget(self.empty if empty and self.cid is None else self.messages)

    def copy_text(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
