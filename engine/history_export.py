"""The conversation record format of the history store: field checks, JSON snapshots, Markdown.

A *snapshot* is the plain, JSON-ready dict that ``HistoryStore.delete_conversation`` returns (so the
app can undo) and that ``export_conversation(fmt="json")`` writes: the conversation, every message
version (the whole tree, in creation order) and the schema version of the store that wrote it.
``load_snapshot`` checks one that came from outside (a file, the clipboard) and returns a clean
copy, or raises ``ValueError`` saying what is wrong and where. ``to_markdown`` renders one thread
for people to read.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FORMAT = "parlance.conversation"  # the "format" marker of a snapshot / JSON export
ROLES = ("user", "bot")
STATUSES = ("complete", "streaming", "stopped", "error")
FEEDBACK = (-1, 0, 1)  # thumbs down, none, thumbs up
ROLE_LABELS = {"user": "You", "bot": "Parlance"}
CONVERSATION_KEYS = ("id", "title", "model", "settings", "created_at", "updated_at")
MESSAGE_KEYS = (
    "id",
    "parent_id",
    "role",
    "text",
    "status",
    "model",
    "settings",
    "latency_ms",
    "feedback",
    "attention",
    "created_at",
)


# ---------------------------------------------------------------------------------------------- checks
def check_choice(name: str, value: Any, allowed: tuple) -> None:
    """ValueError naming the allowed values unless ``value`` is one of them (bools never count)."""
    if isinstance(value, bool) or value not in allowed:
        known = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {known}, not {value!r}")


def check_text(role: str, text: Any) -> None:
    """Message text is a string; a user message must say something."""
    if not isinstance(text, str):
        raise ValueError(f"message text must be a string, not {type(text).__name__}")
    if role == "user" and not text.strip():
        raise ValueError("a user message cannot be empty or only whitespace")


MAX_NUMBER = 2**62  # the largest number a record field holds (SQLite integers are 64-bit)


def check_number(name: str, value: Any) -> None:
    """None or a finite real number."""
    if value is None:
        return
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    try:
        ok = ok and math.isfinite(value) and abs(value) <= MAX_NUMBER  # (SQLite stores 64-bit ints)
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
        raise ValueError(f"{name} must be a finite number or None, not {shown}")


def check_dict(name: str, value: Any, *, optional: bool = True) -> None:
    """A JSON object (dict), or None where optional."""
    if value is None and optional:
        return
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a dict{' or None' if optional else ''}, not {type(value).__name__}")


def check_strs(**values: Any) -> None:
    """Every keyword's value is a string."""
    for name, value in values.items():
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {type(value).__name__}")


def iso_utc(when: datetime) -> str:
    """ISO-8601 UTC with milliseconds, e.g. 2026-05-09T07:35:12.123Z (sorts as text)."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_stamp(name: str, value: Any) -> str:
    """An imported time as the store writes its own (UTC, milliseconds, "Z"): lists sort by
    these as text, so "yesterday" or a local time with an offset would put it out of order."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {value[:40]!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return iso_utc(when)


def check_optional_str(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string or None, not {type(value).__name__}")


def _no_constant(name: str):
    """NaN and Infinity are not JSON: an export holding them was edited (and would spoil every
    JSON the history writes later)."""
    raise ValueError(f"not a Parlance conversation export: {name} is not a JSON number")


def dumps(name: str, value: Any) -> str | None:
    """JSON text for a JSON-ish column (None stays NULL); ValueError if it cannot be serialised."""
    if value is None:
        return None
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be JSON-serialisable: {exc}") from exc


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


# ------------------------------------------------------------------------------------------- snapshots
def make_snapshot(conversation: dict, messages: list[dict], schema_version: int) -> dict:
    """The JSON-ready record of a conversation and all its message versions (creation order)."""
    return {
        "format": FORMAT,
        "schema_version": schema_version,
        "conversation": {k: conversation[k] for k in CONVERSATION_KEYS},
        "messages": [{k: m[k] for k in MESSAGE_KEYS} for m in messages],
    }


def _conversation_field_errors(conv: dict) -> None:
    if not isinstance(conv.get("id"), int) or isinstance(conv.get("id"), bool):
        raise ValueError("conversation.id must be an integer")
    for key in ("title", "model"):
        if not isinstance(conv.get(key), str):
            raise ValueError(f"conversation.{key} must be a string")
    for key in ("created_at", "updated_at"):
        utc_stamp(f"conversation.{key}", conv.get(key))
    check_dict("conversation.settings", conv.get("settings"), optional=False)
    check_dict("conversation.settings.decoding", conv["settings"].get("decoding"))


def _message_field_errors(msg: dict, seen: set[int]) -> None:
    mid = msg.get("id")
    if not isinstance(mid, int) or isinstance(mid, bool):
        raise ValueError("id must be an integer")
    if mid in seen:
        raise ValueError(f"id {mid} appears twice")
    parent = msg.get("parent_id")
    if parent is not None and (isinstance(parent, bool) or parent not in seen):
        raise ValueError(f"parent_id {parent!r} is not the id of an earlier message in the file")
    check_choice("role", msg.get("role"), ROLES)
    check_text(msg["role"], msg.get("text"))
    check_choice("status", msg.get("status"), STATUSES)
    check_optional_str("model", msg.get("model"))
    check_dict("settings", msg.get("settings"))
    check_dict("attention", msg.get("attention"))
    check_number("latency_ms", msg.get("latency_ms"))
    check_choice("feedback", msg.get("feedback"), FEEDBACK)
    utc_stamp("created_at", msg.get("created_at"))


def load_snapshot(data: str | bytes | dict, schema_version: int) -> dict:
    """Check a snapshot / JSON export and return a clean copy; ValueError says what is wrong.

    ``schema_version`` is the reader's version: a file written by a newer Parlance is refused. Every
    message's parent must come earlier in the list (true of every export), which also rules out
    cycles, so the tree can be rebuilt in one pass.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a Parlance conversation export: invalid JSON ({exc})") from exc
        except RecursionError:
            raise ValueError("not a Parlance conversation export: the JSON is nested too deeply") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(
            f'not a Parlance conversation export: expected a JSON object with "format": "{FORMAT}"'
        )
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("conversation export has no valid schema_version")
    if version > schema_version:
        raise ValueError(
            f"this conversation was exported by a newer Parlance (schema {version}; this one reads up to "
            f"{schema_version}); update Parlance to import it"
        )
    conv, messages = data.get("conversation"), data.get("messages")
    if not isinstance(conv, dict):
        raise ValueError('conversation export: "conversation" must be an object')
    if not isinstance(messages, list):
        raise ValueError('conversation export: "messages" must be a list')
    try:
        _conversation_field_errors(conv)
    except ValueError as exc:
        raise ValueError(f"conversation export: {exc}") from None
    seen: set[int] = set()
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise ValueError(f"conversation export: message #{i} must be an object")
        try:
            _message_field_errors(msg, seen)
            dumps("attention", msg.get("attention"))
        except ValueError as exc:
            raise ValueError(f"conversation export: message #{i}: {exc}") from None
        seen.add(msg["id"])
    return {
        "format": FORMAT,
        "schema_version": version,
        "conversation": {k: conv[k] for k in CONVERSATION_KEYS},
        "messages": [{k: m.get(k) for k in MESSAGE_KEYS} for m in messages],
    }


MAX_TITLE = 300  # characters of an imported conversation title


def insert_snapshot(db, snap: dict, keep_ids: bool) -> int:
    """Write a checked snapshot into ``db`` (a sqlite_utils Database, inside the caller's
    transaction); return the conversation id. Parents come before children, so new ids keep the
    creation order and the tree. ``keep_ids``: reuse the snapshot's ids if all are still free."""
    conv, messages = snap["conversation"], snap["messages"]
    if keep_ids:
        ids = json.dumps([m["id"] for m in messages])
        taken = db.execute("SELECT count(*) FROM conversations WHERE id = ?", (conv["id"],)).fetchone()[0]
        sql = "SELECT count(*) FROM messages WHERE id IN (SELECT value FROM json_each(?))"
        keep_ids = taken + db.execute(sql, (ids,)).fetchone()[0] == 0
    row = {k: conv[k] for k in ("title", "model")}
    row.update({k: utc_stamp(k, conv[k]) for k in ("created_at", "updated_at")})
    # one line, as titles made here are (a hand-edited one held newlines and a Markdown heading)
    row["title"] = " ".join(conv["title"].split())[:MAX_TITLE]
    row["settings"] = dumps("settings", conv["settings"])
    if keep_ids:
        row["id"] = conv["id"]
    cid = db["conversations"].insert(row).last_pk
    new_ids: dict[int, int] = {}
    for m in messages:
        mrow = {k: m[k] for k in MESSAGE_KEYS}
        mrow.update(conversation_id=cid, settings=dumps("settings", m["settings"]))
        mrow["created_at"] = utc_stamp("created_at", m["created_at"])
        mrow.update(attention=dumps("attention", m["attention"]))
        mrow["parent_id"] = None if m["parent_id"] is None else new_ids[m["parent_id"]]
        if not keep_ids:
            del mrow["id"]
        new_ids[m["id"]] = db["messages"].insert(mrow).last_pk
    return cid


# ------------------------------------------------------------------------------------------------ tree
def walk_thread(messages: list[dict], leaf_id: int | None = None) -> list[tuple[dict, int, int]]:
    """The root -> leaf path through a message tree (creation order), each step as (message,
    version number among its siblings, sibling count). Without ``leaf_id``: the newest root, then
    the newest child at each level; with it (it must be in ``messages``): the path through it,
    continued below by the newest children."""
    by_id = {m["id"]: m for m in messages}
    kids: dict[int | None, list[dict]] = defaultdict(list)
    for m in messages:
        kids[m["parent_id"]].append(m)
    path: list[dict] = []
    seen: set = set()  # a hand-edited file may hold a cycle (duplicate ids, a self-parent)
    if leaf_id is not None:
        node: dict | None = by_id[leaf_id]
        while node is not None and node["id"] not in seen:
            seen.add(node["id"])
            path.append(node)
            node = by_id.get(node["parent_id"])
        path.reverse()
    elif kids[None]:
        path.append(kids[None][-1])
        seen.add(path[-1]["id"])
    while path and kids[path[-1]["id"]] and kids[path[-1]["id"]][-1]["id"] not in seen:
        path.append(kids[path[-1]["id"]][-1])
        seen.add(path[-1]["id"])
    out = []
    for m in path:
        siblings = [s["id"] for s in kids[m["parent_id"]]]
        out.append((m, siblings.index(m["id"]) + 1, len(siblings)))
    return out


# -------------------------------------------------------------------------------------------- markdown
def _settings_line(settings: dict | None) -> str:
    if not settings:
        return ""
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in settings.items())


def to_markdown(conversation: dict, thread: list[tuple[dict, int, int]]) -> str:
    """Readable Markdown of one thread: ``thread`` holds (message, version number, versions there).

    Message text is Markdown already (as the chat bubbles show it) and is written as such, except
    what would break the document or lose text (see :func:`markdown_text`): it was written as is,
    so a message starting with ``#`` became a heading of the document, an unclosed fence turned
    every later section into code, NULs went into the file and ``List<String>`` vanished. Notes in
    italics say which version of a reply this is, a non-complete status and the user's feedback.
    """
    title = _inline_text(conversation["title"] or "Untitled conversation")
    title = re.sub(r"([ \t])(#+[ \t]*)$", r"\1\\\2", title)  # not a closing sequence: "C #" kept its #
    lines = [f"# {title}", ""]
    facts = [f"created {conversation['created_at']}", f"updated {conversation['updated_at']}"]
    if conversation["model"]:
        facts.insert(0, f"model `{conversation['model']}`")
    lines.append("_" + " · ".join(facts) + "_")
    if _settings_line(conversation["settings"]):
        lines += ["", f"Settings: `{_settings_line(conversation['settings'])}`"]
    for msg, version, versions in thread:
        notes = [msg["created_at"]]
        if msg["model"] and msg["model"] != conversation["model"]:
            notes.append(f"model `{msg['model']}`")
        if versions > 1:
            notes.append(f"version {version} of {versions}")
        if msg["status"] != "complete":
            notes.append(msg["status"])
        if msg["feedback"]:
            notes.append("liked" if msg["feedback"] > 0 else "disliked")
        if msg["latency_ms"] is not None and msg["role"] == "bot":
            notes.append(f"{msg['latency_ms']:.0f} ms")
        lines += ["", f"### {ROLE_LABELS[msg['role']]}", "", "_" + " · ".join(notes) + "_", ""]
        lines.append(markdown_text(msg["text"]) if msg["text"].strip() else "_(empty)_")
    return _no_controls("\n".join(lines) + "\n")


def _no_controls(text: str) -> str:
    """Line breaks as \\n; other control characters (Unicode Cc but \\n and \\t: NUL, BEL, ESC …)
    as U+FFFD, so the file stays text and the gap shows."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else "\ufffd" for ch in text)


_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")  # an ATX heading
_UNDERLINE = re.compile(r"^( {0,3})(=+|-+)[ \t]*$")  # under a line of text: a setext heading
_CODE_SPAN = re.compile(r"(?<!`)(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_RAW = re.compile(r"<|&(?=#?\w+;)")  # an HTML tag or comment, an entity


def markdown_text(text: str) -> str:
    """A message's Markdown as a part of the export: control characters replaced, a fence left open
    closed at its end, headings (``# …``, a line under text made of ``=`` or ``-``) escaped so they
    do not become the document's, and ``<`` and entities outside code escaped (``List<String>``
    showed as "List")."""
    out: list[str] = []
    block: list[str] = []  # lines outside fenced code
    fence = ""
    for line in _no_controls(text).split("\n"):
        m = _FENCE.match(line)
        if fence:
            out.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                fence = ""
        elif m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            out += _escaped_block(block)
            block = []
            out.append(line)
            fence = m.group(1)
        else:
            block.append(line)
    out += _escaped_block(block)
    if fence:
        out.append(fence)
    return "\n".join(out)


def _escaped_block(lines: list[str]) -> list[str]:
    """Lines outside fenced code: headings escaped, ``<`` and entities outside code spans."""
    if not lines:
        return []
    text = []
    for i, line in enumerate(lines):
        line = _HEADING.sub(r"\1\\\2", line)
        if i and lines[i - 1].strip():
            line = _UNDERLINE.sub(r"\1\\\2", line)
        text.append(line)
    paragraphs = re.split(r"(\n[ \t]*\n)", "\n".join(text))  # code spans end with a paragraph
    return "".join(_inline_text(p) if i % 2 == 0 else p for i, p in enumerate(paragraphs)).split("\n")


def _inline_text(text: str) -> str:
    """``<`` and entities outside code spans backslash-escaped."""
    parts, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        parts += [_RAW.sub(r"\\\g<0>", text[pos : m.start()]), m.group(0)]
        pos = m.end()
    parts.append(_RAW.sub(r"\\\g<0>", text[pos:]))
    return "".join(parts)


def write_whole(target: Path, text: str | bytes, private: bool = True) -> None:
    """Write ``text`` (str as UTF-8, or bytes) to ``target`` whole or not at all: through a
    temporary file of its own in the same folder, renamed over ``target`` (an interrupted or failed
    write leaves an existing file as it was, and the temporary file goes). An existing file keeps
    its mode; a new one is 0600 when ``private`` (an export of private chats), else what the umask
    makes of 0666 (the system applies it, as for any new file). A read-only file is refused, not
    replaced; a symlink is written through (the file it points to gets the text, the link stays).
    One writer for ``history export --out``, the window's export and the panels' exports."""
    import contextlib
    import os
    import secrets
    import stat

    target = Path(target)
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        mode = None
    else:
        if not os.access(real, os.W_OK):  # the person protected it: replacing it would be a surprise
            raise PermissionError(f"{target} is read-only; make it writable or choose another name")
    folder = real.parent
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    for attempt in range(100):
        tmp = folder / f".{real.name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(tmp, flags, 0o600 if private else 0o666)  # the umask applies to a new file
            break
        except FileExistsError:
            if attempt == 99:
                raise
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(f"the folder {folder} does not exist") from None
        except PermissionError:
            raise PermissionError(f"the folder {folder} cannot be written to (Permission denied)") from None
    try:
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
