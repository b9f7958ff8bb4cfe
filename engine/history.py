"""The local history: conversations (a tree of message versions), summaries, captions, forecasts,
training runs, and full-text search over all of them, in one SQLite file through sqlite-utils.

Durability: WAL journal, ``synchronous=FULL``, foreign keys on, and every public write is one
``BEGIN IMMEDIATE`` transaction committed before the method returns, so a crash (even SIGKILL)
loses at most the write in flight. The schema version is ``PRAGMA user_version``; ``MIGRATIONS``
upgrade it forward at open, each in its own transaction. A damaged file is moved aside (kept, never
deleted) to ``<name>.corrupt-<UTC time>`` and a fresh one created (``recovered_from`` says where it
went); a file another program keeps locked raises ``HistoryLockedError`` after a busy timeout.

Search: one FTS5 external-content index per searchable table, kept in sync by triggers
(``Table.enable_fts(create_triggers=True)``). The user's words are quoted, so no query raises.

Threads: the store is created and used on one thread (the app's engine thread) and never shared;
sqlite3's ``check_same_thread`` guard stays on as a tripwire.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from engine import history_export as rec
from engine import history_search
from engine.history_schema import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    _check_limit,
    _Damaged,
    _error_code,
    _is_busy,
    _is_corrupt,
    _move_aside,
    app_holding,
)
from engine.history_search import (  # noqa: F401 (part of this module's interface)
    SEARCH_KINDS,
    fts_query,
    make_title,
)

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
RUN_STATUSES = ("running", "complete", "stopped", "error")
MESSAGE_FIELDS = ("text", "status", "latency_ms", "feedback", "attention", "settings", "model")
RUN_FIELDS = ("status", "metrics", "curves", "checkpoint", "finished_at", "duration_s", "label")
# a run's columns but its curves (the bulk of a long run's row), for lists of runs
_RUN_COLUMNS = (
    "id, task, config, data, device, checkpoint, status, metrics, started_at, finished_at, duration_s, label"
)
_IDS_PER_QUERY = 500  # ids per "IN (…)" (SQLite allowed 999 parameters before 3.32)


class NotFoundError(LookupError, ValueError):
    """No row with that id (a ValueError too, so the CLI's one error path reports it)."""


class HistoryLockedError(TimeoutError):
    """Another program held the database's write lock for longer than the busy timeout."""


# what a write raises when the history cannot be written now but may be later: another program holds
# its lock (HistoryLockedError, a TimeoutError), it was made read-only (PermissionError), the disk is
# full (OSError ENOSPC) or failed (OSError EIO) — all OSErrors, as HistoryStore._write raises them —
# or an sqlite3.OperationalError it did not translate. The one list the engine and the app use.
HISTORY_UNWRITABLE: tuple[type[BaseException], ...] = (OSError, sqlite3.OperationalError)


def utc_now() -> str:
    """Now, as the store writes every time (history_export.iso_utc)."""
    return rec.iso_utc(datetime.now(timezone.utc))


def _create_private(path: Path) -> None:
    """Create a missing database file 0600 before SQLite does: SQLite made it 0644 (umask 022),
    readable by every local user, and gives its -wal and -shm the database file's mode."""
    with contextlib.suppress(OSError):  # exists already, or cannot be made: SQLite says why
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _looks_like_text(head: bytes) -> bool:
    """Whether a file's first bytes read as text (UTF-8, no NUL, mostly printable)."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
        text = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(len(text), 1)


def _folder_message(path: Path, named_by_user: bool) -> str:
    """A folder where the history file belongs: what it is and what to do."""
    todo = "choose a file" if named_by_user else "move or rename it and restart to keep your history"
    return f"{path} is a folder, not a history database: {todo}"


def save_or_note(save: Callable[[], int], what: str) -> tuple[int | None, str | None]:
    """(id, None) from ``save()``; a history that cannot be written now (another program holds
    its lock, the file was made read-only, the disk is full) loses the entry, never the result:
    (None, a note). A full disk used to throw the finished summary, forecast or captions away."""
    try:
        return save(), None
    except HISTORY_UNWRITABLE as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, f"This {what} is not saved to history: {why}."


class HistoryStore:
    """Conversations, results, runs and search in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, *, busy_timeout_s: float = 5.0, named_by_user: bool = False):
        """``named_by_user``: the path came from the person (a CLI's ``--db``), not the app's own data
        folder; a text file there is then a document given by mistake, refused and left alone,
        where the app's own file holding text is damaged and moved aside."""
        self.path = Path(path)
        self._named_by_user = named_by_user
        self.recovered_from: Path | None = None
        self._busy_timeout_s = busy_timeout_s
        self._memory = str(path) == ":memory:"
        if not self._memory and not self.path.parent.is_dir():
            raise FileNotFoundError(f"cannot create the history database {self.path}: no such folder")
        try:
            self._db = self._open()
        except (sqlite3.DatabaseError, _Damaged) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not _is_corrupt(exc):
                if _is_busy(exc):
                    raise self._locked_error() from exc
                if _error_code(exc) in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
                    raise PermissionError(
                        f"the history database {self.path} cannot be opened for writing"
                    ) from exc
                raise
            if self._memory:
                raise
            holder = app_holding(self.path.parent)
            if holder is not None:  # renamed under it, the app would go on writing to the old file
                raise HistoryLockedError(
                    f"the history database {self.path} is damaged, but Parlance (process {holder}) has "
                    "its folder open: close Parlance and try again (Parlance keeps a damaged history "
                    "file under another name and starts a new one when it opens it)"
                ) from exc
            self.recovered_from = _move_aside(self.path)
            self._db = self._open()

    @classmethod
    def open_in_memory(cls) -> HistoryStore:
        """A private in-memory store (tests, previews); gone when closed."""
        return cls(":memory:")

    @classmethod
    def read_only_copy(cls, path: str | os.PathLike) -> HistoryStore:
        """An in-memory copy of the history file at ``path``, for one that cannot be written (a
        read-only file or folder): everything in it can be listed, searched and opened; what is
        added lives until the store is closed. ValueError for a file that is damaged, not a
        history, or from a newer Parlance; the file itself is never changed, nor moved aside."""
        store = cls.__new__(cls)
        store.path, store._named_by_user, store.recovered_from = Path(path), False, None
        store._busy_timeout_s, store._memory = 5.0, True
        if store.path.is_dir():
            raise ValueError(_folder_message(store.path, True))
        with open(store.path, "rb") as f:  # FileNotFoundError, PermissionError
            head = f.read(4096)
        if head and not head.startswith(SQLITE_MAGIC):
            what = "a text file" if _looks_like_text(head) else "not an SQLite file"
            raise ValueError(f"{path} is {what}, not a Parlance history database; it was left as it is")
        try:
            return cls._copy_into(store)
        except (sqlite3.DatabaseError, _Damaged) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not _is_corrupt(exc):
                raise
            raise ValueError(
                f"the history database {path} is damaged ({exc}); it was left as it is (the app moves a "
                "damaged history aside, keeping it, when it opens it)"
            ) from exc

    @staticmethod
    def _copy_into(store: HistoryStore) -> HistoryStore:
        uri = store.path.resolve().as_uri() + "?mode=ro"
        # No -wal beside it: no program has it open, and reading it as is leaves no -wal/-shm behind
        # (and works in a read-only folder, where a WAL file's -shm cannot be made)
        live = Path(f"{store.path}-wal").exists()
        src = sqlite3.connect(uri if live else uri + "&immutable=1", uri=True)
        conn = sqlite3.connect(":memory:")
        try:
            store._check(src, quick=True)
            conn.execute(f"PRAGMA page_size = {src.execute('PRAGMA page_size').fetchone()[0]}")
            src.backup(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            store._db = Database(conn, execute_plugins=False)
            store._migrate(store._db)  # an older schema is brought up to date in the copy
        except BaseException:
            conn.close()
            raise
        finally:
            src.close()
        return store

    def _locked_error(self) -> HistoryLockedError:
        return HistoryLockedError(
            f"the history database {self.path} is locked by another program (waited "
            f"{self._busy_timeout_s:g} s); close other Parlance windows using it and try again"
        )

    def _open(self) -> Database:
        checked = self._memory or self._check_read_only()
        if not self._memory:
            _create_private(self.path)
        conn = sqlite3.connect(":memory:" if self._memory else self.path, timeout=self._busy_timeout_s)
        try:
            self._check(conn, quick=not checked)
            conn.execute("PRAGMA foreign_keys = ON")
            db = Database(conn, execute_plugins=False)
            if not self._memory:
                db.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA secure_delete = ON")  # a deleted text is overwritten, not left in free pages
            self._migrate(db)
            return db
        except BaseException:
            conn.close()
            raise

    def _check_read_only(self) -> bool:
        """Check an existing file through a read-only connection, which never checkpoints or
        deletes a -wal, so a damaged file is moved aside exactly as it was found. False when the
        file cannot be opened read-only (e.g. a hot rollback journal): the writer checks it."""
        if self.path.is_dir():  # was an IsADirectoryError ("Is a directory: …") and a traceback
            raise ValueError(_folder_message(self.path, self._named_by_user))
        if not self.path.exists() or self.path.stat().st_size == 0:
            return True
        with open(self.path, "rb") as f:
            head = f.read(4096)
        if not head.startswith(SQLITE_MAGIC):
            if self._named_by_user:  # a document or picture given by mistake: never moved or replaced
                what = "a text file" if _looks_like_text(head) else "not an SQLite file"
                raise ValueError(
                    f"{self.path} is {what}, not a Parlance history database; it was left as it "
                    "is: choose another file"
                )
            raise _Damaged("not an SQLite file")
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            self._check(conn, quick=True)
        except sqlite3.OperationalError as exc:
            if _error_code(exc) in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
                return False
            raise
        finally:
            conn.close()
        return True

    def _check(self, conn: sqlite3.Connection, quick: bool) -> None:
        """Busy timeout on; integrity (PRAGMA quick_check), a Parlance file, not a newer schema."""
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        if quick:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise _Damaged("; ".join(problems[:5]))
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if app_id not in (0, APPLICATION_ID) or (version == 0 and tables):
            raise ValueError(f"{self.path} is an SQLite database but not a Parlance history")
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"the history database {self.path} was written by a newer Parlance (schema {version}; "
                f"this version knows up to {SCHEMA_VERSION}); update Parlance or choose another file"
            )

    def _migrate(self, db: Database, target: int = SCHEMA_VERSION) -> None:
        """Apply MIGRATIONS up to ``target``, one transaction each; an up-to-date file takes no lock."""
        while db.execute("PRAGMA user_version").fetchone()[0] < target:
            with self._write(db):  # re-read inside the lock: another process may have migrated
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version < target:
                    MIGRATIONS[version](db)
                    db.execute(f"PRAGMA user_version = {version + 1}")

    @contextlib.contextmanager
    def _write(self, db: Database | None = None) -> Iterator[Database]:
        """One IMMEDIATE transaction, committed on exit; a busy timeout becomes HistoryLockedError."""
        db = self._db if db is None else db
        conn = db.conn
        if conn.in_transaction:  # nested inside another write: part of that transaction
            yield db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield db
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.rollback()
            if _is_busy(exc):
                raise self._locked_error() from exc
            code = _error_code(exc)
            if code == sqlite3.SQLITE_READONLY:
                raise PermissionError(
                    f"the history database {self.path} is read-only: nothing can be saved to it"
                ) from exc
            if code == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
                why = f"the disk is full: nothing can be saved to {self.path} until space is freed"
                raise OSError(errno.ENOSPC, why) from exc
            if code == sqlite3.SQLITE_IOERR:
                why = f"the history database {self.path} could not be written ({exc})"
                raise OSError(errno.EIO, why) from exc
            raise
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def data_version(self) -> int | None:
        """SQLite's ``PRAGMA data_version`` of this store's connection: it changes when another
        connection (another program) commits, never for this store's own writes; None if unreadable."""
        try:
            return self._db.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None

    def conversations_mark(self) -> tuple | None:
        """What changes when conversations are added, deleted or written to: their count, newest
        ``updated_at`` and the sum of their ids (one cheap aggregate); None if unreadable."""
        try:
            return tuple(
                self._db.execute("SELECT count(*), max(updated_at), total(id) FROM conversations").fetchone()
            )
        except sqlite3.Error:
            return None

    @contextlib.contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[HistoryStore]:
        """Writes inside wait at most ``seconds`` (not the store's busy timeout) for another
        program's write lock before HistoryLockedError (a streaming reply's saves must not stall it)."""
        old = self._busy_timeout_s
        self._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        self._busy_timeout_s = seconds
        try:
            yield self
        finally:
            self._busy_timeout_s = old
            self._db.execute(f"PRAGMA busy_timeout = {int(old * 1000)}")

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------------------- conversations
    def _rows(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        try:
            return list(self._db.query(sql, params))
        except OverflowError:  # an id beyond SQLite's 64 bits (typed by a person): no such row
            return []

    _CONVERSATIONS = (
        "SELECT c.*, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count"
        " FROM conversations c"
    )

    def _conversation(self, cid: int) -> dict:
        rows = self._rows(self._CONVERSATIONS + " WHERE c.id = ?", (cid,))
        if not rows:
            raise NotFoundError(f"no conversation with id {cid}")
        return {**rows[0], "settings": rec.loads(rows[0]["settings"])}

    def create_conversation(self, title: str = "", model: str = "", settings: dict | None = None) -> int:
        rec.check_strs(title=title, model=model)
        rec.check_dict("settings", settings)
        now = utc_now()
        row = {
            "title": " ".join(title.split()),
            "model": model,
            "settings": rec.dumps("settings", settings or {}),
        }
        with self._write() as db:
            return db["conversations"].insert({**row, "created_at": now, "updated_at": now}).last_pk

    def list_conversations(self) -> list[dict]:
        """Newest updated first; each with message_count."""
        rows = self._rows(self._CONVERSATIONS + " ORDER BY c.updated_at DESC, c.id DESC")
        return [{**r, "settings": rec.loads(r["settings"])} for r in rows]

    def get_conversation(self, cid: int) -> dict:
        return self._conversation(cid)

    def _touch(self, cid: int, **fields) -> None:
        self._db["conversations"].update(cid, {"updated_at": utc_now(), **fields})

    def rename_conversation(self, cid: int, title: str) -> None:
        rec.check_strs(title=title)
        with self._write():
            self._conversation(cid)
            self._touch(cid, title=" ".join(title.split()))

    def update_conversation_settings(self, cid: int, settings: dict) -> None:
        rec.check_dict("settings", settings, optional=False)
        with self._write():
            self._conversation(cid)
            self._touch(cid, settings=rec.dumps("settings", settings))

    def _snapshot(self, cid: int) -> dict:
        return rec.make_snapshot(self._conversation(cid), self.messages(cid), SCHEMA_VERSION)

    def delete_conversation(self, cid: int) -> dict:
        """Delete it with its messages; return the snapshot that restore_conversation() puts back."""
        with self._deleting("messages") as db:
            snapshot = self._snapshot(cid)
            db.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        for m in snapshot["messages"]:  # a reply being written ends with the delete: put back stopped
            if m.get("status") == "streaming":
                m["status"] = "stopped"
        return snapshot

    def restore_conversation(self, snapshot: dict) -> int:
        """Undo a delete: the same ids when they are still free (they normally are), else new ones."""
        snap = rec.load_snapshot(snapshot, SCHEMA_VERSION)
        with self._write() as db:
            return rec.insert_snapshot(db, snap, keep_ids=True)

    # ------------------------------------------------------------------------------------ messages
    @staticmethod
    def _message(row: dict) -> dict:
        if "has_attention" in row:  # a light row (_LIGHT): no attention column to parse
            return {**row, "settings": rec.loads(row["settings"]), "has_attention": row["has_attention"] == 1}
        return {**row, "settings": rec.loads(row["settings"]), "attention": rec.loads(row["attention"])}

    # Every column but attention, which says instead whether there is one (what bool() of the parsed
    # value said: the store writes NULL or a JSON object). Reading and parsing every attention matrix
    # (19 MB of JSON after 100 exchanges) made each chat send take ~2 s in a long conversation.
    _LIGHT = (
        "SELECT id, conversation_id, parent_id, role, text, status, model, settings, latency_ms, feedback,"
        " created_at, (attention IS NOT NULL AND attention NOT IN ('null', '{}')) AS has_attention"
        " FROM messages"
    )

    def _head(self, mid: int) -> dict:
        """The id, conversation and role of message ``mid`` (what a write checks), no attention."""
        rows = self._rows("SELECT id, conversation_id, role FROM messages WHERE id = ?", (mid,))
        if not rows:
            raise NotFoundError(f"no message with id {mid}")
        return rows[0]

    def add_message(
        self,
        conversation_id: int,
        role: str,
        text: str,
        parent_id: int | None = None,
        *,
        model: str | None = None,
        settings: dict | None = None,
        status: str = "complete",
        latency_ms: float | None = None,
        attention: dict | None = None,
    ) -> int:
        """Add a message under ``parent_id`` (None: a root). Another child of the same parent is a
        new version: a regenerated reply, or an edited user message starting its own branch. The
        first user message names an untitled conversation."""
        rec.check_choice("role", role, rec.ROLES)
        rec.check_choice("status", status, rec.STATUSES)
        rec.check_text(role, text)
        rec.check_optional_str("model", model)
        rec.check_dict("settings", settings)
        rec.check_number("latency_ms", latency_ms)
        now = utc_now()
        row = {
            "conversation_id": conversation_id,
            "parent_id": parent_id,
            "role": role,
            "text": text,
            "status": status,
            "model": model,
            "settings": rec.dumps("settings", settings),
            "latency_ms": latency_ms,
            "feedback": 0,
            "attention": rec.dumps("attention", attention),
            "created_at": now,
        }
        with self._write() as db:
            conv = self._conversation(conversation_id)
            if parent_id is not None and self._head(parent_id)["conversation_id"] != conversation_id:
                raise ValueError(f"message {parent_id} belongs to another conversation")
            mid = db["messages"].insert(row).last_pk
            if role == "user" and not conv["title"]:
                self._touch(conversation_id, title=make_title(text))
            else:
                self._touch(conversation_id)
        return mid

    def update_message(self, mid: int, **fields) -> None:
        """Change some of MESSAGE_FIELDS (e.g. text and status while a reply streams, feedback)."""
        unknown = sorted(set(fields) - set(MESSAGE_FIELDS))
        if unknown:
            raise ValueError(
                f"cannot update message field(s) {unknown}; allowed: {', '.join(MESSAGE_FIELDS)}"
            )
        if "status" in fields:
            rec.check_choice("status", fields["status"], rec.STATUSES)
        if "feedback" in fields:
            rec.check_choice("feedback", fields["feedback"], rec.FEEDBACK)
        rec.check_number("latency_ms", fields.get("latency_ms"))
        rec.check_optional_str("model", fields.get("model"))
        rec.check_dict("settings", fields.get("settings"))
        updates = dict(fields)
        for key in ("settings", "attention"):
            if key in updates:
                updates[key] = rec.dumps(key, updates[key])
        with self._write() as db:
            msg = self._head(mid)
            if "text" in fields:
                rec.check_text(msg["role"], fields["text"])
            if updates:
                db["messages"].update(mid, updates)
            if set(fields) - {"feedback"}:
                self._touch(msg["conversation_id"])

    def get_message(self, mid: int) -> dict:
        rows = self._rows("SELECT * FROM messages WHERE id = ?", (mid,))
        if not rows:
            raise NotFoundError(f"no message with id {mid}")
        return self._message(rows[0])

    def messages(self, cid: int, *, attention: bool = True) -> list[dict]:
        """Every message version of the conversation, in creation order. ``attention=False``: each
        without ``attention`` but with ``has_attention`` (what lists and threads need; cheap)."""
        self._conversation(cid)
        select = "SELECT * FROM messages" if attention else self._LIGHT
        rows = self._rows(select + " WHERE conversation_id = ? ORDER BY id", (cid,))
        return [self._message(r) for r in rows]

    def children(self, mid: int | None, cid: int) -> list[dict]:
        """The replies to ``mid`` (None: the roots), i.e. the versions of the next turn, oldest first."""
        self._conversation(cid)
        rows = self._rows(
            "SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id", (cid, mid)
        )
        return [self._message(r) for r in rows]

    def thread(self, cid: int, leaf_id: int | None = None, *, attention: bool = True) -> list[dict]:
        """The root -> leaf path shown as the chat. Without ``leaf_id``: the newest root, then the
        newest reply at each level. With it: the path through ``leaf_id``, continued below it by
        the newest replies (so picking an older version of a turn shows that branch in full).
        ``attention=False``: the messages as ``messages(attention=False)`` gives them."""
        return [m for m, _, _ in self.walk(self.messages(cid, attention=attention), cid, leaf_id)]

    @staticmethod
    def walk(msgs: list[dict], cid: int, leaf_id: int | None) -> list[tuple[dict, int, int]]:
        """(message, version, versions) along the thread through ``leaf_id`` of ``msgs``, the
        conversation's messages() (read once by a caller that needs them all too)."""
        if leaf_id is not None and all(m["id"] != leaf_id for m in msgs):
            raise NotFoundError(f"conversation {cid} has no message {leaf_id}")
        return rec.walk_thread(msgs, leaf_id)

    # ------------------------------------------------------------------------------------- results
    def _add(self, table: str, row: dict, meta: dict | None) -> int:
        rec.check_dict("meta", meta)
        with self._write() as db:
            return (
                db[table]
                .insert({**row, "meta": rec.dumps("meta", meta or {}), "created_at": utc_now()})
                .last_pk
            )

    def _list(self, table: str, limit: int) -> list[dict]:
        _check_limit(limit)
        rows = self._rows(f"SELECT * FROM {table} ORDER BY id DESC LIMIT ?", (limit,))
        return [_with_meta(r) for r in rows]

    def _get(self, table: str, what: str, item_id: int) -> dict:
        rows = self._rows(f"SELECT * FROM {table} WHERE id = ?", (int(item_id),))
        if not rows:
            raise NotFoundError(f"{what} {item_id} is no longer in the history")
        row = _with_meta(rows[0])
        if row["meta_damaged"]:
            raise ValueError(f"{what} {item_id} is damaged in the history file and cannot be opened")
        return row

    def get_summary(self, item_id: int) -> dict:
        """One summary row (``meta`` parsed); NotFoundError / ValueError when missing or damaged."""
        return self._get("summaries", "Summary", item_id)

    def get_caption(self, item_id: int) -> dict:
        return self._get("captions", "Caption", item_id)

    def get_forecast(self, item_id: int) -> dict:
        return self._get("forecasts", "Forecast", item_id)

    def add_summary(self, source: str, summary: str, method: str, meta: dict | None = None) -> int:
        """``meta["origin"]`` (the file it came from) is searched too."""
        rec.check_strs(source=source, summary=summary, method=method)
        rec.check_dict("meta", meta)
        origin = (meta or {}).get("origin")
        row = {"source": source, "summary": summary, "method": method}
        return self._add("summaries", {**row, "origin": origin if isinstance(origin, str) else ""}, meta)

    def add_caption(self, file_name: str, file_hash: str, caption: str, meta: dict | None = None) -> int:
        """The captions of a video's scenes (``meta["scenes"][i]["caption"]``) are searched too."""
        rec.check_strs(file_name=file_name, file_hash=file_hash, caption=caption)
        rec.check_dict("meta", meta)
        scenes = (meta or {}).get("scenes")
        said = [s.get("caption") for s in scenes if isinstance(s, dict)] if isinstance(scenes, list) else []
        row = {"file_name": file_name, "file_hash": file_hash, "caption": caption}
        return self._add("captions", {**row, "scenes": " ".join(c for c in said if isinstance(c, str))}, meta)

    def add_forecast(self, name: str, method: str, horizon: int, meta: dict | None = None) -> int:
        rec.check_strs(name=name, method=method)
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, not {horizon!r}")
        return self._add("forecasts", {"name": name, "method": method, "horizon": horizon}, meta)

    def delete_result(self, kind: str, item_id: int) -> dict:
        """Delete one summary, caption or forecast (``kind``); returns what restore_result() takes.
        NotFoundError when it is already gone."""
        table, what = _result_table(kind)
        with self._deleting(table) as db:
            rows = self._rows(f"SELECT * FROM {table} WHERE id = ?", (int(item_id),))
            if not rows:
                raise NotFoundError(f"{what} {item_id} is no longer in the history")
            db.execute(f"DELETE FROM {table} WHERE id = ?", (int(item_id),))
        return {"kind": kind, "row": rows[0]}

    @contextlib.contextmanager
    def _deleting(self, table: str) -> Iterator[Database]:
        """The write transaction of a delete from ``table``, which also merges its word index: the
        index keeps a deleted text's words in its segments until they are merged, and the -wal file
        keeps old copies of pages until a checkpoint, done after it (secure_delete clears only the
        table's own pages; best effort: a reader elsewhere can hold the checkpoint back)."""
        with self._write() as db:
            yield db
            db.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES('optimize')")
        if not self._memory:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def restore_result(self, snapshot: dict) -> int:
        """Put back what delete_result() returned, under its old id when that is still free."""
        table, _ = _result_table(snapshot.get("kind"))
        row = dict(snapshot["row"])
        with self._write() as db:
            if self._rows(f"SELECT 1 FROM {table} WHERE id = ?", (row["id"],)):
                row.pop("id")
            return db[table].insert(row).last_pk

    def list_summaries(self, limit: int = 100) -> list[dict]:
        return self._list("summaries", limit)

    def list_captions(self, limit: int = 100) -> list[dict]:
        return self._list("captions", limit)

    def list_forecasts(self, limit: int = 100) -> list[dict]:
        return self._list("forecasts", limit)

    # ---------------------------------------------------------------------------------------- runs
    @staticmethod
    def _run(row: dict) -> dict:
        parsed = {k: rec.loads(row[k]) for k in ("config", "metrics", "curves") if k in row}
        return {"curves": None, **row, **parsed}

    def add_run(self, task: str, config: dict, data: str, device: str, checkpoint: str | None = None) -> int:
        rec.check_strs(task=task, data=data, device=device)
        rec.check_optional_str("checkpoint", checkpoint)
        rec.check_dict("config", config, optional=False)
        row = {"task": task, "config": rec.dumps("config", config), "data": data, "device": device}
        row.update(checkpoint=checkpoint, status="running", metrics="{}", curves="{}", started_at=utc_now())
        with self._write() as db:
            return db["runs"].insert(row).last_pk

    def update_run(self, run_id: int, **fields) -> None:
        """Change RUN_FIELDS; a final status without finished_at stamps the time now."""
        unknown = sorted(set(fields) - set(RUN_FIELDS))
        if unknown:
            raise ValueError(f"cannot update run field(s) {unknown}; allowed: {', '.join(RUN_FIELDS)}")
        updates = dict(fields)
        if "status" in updates:
            rec.check_choice("status", updates["status"], RUN_STATUSES)
            if updates["status"] != "running":
                updates.setdefault("finished_at", utc_now())
        for key in ("metrics", "curves"):
            if key in updates:
                rec.check_dict(key, updates[key], optional=False)
                updates[key] = rec.dumps(key, updates[key])
        if "label" in updates:
            rec.check_optional_str("label", updates["label"])
            updates["label"] = updates["label"] or None  # "" clears it too
        if isinstance(updates.get("finished_at"), datetime):
            stamp = updates["finished_at"].astimezone(timezone.utc).isoformat(timespec="milliseconds")
            updates["finished_at"] = stamp.replace("+00:00", "Z")
        rec.check_number("duration_s", updates.get("duration_s"))
        with self._write() as db:
            self.get_run(run_id)
            if updates:
                db["runs"].update(run_id, updates)

    def get_run(self, run_id: int) -> dict:
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise NotFoundError(f"no training run with id {run_id}")
        return self._run(rows[0])

    def list_runs(self, curves: bool = True, task: str | None = None) -> list[dict]:
        """Newest first; only ``task``'s runs when given. ``curves=False`` does not read the curves
        (each run's ``"curves"`` is None): a list of long runs read them all, for seconds."""
        rec.check_optional_str("task", task)
        sql = f"SELECT {'*' if curves else _RUN_COLUMNS} FROM runs"
        where, params = (" WHERE task = ?", (task,)) if task is not None else ("", ())
        return [self._run(r) for r in self._rows(sql + where + " ORDER BY id DESC", params)]

    def run_curves(self, run_ids: Iterable[int]) -> dict[int, dict]:
        """Run id -> its curves (``{}`` when it has none); ids not in the history are left out."""
        ids = sorted({int(i) for i in run_ids})
        curves: dict[int, dict] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            for row in self._rows(f"SELECT id, curves FROM runs WHERE id IN ({marks})", tuple(chunk)):
                curves[row["id"]] = rec.loads(row["curves"]) or {}
        return curves

    @property
    def folder(self) -> Path | None:
        """The folder the history file is in (None for a store in memory only)."""
        return None if str(self.path) == ":memory:" else self.path.parent

    def stored_run_folder(self, folder: str | os.PathLike) -> str:
        """How a run's folder is recorded: relative to the history's folder when it lies inside it
        (``models/run-0003-lm``), so that a data folder copied or moved elsewhere keeps its runs."""
        if self.folder is not None:
            with contextlib.suppress(ValueError, OSError):
                return Path(folder).resolve().relative_to(self.folder.resolve()).as_posix()
        return str(folder)

    def run_folder(self, stored: str | None, run_id: int | None = None) -> Path | None:
        """A run's folder from its recorded ``checkpoint`` (see stored_run_folder), absolute. A path
        recorded whole by an older Parlance that points outside this history's folder is read as
        ``<history's folder>/<its last two parts>`` (``models/run-0003-lm``) where that folder
        exists: the data folder was copied or moved, and its runs are the copies here, not the
        originals (which may still exist, and belong to another data folder). Given the run's id
        (``run_id``), a folder there whose RUN_FILE names another run is not this run's: the path
        stays as recorded (a history copied into a data folder with runs of its own)."""
        if not stored:
            return None
        path = Path(stored)
        base = self.folder
        if base is None:
            return path
        if not path.is_absolute():
            return base.resolve() / path
        with contextlib.suppress(ValueError, OSError):
            path.resolve().relative_to(base.resolve())
            return path  # inside this data folder
        here = base.resolve().joinpath(*path.parts[-2:])
        if len(path.parts) <= 2 or not here.is_dir():
            return path
        if run_id is not None:
            from engine.training import run_folder_owner

            if run_folder_owner(here) not in (None, run_id):
                return path  # another run's folder (its run.json says so), not a copy of this one
        return here

    def delete_run(self, run_id: int) -> None:
        """Remove a run's record (NotFoundError when there is none); its folder is left as it is."""
        with self._write() as db:
            if not self._rows("SELECT 1 FROM runs WHERE id = ?", (run_id,)):
                raise NotFoundError(f"no training run with id {run_id}")
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # -------------------------------------------------------------------------------------- search
    def search(self, query: str, limit: int = 50, kinds: Iterable[str] | None = None) -> list[dict]:
        """Hits among messages, summaries, captions and forecasts (``kinds``, a subset of
        SEARCH_KINDS; default all): see :func:`engine.history_search.search`."""
        _check_limit(limit)
        return history_search.search(self._rows, query, limit, kinds)

    # ------------------------------------------------------------------------------- export/import
    def export_conversation(self, cid: int, fmt: str = "md") -> str:
        """``"md"``: the current thread as Markdown; ``"json"``: the whole tree (every version,
        settings, feedback, schema_version), which import_conversation() reads back."""
        rec.check_choice("format", fmt, ("md", "json"))
        if fmt == "md":
            thread = self.walk(self.messages(cid, attention=False), cid, None)
            return rec.to_markdown(self._conversation(cid), thread)
        return json.dumps(self._snapshot(cid), ensure_ascii=False, indent=2) + "\n"

    def import_conversation(self, text: str) -> int:
        """Add a conversation from a JSON export (new ids, same tree); ValueError if it is not one."""
        snap = rec.load_snapshot(text, SCHEMA_VERSION)
        with self._write() as db:
            return rec.insert_snapshot(db, snap, keep_ids=False)


_RESULT_TABLES = {
    "summary": ("summaries", "Summary"),
    "caption": ("captions", "Caption"),
    "forecast": ("forecasts", "Forecast"),
}


def _result_table(kind) -> tuple[str, str]:
    if kind not in _RESULT_TABLES:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(_RESULT_TABLES)}")
    return _RESULT_TABLES[kind]


def _with_meta(row: dict) -> dict:
    """A summary/caption/forecast row with ``meta`` parsed; a row whose meta is not valid JSON (the
    file edited or damaged) gets ``meta`` None and ``meta_damaged`` True instead of spoiling a list."""
    try:
        return {**row, "meta": rec.loads(row["meta"]), "meta_damaged": False}
    except ValueError:
        return {**row, "meta": None, "meta_damaged": True}
