"""The chat and history half of the engine service (a mixin of :class:`EngineService`).

Public methods (no leading underscore) are called from the GUI thread and only queue work; the
``_``-methods run on the engine thread, touch the store and the bot, and answer with signals.
Every message is committed when it is sent; a reply is created as ``streaming`` when its first
token is about to be generated, its partial text is committed about once a second while it
streams, and it is finished as ``complete``, ``stopped`` or ``error`` — never only on exit.

Another program may change the history meanwhile (``python -m engine history delete``, ``chat
--db``, a database browser holding its write lock): a conversation deleted elsewhere has its row
dropped and the panel told in words (``conversation_gone``); a reply whose writes meet a locked
history goes on, and its final text is written when the history is free again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from desktop import chat_ops
from desktop.jobs import human_message
from engine.cancel import CancelToken
from engine.history import HISTORY_UNWRITABLE
from engine.history_export import write_whole

REPLY = "reply"  # the mode of a chat reply's request: see EngineService._run_invoke
log = logging.getLogger("parlance.desktop")
SAVE_INTERVAL_S = 1.0  # commit a streaming reply's partial text this often
# how long a reply's partial save waits for another program's write lock (the store's 5 s stalled
# the stream: each partial save waited it in full, and a reply took 7x as long), and its final save
# once a partial one was refused; a refused final save is kept and tried again by the outside check
# (every 5 s while the Chat panel is shown, and on the window's activation)
REPLY_SAVE_WAIT_S = 0.25
# what a write meets when another program holds the history's write lock, it became read-only or
# the disk is full: the engine's one list (engine.history.HISTORY_UNWRITABLE)
STORE_BUSY = HISTORY_UNWRITABLE


class ChatSlots:
    # ================================================================= public (GUI thread)
    def send_message(self, cid: int | None, text: str, parent_id: int | None, decoding: dict) -> None:
        """Commit a user message (``cid`` None: in a new conversation) and generate the reply."""
        self._call(self._send, cid, text, parent_id, dict(decoding), self._new_reply_token())

    def regenerate(self, cid: int, mid: int, decoding: dict) -> None:
        """Another version of bot message ``mid`` (or a first reply to user message ``mid``)."""
        self._call(self._regenerate, cid, mid, dict(decoding), self._new_reply_token())

    def edit_message(self, cid: int, mid: int, text: str, decoding: dict) -> None:
        """A new version of user message ``mid`` with ``text`` (a new branch) and its reply."""
        self._call(self._edit, cid, mid, text, dict(decoding), self._new_reply_token())

    def stop_reply(self) -> None:
        """Stop the reply being generated (it is kept, marked stopped); safe from any thread."""
        with self._lock:
            for token in self._gen_tokens:
                token.cancel()

    def list_conversations(self) -> None:
        self._call(self._emit_conversations)

    def open_conversation(
        self, cid: int, leaf_id: int | None = None, focus: int | None = None, reveal: bool = False
    ) -> None:
        """Load the branch through ``leaf_id`` (None: the newest); ``focus`` marks a message to show.
        ``reveal``: the list may not hold it (another program wrote it): its row is sent too."""
        self._call(self._open, cid, leaf_id, focus, reveal)

    def check_outside_changes(self) -> None:
        """Re-read the conversation list if another program changed the history (a timer and the
        window's activation call this; when nothing changed it costs one PRAGMA on the engine thread)."""
        if self._thread is not None:
            self._call(self._check_outside)

    def rename_conversation(self, cid: int, title: str) -> None:
        self._call(self._rename, cid, title)

    def delete_conversation(self, cid: int) -> None:
        self._call(self._delete, cid)

    def restore_conversation(self, snapshot: dict) -> None:
        self._call(self._restore, snapshot)

    def set_feedback(self, mid: int, value: int) -> None:
        self._call(lambda: self._store.update_message(mid, feedback=int(value)))

    def save_conversation_settings(self, cid: int, settings: dict) -> None:
        self._call(self._save_settings, cid, dict(settings))

    def load_attention(self, mid: int) -> None:
        self._call(self._attention, mid)

    def search(self, query: str, kinds=None, limit: int = 50) -> None:
        """``kinds``: the kinds of hit wanted (engine.history.SEARCH_KINDS; None: all)."""
        self._call(lambda: self.search_done.emit(query, self._store.search(query, limit=limit, kinds=kinds)))

    def delete_result(self, kind: str, item_id: int) -> None:
        """Delete a summary, caption or forecast from the history (result_deleted has the undo)."""
        self._call(lambda: self.result_deleted.emit(kind, item_id, self._store.delete_result(kind, item_id)))

    def restore_result(self, snapshot: dict) -> None:
        self._call(lambda: self.result_restored.emit(snapshot["kind"], self._store.restore_result(snapshot)))

    def export_conversation(self, cid: int, fmt: str, path: str) -> None:
        self._call(self._export, cid, fmt, path)

    def import_conversation(self, path: str) -> None:
        self._call(self._import, path)

    # ============================================================ engine thread: generation
    def _new_reply_token(self) -> CancelToken:
        token = CancelToken()
        with self._lock:
            self._gen_tokens.add(token)
        self.generating_changed.emit(True)
        return token

    def _release(self, token: CancelToken) -> None:
        with self._lock:
            self._gen_tokens.discard(token)
            idle = not self._gen_tokens
        if idle:
            self.generating_changed.emit(False)

    def _send(self, cid, text, parent_id, decoding, token) -> None:
        try:
            created = cid is None
            if created:
                model = self._bot.name if self._bot is not None else ""
                cid = self._store.create_conversation(model=model, settings={"decoding": decoding})
            uid = self._store.add_message(cid, "user", text, parent_id)
        except Exception as exc:
            self._release(token)
            self.message_not_saved.emit(text)  # the panel gives it back to be sent again
            if isinstance(exc, LookupError) and self._gone(cid, "send"):
                return
            raise
        try:
            self._emit_thread(cid, uid, None, created)
            self._emit_conversation(cid)
        except Exception:
            self._release(token)
            raise
        self._run_invoke(self._generate, (cid, uid, decoding, token), REPLY)

    def _regenerate(self, cid, mid, decoding, token) -> None:
        try:
            msg = self._store.get_message(mid)
        except Exception as exc:
            self._release(token)
            if isinstance(exc, LookupError) and self._gone(cid, "open"):
                return
            raise
        parent = mid if msg["role"] == "user" else msg["parent_id"]
        self._run_invoke(self._generate, (cid, parent, decoding, token), REPLY)

    def _edit(self, cid, mid, text, decoding, token) -> None:
        try:
            old = self._store.get_message(mid)
            if old["role"] != "user":
                raise ValueError("only your own messages can be edited")
            uid = self._store.add_message(cid, "user", text, old["parent_id"])
            self._emit_thread(cid, uid, None)
        except Exception as exc:
            self._release(token)
            if isinstance(exc, LookupError) and self._gone(cid, "send"):
                self.message_not_saved.emit(text)
                return
            raise
        self._run_invoke(self._generate, (cid, uid, decoding, token), REPLY)

    def _generate(self, cid: int, uid: int, decoding: dict, token: CancelToken) -> None:
        """Stream a reply to user message ``uid`` (heavy: one at a time)."""
        if token.cancelled:
            self._release(token)
            return
        if self._bot is None:
            if self._loading:
                self._after_load.append((cid, uid, decoding, token))
                return
            self._release(token)
            raise ValueError(
                "Your message was saved, but no chat model is loaded, so there is no reply. "
                "Pick a model in the chat header or train one."
            )
        bot = self._bot
        store = self._store
        try:
            options = type(bot.default_options).from_dict({**bot.default_options.to_dict(), **decoding})
            thread = store.thread(cid, uid, attention=False)  # the model reads only the text
            turns, _ = chat_ops.model_turns(thread, bot.max_context_chars)
            mine = chat_ops.bot_replies(thread)
            bid = store.add_message(
                cid, "bot", "", uid, model=bot.name, settings=options.to_dict(), status="streaming"
            )
        except Exception as exc:
            self._release(token)
            if isinstance(exc, LookupError) and self._gone(cid, "open"):
                return
            raise
        if self._unsaved:  # the history was just written to: a reply it refused earlier is written
            self._save_unsaved(REPLY_SAVE_WAIT_S)
        self._live_reply = (cid, token)  # deleting this conversation stops the reply
        parts: list[str] = []
        last_save = [time.monotonic()]
        refused = [False]  # a partial save was refused: no more of them for this reply
        saved = ended = False

        def on_token(piece: str) -> None:
            parts.append(piece)
            self.reply_token.emit(bid, piece)
            if not refused[0] and time.monotonic() - last_save[0] >= SAVE_INTERVAL_S:
                refused[0] = not self._save_reply(bid, False, REPLY_SAVE_WAIT_S, text="".join(parts))
                last_save[0] = time.monotonic()
            self._pump()

        def final_wait() -> float | None:
            """The lock was held at a partial save: the final one does not wait 5 s for it either."""
            return REPLY_SAVE_WAIT_S if refused[0] else None

        try:
            self.reply_started.emit(cid, bid, uid)
            self._quietly(self._emit_thread, cid, bid, None)
            t0 = time.perf_counter()
            try:
                reply = bot.reply(turns, options, on_token=on_token, cancel=token, own_replies=mine)
            except Exception:
                latency = (time.perf_counter() - t0) * 1000
                text = "".join(parts)
                saved = self._save_reply(
                    bid, True, final_wait(), text=text, status="error", latency_ms=latency
                )
                ended = True
                self.reply_finished.emit(
                    bid,
                    {
                        "status": "error",
                        "text": text,
                        "latency_ms": latency,
                        "n_tokens": len(parts),
                        "tokens_per_s": None,
                    },
                )
                raise
            status = "stopped" if reply.stopped else "complete"
            text = reply.text if reply.text or not parts else "".join(parts).strip()
            saved = self._save_reply(
                bid,
                True,
                final_wait(),
                text=text,
                status=status,
                latency_ms=reply.latency_ms,
                attention=chat_ops.attention_record(reply),
            )
            ended = True
            self.reply_finished.emit(
                bid,
                {
                    "status": status,
                    "text": text,
                    "latency_ms": reply.latency_ms,
                    "n_tokens": reply.n_tokens,
                    "tokens_per_s": chat_ops.tokens_per_second(reply.n_tokens, reply.latency_ms),
                },
            )
        finally:
            # whatever failed above, the reply ends: the panel stops "generating", the next send works
            if not ended:
                self.reply_finished.emit(
                    bid,
                    {
                        "status": "error",
                        "text": "".join(parts),
                        "latency_ms": None,
                        "n_tokens": len(parts),
                        "tokens_per_s": None,
                    },
                )
            self._after_reply(cid, bid if saved else None, token)

    def _after_reply(self, cid: int, bid: int | None, token: CancelToken) -> None:
        self._live_reply = None
        try:
            if bid is not None:
                self._quietly(self._emit_thread, cid, bid, None, finished_reply=bid)
            if not self._gone(cid, "reply"):
                self._emit_conversation(cid)
        finally:
            self._release(token)

    def _quietly(self, fn, *args, **kwargs) -> bool:
        """Run a store write whose target may be gone (conversation deleted mid-reply)."""
        try:
            fn(*args, **kwargs)
            return True
        except LookupError:
            return False

    def _save_reply(self, bid: int, final: bool, wait_s: float | None, **fields) -> bool:
        """Write a streaming reply's ``fields``; False when they were not written. Its conversation
        may be gone (deleted meanwhile), or another program may hold the history's write lock (a
        database browser with unsaved edits): the reply goes on, a partial save is skipped, and a
        final one is kept and written when the history is free again (the outside check, the next
        reply, or on close). ``wait_s``: the longest wait for that lock (None: the store's own).
        A locked history used to leave the reply "generating" for the rest of the session."""
        try:
            self._write_reply(bid, fields, wait_s)
        except LookupError:
            self._unsaved.pop(bid, None)
            return False
        except STORE_BUSY as exc:
            log.warning("reply %s not saved %s: %s", bid, "yet" if final else "this time", exc)
            if final:
                self._unsaved[bid] = fields
                self.error.emit(
                    f"The reply is not saved yet: {human_message(exc).rstrip('. ')}. "
                    "It is saved once the history can be written again."
                )
            return False
        self._unsaved.pop(bid, None)
        return True

    def _save_unsaved(self, wait_s: float | None = None) -> bool:
        """Write the replies a locked history refused (engine thread; a failure leaves them kept);
        ``wait_s``: the longest wait for another program's lock (None: the store's own, on close).
        True when something was written."""
        written = False
        for bid, fields in list(self._unsaved.items()):
            try:
                self._write_reply(bid, fields, wait_s)
                written = True
            except LookupError:  # deleted meanwhile
                pass
            except STORE_BUSY as exc:
                log.warning("reply %s still not saved: %s", bid, exc)
                return written
            self._unsaved.pop(bid, None)
        return written

    def _write_reply(self, bid: int, fields: dict, wait_s: float | None) -> None:
        if wait_s is None:
            self._store.update_message(bid, **fields)
        else:
            with self._store.waiting_at_most(wait_s):
                self._store.update_message(bid, **fields)

    def _gone(self, cid: int | None, context: str) -> bool:
        """Whether conversation ``cid`` no longer exists. When another program deleted it (``python -m
        engine history delete``), its row is dropped and ``conversation_gone(cid, context)`` tells the
        panel, which says so in words; ``context``: "send", "open", "reply", "delete", "search" or
        "settings". Each of these was a raw "no conversation with id 1" and a traceback in the log."""
        if cid is None:
            return False
        try:
            self._store.get_conversation(cid)
            return False
        except LookupError:
            pass
        self._emit_conversation(cid)  # {"removed": cid}
        if cid in self._deleted_here:  # deleted in this window (e.g. while its reply streamed)
            return True
        log.warning("conversation %s was deleted by another program (%s)", cid, context)
        self.conversation_gone.emit(cid, context)
        return True

    # =============================================================== engine thread: history
    def _emit_conversations(self) -> None:
        """Every conversation (a list): the list is shown anew (start-up, import, outside changes)."""
        self._outside_seen = (self._data_version(), self._store.conversations_mark())
        self.conversations_changed.emit(self._store.list_conversations())

    def _data_version(self) -> int | None:
        """SQLite's ``PRAGMA data_version`` of the store's connection: it changes when another
        connection (another program) commits, never for this one's own writes."""
        version = getattr(self._store, "data_version", None)
        return version() if version is not None else None

    def _check_outside(self) -> None:
        """Re-list the conversations when another program changed them (the CLI's chat, delete or
        import): they never appeared, and a search hit in one was called deleted. Nothing
        changed: one PRAGMA; another table changed (a training run's curves): one aggregate.
        A reply's final text a locked history refused is tried again here first."""
        if self._unsaved and self._save_unsaved(REPLY_SAVE_WAIT_S):
            self._own_change_seen()  # its conversation's updated_at moved: not an outside change
        version = self._data_version()
        if version is None or version == self._outside_seen[0]:
            return
        mark = self._store.conversations_mark()
        if mark == self._outside_seen[1]:
            self._outside_seen = (version, mark)
            return
        self._emit_conversations()

    def _emit_conversation(self, cid: int) -> None:
        """One conversation that changed (``{"changed": row}``) or is gone (``{"removed": id}``): each
        send, reply, rename and delete listed every conversation (0.2 s here and a ~1 s rebuild of the
        list in the window with 20,000 of them); now the list moves or updates that one row."""
        try:
            conv = self._store.get_conversation(cid)
        except LookupError:
            self.conversations_changed.emit({"removed": cid})
        else:
            self.conversations_changed.emit({"changed": conv})
        self._own_change_seen()

    def _own_change_seen(self) -> None:
        """This window's own change is shown: the outside check must not re-list for it. The mark
        is read before the version, so another program's commit in between is never hidden."""
        mark = self._store.conversations_mark()
        if self._data_version() == self._outside_seen[0]:
            self._outside_seen = (self._outside_seen[0], mark)

    def _open(self, cid: int, leaf_id: int | None, focus: int | None, reveal: bool) -> None:
        try:
            self._emit_thread(cid, leaf_id, focus)
        except LookupError:
            if self._gone(cid, "search" if reveal else "open"):
                return
            raise
        if reveal:  # written by another program since the list was read: listed now
            self._emit_conversation(cid)

    def _emit_thread(
        self, cid: int, leaf_id: int | None, focus: int | None, created: bool = False, finished_reply=None
    ) -> None:
        payload = chat_ops.thread_payload(self._store, cid, leaf_id, focus)
        payload["created"] = created
        payload["finished_reply"] = finished_reply  # the branch of a reply that just ended
        self.thread_loaded.emit(payload)

    def _rename(self, cid: int, title: str) -> None:
        self._quietly(self._store.rename_conversation, cid, title)  # deleted meanwhile: nothing to do
        self._emit_conversation(cid)

    def _delete(self, cid: int) -> None:
        if self._live_reply is not None and self._live_reply[0] == cid:
            self._live_reply[1].cancel()
        try:
            snapshot = self._store.delete_conversation(cid)
        except LookupError:
            if self._gone(cid, "delete"):  # deleted by another program already: its row just goes
                return
            raise
        self._deleted_here.add(cid)
        self.conversation_deleted.emit(cid, snapshot)
        self._emit_conversation(cid)

    def _restore(self, snapshot: dict) -> None:
        cid = self._store.restore_conversation(snapshot)
        self._deleted_here.discard(cid)
        self._emit_conversation(cid)
        self.conversation_restored.emit(cid)

    def _save_settings(self, cid: int, settings: dict) -> None:
        try:
            current = self._store.get_conversation(cid)["settings"] or {}
            self._store.update_conversation_settings(cid, {**current, **settings})
        except LookupError:
            if self._gone(cid, "settings"):
                return
            raise
        self._own_change_seen()  # it touched updated_at: the outside check must not re-list for it

    def _attention(self, mid: int) -> None:
        msg = self._store.get_message(mid)
        record = msg.get("attention")  # a dict, or None (an import checks it; older rows may not be)
        ok = isinstance(record, dict) and record
        self.attention_loaded.emit(mid, {**record, "text": msg["text"]} if ok else None)

    def _export(self, cid: int, fmt: str, path: str) -> None:
        text = self._store.export_conversation(cid, fmt)
        target = Path(path)
        write_whole(target, text)  # a failed write left a .part file; 0600 became 0644
        self.exported.emit(str(target))

    def _import(self, path: str) -> None:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"{path} is not a text file; choose a Parlance JSON export") from None
        cid = self._store.import_conversation(text)
        self._emit_conversations()
        self.imported.emit(cid)
