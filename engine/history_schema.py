"""The history file's schema (its migrations, append-only) and how SQLite failures are recognised:
a damaged file (moved aside, never deleted) and a busy one. Used by :mod:`engine.history`."""

from __future__ import annotations

import os
import socket
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from engine.paths import pid_alive

APPLICATION_ID = 0x50524C43  # "PRLC" in the SQLite header: marks a Parlance history file
FTS_TOKENIZE = "unicode61 remove_diacritics 2"  # no stemming: prefix search stays predictable


def _v1_conversations(db: Database) -> None:
    db.executescript(f"""
        PRAGMA application_id = {APPLICATION_ID};
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL DEFAULT '{{}}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'bot')),
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'streaming', 'stopped', 'error')),
            model TEXT,
            settings TEXT,
            latency_ms REAL,
            feedback INTEGER NOT NULL DEFAULT 0 CHECK (feedback IN (-1, 0, 1)),
            attention TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, parent_id, id);
        CREATE INDEX messages_by_parent ON messages(parent_id);
        CREATE INDEX conversations_by_update ON conversations(updated_at);
    """)
    db["messages"].enable_fts(["text"], create_triggers=True, tokenize=FTS_TOKENIZE)


def _v2_results(db: Database) -> None:
    db.executescript("""
        CREATE TABLE summaries (id INTEGER PRIMARY KEY, source TEXT NOT NULL, summary TEXT NOT NULL,
            method TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
        CREATE TABLE captions (id INTEGER PRIMARY KEY, file_name TEXT NOT NULL, file_hash TEXT NOT NULL,
            caption TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
        CREATE INDEX captions_by_hash ON captions(file_hash);
        CREATE TABLE forecasts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, method TEXT NOT NULL,
            horizon INTEGER NOT NULL, meta TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
    """)
    db["summaries"].enable_fts(["summary", "source"], create_triggers=True, tokenize=FTS_TOKENIZE)
    db["captions"].enable_fts(["caption", "file_name"], create_triggers=True, tokenize=FTS_TOKENIZE)
    db["forecasts"].enable_fts(["name", "method"], create_triggers=True, tokenize=FTS_TOKENIZE)


def _v3_runs(db: Database) -> None:
    db.executescript("""
        CREATE TABLE runs (id INTEGER PRIMARY KEY, task TEXT NOT NULL, config TEXT NOT NULL,
            data TEXT NOT NULL, device TEXT NOT NULL, checkpoint TEXT,
            status TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'complete', 'stopped', 'error')),
            metrics TEXT NOT NULL DEFAULT '{}', curves TEXT NOT NULL DEFAULT '{}',
            started_at TEXT NOT NULL, finished_at TEXT, duration_s REAL);
    """)


def _v4_searchable_origins(db: Database) -> None:
    """A summary is found by the file it came from, a video by the captions of its scenes."""
    db.executescript("""
        ALTER TABLE summaries ADD COLUMN origin TEXT NOT NULL DEFAULT '';
        ALTER TABLE captions ADD COLUMN scenes TEXT NOT NULL DEFAULT '';
    """)
    try:
        db.executescript("""
            UPDATE summaries SET origin = COALESCE(json_extract(meta, '$.origin'), '')
                WHERE json_valid(meta) AND json_type(meta, '$.origin') = 'text';
            UPDATE captions SET scenes = COALESCE((SELECT group_concat(json_extract(value, '$.caption'), ' ')
                FROM json_each(captions.meta, '$.scenes') WHERE type = 'object'), '')
                WHERE json_valid(meta) AND json_type(meta, '$.scenes') = 'array';
        """)
    except sqlite3.OperationalError as exc:  # JSON1 (built in since SQLite 3.38) missing: old rows
        if "no such function" not in str(exc):  # keep empty columns; anything else is a real error
            raise
    searched = {"summaries": ["summary", "source", "origin"], "captions": ["caption", "file_name", "scenes"]}
    for table, columns in searched.items():
        db[table].disable_fts()
        db[table].enable_fts(columns, create_triggers=True, tokenize=FTS_TOKENIZE)


# v5: the tables of schema 4 with ``AUTOINCREMENT`` ids (and runs' ``label``). Without it SQLite hands
# the highest deleted id out again, and a search result still on screen opened, or deleted, the
# newer row that took its id.
_V5_TABLES = {
    "summaries": """(id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, summary TEXT NOT NULL,
        method TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL,
        origin TEXT NOT NULL DEFAULT '')""",
    "captions": """(id INTEGER PRIMARY KEY AUTOINCREMENT, file_name TEXT NOT NULL,
        file_hash TEXT NOT NULL, caption TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL, scenes TEXT NOT NULL DEFAULT '')""",
    "forecasts": """(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, method TEXT NOT NULL,
        horizon INTEGER NOT NULL, meta TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL)""",
    "runs": """(id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, config TEXT NOT NULL,
        data TEXT NOT NULL, device TEXT NOT NULL, checkpoint TEXT,
        status TEXT NOT NULL DEFAULT 'running'
            CHECK (status IN ('running', 'complete', 'stopped', 'error')),
        metrics TEXT NOT NULL DEFAULT '{}', curves TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL, finished_at TEXT, duration_s REAL, label TEXT)""",
}


def _v5_ids_never_reused(db: Database) -> None:
    """Rebuild summaries, captions, forecasts and runs with AUTOINCREMENT ids, keeping every row and
    its id (sqlite_sequence starts at the highest), their indexes and word indexes; runs get a
    ``label`` (a name the person gives the run)."""
    for table, columns in _V5_TABLES.items():
        fts = db[table].detect_fts()
        searched = [c for c in db[fts].columns_dict if c != "rowid"] if fts else []
        indexes = [
            sql
            for (sql,) in db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                (table,),
            )
        ]
        if fts:
            db[table].disable_fts()  # its triggers name the old table; rebuilt below
        kept = ", ".join(f'"{c}"' for c in db[table].columns_dict)
        db.execute(f'CREATE TABLE "{table}_v5" {columns}')
        db.execute(f'INSERT INTO "{table}_v5" ({kept}) SELECT {kept} FROM "{table}" ORDER BY id')
        db.execute(f'DROP TABLE "{table}"')
        db.execute(f'ALTER TABLE "{table}_v5" RENAME TO "{table}"')
        for sql in indexes:
            db.execute(sql)
        # the inserts above set the table's sequence to its highest id; say so where it had no rows
        db.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0"
            " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
            (table, table),
        )
        if searched:
            db[table].enable_fts(searched, create_triggers=True, tokenize=FTS_TOKENIZE)


# MIGRATIONS[i] upgrades a file from schema i to i + 1. Append only; never edit a released one.
MIGRATIONS = (_v1_conversations, _v2_results, _v3_runs, _v4_searchable_origins, _v5_ids_never_reused)
SCHEMA_VERSION = len(MIGRATIONS)


def _error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return None if code is None else code & 0xFF


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = _error_code(exc)
    if code is not None:
        return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _is_busy(exc: sqlite3.Error) -> bool:
    code = _error_code(exc)
    if code is not None:
        return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc).lower()


MAX_LIMIT = 2**62  # SQLite integers are 64-bit; "all of them" needs no more


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a positive integer up to {MAX_LIMIT}, not {limit!r}")


class _Damaged(Exception):
    """The file opened but failed PRAGMA quick_check."""


APP_LOCK = "parlance.lock"  # desktop.app.LOCK_NAME: the app's QLockFile in its data folder


def app_holding(folder: Path) -> int | None:
    """The pid of another process, a Parlance window, that has the data folder ``folder`` open (its
    QLockFile there reads: pid, app name, host name), or None. A lock left by a process that has
    ended holds nobody; one written on another computer cannot be checked and counts as held."""
    try:
        lines = (folder / APP_LOCK).read_text(encoding="utf-8", errors="replace").splitlines()
        pid = int(lines[0].strip())
    except (OSError, IndexError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid():  # the app opening its own history
        return None
    host = lines[2].strip().split(".")[0].lower() if len(lines) > 2 else ""
    if host and host != socket.gethostname().split(".")[0].lower():
        return pid
    return pid if pid_alive(pid) else None


def _move_aside(path: Path) -> Path:
    """Rename a damaged file (and its -wal/-shm/-journal) to <name>.corrupt-<UTC time>; never deletes."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm", "-journal")):
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.rename(path, target)
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.rename(side, f"{target}{suffix}")
    return target
