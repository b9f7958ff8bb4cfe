"""Full-text search of the history (used by :class:`engine.history.HistoryStore`): one FTS5 index
per searchable table; the user's words are quoted, so no query raises. Each kind of hit is ranked
by its own index (bm25) and the kinds take turns, as ranks of different indexes do not compare.
Words in scripts written without spaces (Chinese, Japanese, Thai …) and emoji are searched as
substrings instead, newest first."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable

MAX_QUERY_TERMS = 64
TITLE_CHARS = 60


def make_title(text: str) -> str:
    """One line, about TITLE_CHARS long, cut at a word boundary with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space >= TITLE_CHARS // 2 else cut).rstrip() + "…"


SEARCH_KINDS = ("message", "summary", "caption", "forecast")


def _check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return SEARCH_KINDS
    chosen = tuple(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in SEARCH_KINDS]
    if unknown or not chosen:
        raise ValueError(f"unknown kind {unknown[0] if unknown else ''!r}; known: {', '.join(SEARCH_KINDS)}")
    return chosen


# Match markers of search snippets: private-use characters, so brackets in the text stay text.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"


def fts_query(text: str) -> str | None:
    """Free text -> a safe FTS5 query: every word a quoted phrase (AND), the last one a prefix.

    Quotes inside words are doubled, NULs dropped, chunks without a letter or digit skipped, so
    operators, brackets, ``*`` and stray quotes are searched for as text and never raise.
    """
    terms = ['"' + chunk.replace('"', '""') + '"' for chunk in _query_chunks(text)]
    if not terms:
        return None
    terms[-1] += "*"
    return " ".join(terms)


def _query_chunks(text: str) -> list[str]:
    """The words of a query that fts_query searches for (the last is searched as a prefix)."""
    chunks: dict[tuple, str] = {}  # once each, as the index sees words (case and accents folded):
    for chunk in text.replace("\x00", " ").split():  # a word repeated 64 times took seconds
        if any(ch.isalnum() for ch in chunk):
            chunks.setdefault(_index_words(chunk), chunk)
    return list(chunks.values())[:MAX_QUERY_TERMS]


def _index_words(chunk: str) -> tuple[str, ...]:
    """The words the index (unicode61, diacritics removed) makes of ``chunk``, roughly."""
    folded = unicodedata.normalize("NFKD", chunk.casefold())
    return tuple(re.findall(r"\w+", "".join(ch for ch in folded if not unicodedata.combining(ch))))


SNIPPET_TOKENS = 12  # words in an FTS snippet


def _nul(column: str) -> str:
    """SQL: the column's text where it holds a NUL (its snippet is made here), else NULL."""
    return f"CASE WHEN instr({column}, char(0)) THEN {column} END"


_MARKS = f"char({ord(_MARK_OPEN)}), char({ord(_MARK_CLOSE)})"
_KIND_SQL = {  # one ranked (bm25) query per kind: ranks of different indexes do not compare
    "message": f"""
        SELECT 'message' AS kind, m.id, m.conversation_id, c.title AS title,
            snippet(messages_fts, -1, {_MARKS}, '…', {SNIPPET_TOKENS}) AS snippet, m.created_at,
            {_nul("m.text")} AS t1, NULL AS t2, NULL AS t3
        FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
            JOIN conversations c ON c.id = m.conversation_id
        WHERE messages_fts MATCH :q ORDER BY messages_fts.rank, m.created_at DESC LIMIT :limit""",
    "summary": f"""
        SELECT 'summary' AS kind, s.id, NULL AS conversation_id,
            CASE WHEN s.origin != '' THEN s.origin || ': ' || s.source ELSE s.source END AS title,
            snippet(summaries_fts, -1, {_MARKS}, '…', {SNIPPET_TOKENS}) AS snippet, s.created_at,
            {_nul("s.summary")} AS t1, {_nul("s.source")} AS t2, {_nul("s.origin")} AS t3
        FROM summaries_fts JOIN summaries s ON s.id = summaries_fts.rowid
        WHERE summaries_fts MATCH :q ORDER BY summaries_fts.rank, s.created_at DESC LIMIT :limit""",
    "caption": f"""
        SELECT 'caption' AS kind, p.id, NULL AS conversation_id, p.file_name AS title,
            snippet(captions_fts, -1, {_MARKS}, '…', {SNIPPET_TOKENS}) AS snippet, p.created_at,
            {_nul("p.caption")} AS t1, {_nul("p.file_name")} AS t2, {_nul("p.scenes")} AS t3
        FROM captions_fts JOIN captions p ON p.id = captions_fts.rowid
        WHERE captions_fts MATCH :q ORDER BY captions_fts.rank, p.created_at DESC LIMIT :limit""",
    "forecast": f"""
        SELECT 'forecast' AS kind, f.id, NULL AS conversation_id, f.name AS title,
            snippet(forecasts_fts, -1, {_MARKS}, '…', {SNIPPET_TOKENS}) AS snippet, f.created_at,
            {_nul("f.name")} AS t1, {_nul("f.method")} AS t2, NULL AS t3
        FROM forecasts_fts JOIN forecasts f ON f.id = forecasts_fts.rowid
        WHERE forecasts_fts MATCH :q ORDER BY forecasts_fts.rank, f.created_at DESC LIMIT :limit""",
}

_SUBSTRING_SQL = """
    SELECT * FROM (
        SELECT 'message' AS kind, m.id, m.conversation_id, c.title AS title, m.text AS body,
            m.created_at FROM messages m JOIN conversations c ON c.id = m.conversation_id
        UNION ALL
        SELECT 'summary', s.id, NULL, s.source,
            s.summary || ' ' || COALESCE(s.source, '') || ' ' || s.origin, s.created_at
        FROM summaries s
        UNION ALL
        SELECT 'caption', p.id, NULL, p.file_name,
            p.caption || ' ' || COALESCE(p.file_name, '') || ' ' || p.scenes, p.created_at FROM captions p
        UNION ALL
        SELECT 'forecast', f.id, NULL, f.name, f.name || ' ' || COALESCE(f.method, ''), f.created_at
        FROM forecasts f
    ) WHERE {where}
    ORDER BY created_at DESC
    LIMIT :limit
"""

Rows = Callable[[str, dict], list[dict]]  # runs a query on the store: HistoryStore._rows


def search(rows_of: Rows, query: str, limit: int = 50, kinds: Iterable[str] | None = None) -> list[dict]:
    """Best-ranked hits (bm25) among messages, summaries, captions and forecasts (``kinds``, a
    subset of SEARCH_KINDS; default all), taken in turn from each kind's ranked list: one
    index's ranks do not compare with another's, and short captions crowded out summaries.

    Free text: each word must occur, the last may be a prefix (search as you type); matches
    in ``snippet`` are wrapped in [ ]. Empty or punctuation-only queries return []. Words in
    scripts written without spaces (Chinese, Japanese, Thai …) and emoji are searched as
    substrings instead, newest first: the word index sees a whole run of kanji as one word.
    """
    kinds = _check_kinds(kinds)
    if needs_substring_search(query):
        return _substring_search(rows_of, query, limit, kinds)
    match = fts_query(query)
    if match is None:
        return []
    ranked = [rows_of(_KIND_SQL[k], {"q": match, "limit": limit}) for k in kinds]
    rows = [r for tier in itertools.zip_longest(*ranked) for r in tier if r is not None][:limit]
    words = [w for chunk in _query_chunks(query) for w in _index_words(chunk)]
    out = []
    for r in rows:
        marked = r["snippet"]
        texts = [t for t in (r["t1"], r["t2"], r["t3"]) if t]  # (only texts holding a NUL)
        if texts:  # FTS5 writes snippets with printf "%.*s", which stops at a NUL: "nul\0y bell" gave
            marked = _nul_safe_snippet(texts, words) or marked  # "nul[bell]"
        text, matches = _unmark(" ".join(marked.split()))  # one line for lists
        out.append(
            {
                "kind": r["kind"],
                "id": r["id"],
                "conversation_id": r["conversation_id"],
                "title": make_title(r["title"] or ""),
                **_snippet_fields(text, matches),
                "created_at": r["created_at"],
            }
        )
    return out


def _substring_search(rows_of: Rows, query: str, limit: int, kinds: tuple[str, ...]) -> list[dict]:
    terms = list(dict.fromkeys(t for t in query.replace("\x00", " ").split() if t))[:MAX_QUERY_TERMS]
    escape = {"\\": "\\\\", "%": "\\%", "_": "\\_"}
    params: dict = {"limit": limit, **{f"k{i}": k for i, k in enumerate(kinds)}}
    where = [f"kind IN ({', '.join(f':k{i}' for i in range(len(kinds)))})"]
    for i, term in enumerate(terms):
        params[f"t{i}"] = "%" + "".join(escape.get(ch, ch) for ch in term) + "%"
        where.append(f"body LIKE :t{i} ESCAPE '\\'")
    rows = rows_of(_SUBSTRING_SQL.format(where=" AND ".join(where)), params)
    return [
        {
            "kind": r["kind"],
            "id": r["id"],
            "conversation_id": r["conversation_id"],
            "title": make_title(r["title"] or ""),
            **_substring_snippet(" ".join((r["body"] or "").split()), terms),
            "created_at": r["created_at"],
        }
        for r in rows
    ]


_NO_SPACE_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def needs_substring_search(query: str) -> bool:
    """Whether ``query`` needs the substring search: it holds a script written without spaces
    between words, or it is only symbols such as emoji (which the word index leaves out; around a
    word, "®fox®", they are punctuation and the word is searched)."""
    if any(any(lo <= ord(ch) <= hi for lo, hi in _NO_SPACE_SCRIPTS) for ch in query):
        return True
    return not any(ch.isalnum() for ch in query) and any(unicodedata.category(ch) == "So" for ch in query)


SNIPPET_CHARS = 80  # around the first match, for the search list


def _substring_snippet(body: str, terms: list[str]) -> dict:
    """A snippet of ``body`` around the first term found, with every term's matches in it (found in
    the text itself, case-insensitively, and merged where they overlap)."""
    patterns = [re.compile(re.escape(t), re.IGNORECASE) for t in terms]
    found = [m.start() for m in (p.search(body) for p in patterns) if m]
    first = min(found, default=0)
    start = max(0, first - SNIPPET_CHARS // 3)
    end = min(len(body), start + SNIPPET_CHARS)
    text = ("…" if start else "") + body[start:end] + ("…" if end < len(body) else "")
    spans = [list(m.span()) for p in patterns for m in p.finditer(text)]
    return _snippet_fields(text, spans)  # sorted and merged there (_whole_graphemes)


def _unmark(line: str) -> tuple[str, list[list[int]]]:
    """A marked snippet -> (its text, [start, end) of each marked match)."""
    text, matches, start = [], [], None
    n = 0
    for ch in line:
        if ch == _MARK_OPEN:
            start = n
        elif ch == _MARK_CLOSE:
            if start is not None:
                matches.append([start, n])
            start = None
        else:
            text.append(ch)
            n += 1
    return "".join(text), matches


def _snippet_fields(text: str, matches: list[list[int]]) -> dict:
    """``snippet`` (matches in [ ]), ``snippet_text`` (the snippet as written: brackets in it are
    text) and ``matches`` ([start, end) in snippet_text), each match grown to the end of its last
    character (the index drops combining marks: the vowel sign of "नमस्ते" fell outside) and words
    too long for a line shortened around the match (FTS5 gave a 5,000-character URL whole)."""
    text, matches = _shorten_long_words(text, _whole_graphemes(text, matches))
    marked = text
    for a, b in reversed(matches):
        marked = marked[:a] + "[" + marked[a:b] + "]" + marked[b:]
    return {"snippet": marked, "snippet_text": text, "matches": matches}


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def _whole_graphemes(text: str, matches: list[list[int]]) -> list[list[int]]:
    """``matches`` each extended over the combining marks after it, overlaps merged."""
    grown: list[list[int]] = []
    for a, b in sorted(matches):
        while b < len(text) and _is_mark(text[b]):
            b += 1
        if grown and a <= grown[-1][1]:
            grown[-1][1] = max(grown[-1][1], b)
        else:
            grown.append([a, b])
    return grown


LONG_WORD = 60  # a snippet word longer than this (a URL, a base64 blob) is cut to LONG_WORD_KEPT
LONG_WORD_KEPT = 40  # characters around its first match, the cuts shown as "…"
LONG_WORD_LEAD = 12  # characters kept before that match where the word goes on before it


def _shorten_long_words(text: str, matches: list[list[int]]) -> tuple[str, list[list[int]]]:
    """Each word of ``text`` longer than LONG_WORD cut to about LONG_WORD_KEPT characters (starting a
    little before its first match, which stays visible), and ``matches`` moved to the new text;
    parts of a match that were cut away are dropped, so every match is still [start, end)."""
    kept: list[tuple[int, int, int]] = []  # (start, end) of text kept, and where it starts now
    pieces: list[str] = []
    n = 0

    def keep(a: int, b: int) -> None:
        nonlocal n
        kept.append((a, b, n))
        pieces.append(text[a:b])
        n += b - a

    def ellipsis() -> None:
        nonlocal n
        pieces.append("…")
        n += 1

    pos = 0
    for word in re.finditer(rf"\S{{{LONG_WORD + 1},}}", text):
        a, b = word.span()
        keep(pos, a)
        first = next((max(s, a) for s, e in matches if e > a and s < b), a)
        start = a if first - a <= LONG_WORD_LEAD else first - LONG_WORD_LEAD
        end = min(b, start + LONG_WORD_KEPT)
        while start > a and _is_mark(text[start]):  # whole characters (a letter and its marks)
            start -= 1
        while end < b and _is_mark(text[end]):
            end += 1
        if start > a:
            ellipsis()
        keep(start, end)
        if end < b:
            ellipsis()
        pos = b
    if not kept:
        return text, matches
    keep(pos, len(text))
    moved: list[list[int]] = []
    for s, e in matches:
        for a, b, at in kept:
            lo, hi = max(s, a), min(e, b)
            if lo >= hi:
                continue
            if moved and moved[-1][1] == lo - a + at:  # the same match, on in the next kept part
                moved[-1][1] = hi - a + at
            else:
                moved.append([lo - a + at, hi - a + at])
    return "".join(pieces), moved


def _nul_safe_snippet(texts: list[str], words: list[str]) -> str | None:
    """A marked snippet (as FTS5's snippet() makes, SNIPPET_TOKENS words around the first match)
    built here from the first of ``texts`` holding one of ``words`` (the query's words as the index
    sees them; the last may be a prefix); None if none does."""
    if not words:
        return None
    for text in texts:
        tokens = _tokens(text)
        hits = [i for i, (a, b) in enumerate(tokens) if _token_matches(text[a:b], words)]
        if not hits:
            continue
        first = max(0, min(hits[0] - 2, len(tokens) - SNIPPET_TOKENS))
        last = min(len(tokens), first + SNIPPET_TOKENS)
        start = tokens[first][0] if first else 0
        end = tokens[last - 1][1] if last < len(tokens) else len(text)
        parts, pos = ["…" if first else ""], start
        for i in hits:
            if first <= i < last:
                a, b = tokens[i]
                parts += [text[pos:a], _MARK_OPEN, text[a:b], _MARK_CLOSE]
                pos = b
        parts += [text[pos:end], "…" if last < len(tokens) else ""]
        return "".join(parts)
    return None


def _tokens(text: str) -> list[tuple[int, int]]:
    """[start, end) of each word of ``text``: a run of letters, digits and their marks, about as
    the index's tokenizer (unicode61) splits it."""
    spans, start = [], None
    for i, ch in enumerate(text):
        if ch.isalnum() or (start is not None and _is_mark(ch)):
            start = i if start is None else start
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _token_matches(token: str, words: list[str]) -> bool:
    folded = "".join(_index_words(token))
    return folded in words or folded.startswith(words[-1])
