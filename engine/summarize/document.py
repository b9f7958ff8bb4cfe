"""A text as the extractive summarizer sees it: an optional title line and a list of sentences with
their character spans in the text.

Sentences come from the project's splitter (``engine.text.sentences.sentence_spans``); this module
only adds what a summarizer needs on top of it:

- the first line is taken as a title when it looks like one (short, no sentence-final full stop
  or exclamation mark, and followed by a blank line, or short and followed by a capitalised line);
  the title is not a sentence of the document;
- line breaks: when most lines end without sentence punctuation and are long (hard-wrapped prose,
  an e-mail, a Project Gutenberg book) a single line break is read as a space and only blank lines
  separate paragraphs; otherwise (one paragraph or sentence per line, as pasted web text and news
  files are) every line break ends a sentence;
- a segment is also cut at line breaks before list bullets, and at every line break when it is
  long and either not hard-wrapped or without any punctuation (a list or poem);
- a run of more than ``LONG_RUN_WORDS`` words with no sentence punctuation is cut into pieces of
  about ``CHUNK_WORDS`` words, so that text without punctuation (a transcript) still gets a
  shorter summary, however much punctuation the rest of the text has;
- segments without a letter or digit are dropped;
- boilerplate lines are dropped before anything else (see ``boilerplate_lines``): bylines ("By
  Maria Lopez, Associated Press"), timestamps ("Updated 6:42 PM EDT, March 3, 2024"), copyright
  and rights lines, and calls to action ("Sign up for our newsletter", "Read more: ..."). Only a
  whole short line made of nothing else is dropped, never a sentence inside a paragraph; BBC
  articles, which the summarizers are tuned and trained on, have none;
- a sentence ending in a US state abbreviation ("PORTLAND, Ore.") is joined to the next when that
  starts with "(", a dash or a lowercase word: the splitter cut "PORTLAND, Ore. (AP) - The council
  voted ..." after "Ore."; and a wire story's dateline ("PORTLAND, Ore. (AP) -", "LONDON (Reuters)
  -") is left out of the sentence it opens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.text.sentences import sentence_spans

# The project splitter's backend used here. "regex" rather than "auto" (pysbd up to 20,000
# characters): on 700 BBC training articles 99.0% of the reference summaries' sentences are
# sentences of the regex split against 93.2% with pysbd (which keeps multi-sentence quotations in
# one piece), ROUGE is higher for every method, and splitting is ~25x faster.
SPLITTER_BACKEND = "regex"
TITLE_MAX_WORDS = 25  # a first line longer than this is never a title
CHUNK_WORDS = 40  # piece length for runs without sentence punctuation
LONG_RUN_WORDS = 120  # a run of more words than this without sentence punctuation is cut in pieces
LONG_SEGMENT_WORDS = 80  # a segment longer than this is also cut at single line breaks
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_BULLET_LINE = re.compile(r"\n(?=[ \t]*(?:[-*\u2022\u25cf]|\d+[.)])\s)")
_ANY_PUNCT = re.compile(r"[.,;:!?\u3001\u3002\uff0c\uff01\uff1f]")
_SENTENCE_PUNCT = re.compile(r"[.!?;:\u3002\uff01\uff1f]")
BOILERPLATE_MAX_WORDS = 40  # a longer line is never boilerplate


@dataclass
class Document:
    """The title and sentences of ``text``; spans are (start, end) offsets into ``text``."""

    text: str  # the text as given
    title: str  # the detected title line, whitespace collapsed; "" when none
    title_span: tuple[int, int] | None  # where the title is in text
    sentences: list[str]  # sentences, whitespace collapsed, in order
    spans: list[tuple[int, int]]  # one (start, end) per sentence
    # the boilerplate lines dropped (bylines, timestamps, copyright, calls to action), as spans
    dropped: list[tuple[int, int]] = field(default_factory=list)


def find_title(text: str) -> tuple[int, int] | None:
    """The span of the first line when it looks like a headline, else None."""
    start = len(text) - len(text.lstrip())
    nl = text.find("\n", start)
    if nl < 0:
        return None
    line = text[start:nl].strip()
    rest = text[nl + 1 :]
    words = line.split()
    if not words or len(words) > TITLE_MAX_WORDS or not rest.strip():
        return None
    if line.rstrip("\"'\u201d\u2019)]*_ ").endswith((".", "!", ",", ";", ":")):
        return None
    blank_after = rest.lstrip(" \t").startswith("\n")
    next_line = rest.strip().split("\n", 1)[0]
    capital_after = bool(next_line) and (next_line[0].isupper() or next_line[0] in "\"'\u201c")
    if not blank_after and not (len(words) <= 12 and capital_after and line[0].isupper()):
        return None
    end = start + len(text[start:nl].rstrip())
    return start, end


def parse_document(text: str, detect_title: bool = True, backend: str = SPLITTER_BACKEND) -> Document:
    """Split ``text`` into an optional title and sentences (see the module docstring); ``backend``
    is passed to ``engine.text.sentences.sentence_spans``. Boilerplate lines are neither the title
    nor sentences; ``Document.dropped`` lists them."""
    dropped = boilerplate_lines(text)
    parts, last = [], 0
    for s, e in dropped:  # blanked out, same length, so every span is still an offset into text
        parts += [text[last:s], " " * (e - s)]
        last = e
    clean = "".join(parts) + text[last:]
    title_span = find_title(clean) if detect_title else None
    body_start = title_span[1] if title_span else 0
    title = " ".join(text[title_span[0] : title_span[1]].lstrip("#").split()) if title_span else ""
    spans: list[tuple[int, int]] = []
    body = clean[body_start:]
    wrapped = is_hard_wrapped(body)
    raw = sentence_spans(body, backend=backend, newline_is_boundary=not wrapped) if body.strip() else []
    for s, e in _join_state_abbreviations(body, raw, wrapped):
        spans.extend(_refine(clean, body_start + s, body_start + e, wrapped))
    spans = [_after_dateline(clean, s, e) for s, e in spans]
    sentences = [" ".join(text[s:e].split()) for s, e in spans]
    return Document(
        text=text, title=title, title_span=title_span, sentences=sentences, spans=spans, dropped=dropped
    )


# AP style's state abbreviations: "PORTLAND, Ore. (AP) -", "in Salem, Ore. on Tuesday".
_STATES = str.split(
    "Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo Mont Neb Nev "
    "N.H N.J N.M N.Y N.C N.D Okla Ore Pa R.I S.C S.D Tenn Tex Vt Va Wash W.Va Wis Wyo"
)
_STATE_END = re.compile(
    r"(?<![\w.])(?:" + "|".join(re.escape(s) for s in sorted(_STATES, key=len, reverse=True)) + r")\.\Z"
)
_STATE_GOES_ON = re.compile(r"[(\u2014\u2013-]|[a-z]")  # how the rest of the sentence can start


def _join_state_abbreviations(
    text: str, spans: list[tuple[int, int]], wrapped: bool
) -> list[tuple[int, int]]:
    """``spans`` with a sentence ending in a state abbreviation joined to the next one when that
    opens with "(", a dash or a lowercase letter on the same line (any line of a paragraph when
    ``wrapped``): "PORTLAND, Ore." + "(AP) - The council ..." is one sentence, and the dateline
    stays with it."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out:
            ps, pe = out[-1]
            gap = text[pe:s]
            if (
                not gap.strip()
                and gap.count("\n") <= (1 if wrapped else 0)
                and _STATE_END.search(text[max(ps, pe - 8) : pe])
                and _STATE_GOES_ON.match(text, s)
            ):
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


# A wire story's dateline: "PORTLAND, Ore. (AP) \u2014 ", "LONDON (Reuters) - ", "ATLANTA, Ga. -- "; a
# city in capitals, then a state or country, an agency in brackets or both, then a dash.
_DATELINE = re.compile(
    r"[A-Z][A-Z.'\u2019-]+(?: [A-Z][A-Z.'\u2019-]+){0,3}"
    r"(?:(?:, [A-Z][\w.'\u2019-]*(?: [A-Z][\w.'\u2019-]*){0,2})(?: \([A-Z][\w .&/-]{0,30}\))?"
    r"| \([A-Z][\w .&/-]{0,30}\))"
    r" ?(?:\u2014|\u2013|--?) +(?=\S)"
)


def _after_dateline(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without a leading wire-story dateline, when the sentence opens a line: the
    summary sentence and the abstractive model's source start with the news, not "PORTLAND, Ore.
    (AP) \u2014"."""
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip():
        return start, end
    m = _DATELINE.match(text, start, end)
    if m and any(c.isalnum() for c in text[m.end() : end]):
        return m.end(), end
    return start, end


# Boilerplate: each piece of a line (its sentences, or the parts between " | ") must be one of
# these for the line to be dropped.
_DATE_WORDS = frozenset(
    str.split(
        "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
        "august september october november december mon tue tues wed thu thur thurs fri sat sun monday "
        "tuesday wednesday thursday friday saturday sunday am pm a.m p.m on at ago hour hours minute "
        "minutes min mins day days week weeks gmt utc bst cet cest est edt cst cdt mst mdt pst pdt et pt "
        "ct"
    )
)
_NAME_WORDS = frozenset(
    str.split(
        "and of the for in at de del van von der den da di la le du dos y staff writer writers reporter "
        "correspondent editor contributor"
    )
)
_NUMBERISH = re.compile(r"\d{1,4}(?::\d\d)?(?:st|nd|rd|th|am|pm)?|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_NAME = re.compile(r"[A-Z\u00c0-\u00de][\w'\u2019.\-]*")
_TOKEN = re.compile(r"[^\s,|\u2022\u00b7/;]+")
_BYLINE = re.compile(r"(?:By|BY)\s+(\S.*)")
_TIMESTAMP = re.compile(
    r"(?:Last\s+updated|First\s+published|Updated|Published|Posted|Modified)\b(?:\s+on)?\s*:?\s+(\S.*)",
    re.IGNORECASE,
)
_FIXED_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?:\u00a9|\(c\)\s*\d{4}|copyright\s*(?:\u00a9|\(c\))?\s*\d{4}|copyright\s*(?:\u00a9|\(c\))).{0,100}",
        r"all rights reserved\.?",
        r"this (?:material|article|story|content) may not be (?:re)?published\b.{0,120}",
        # "Sign up for our newsletter", "Subscribe now for $1 a week"; not "Sign up for the scheme
        # closes on Friday."
        r"(?:sign up|subscribe)(?:\W*|\b.{0,140}\b(?:newsletters?|inbox|e-?mails?|alerts?|our|us|now|"
        r"today|here|free|trial|a (?:week|month|year)|per (?:week|month|year))\b.{0,140})",
        r"(?:read more|continue reading|read also|see also)\b\s*(?:[:\u00bb>\u2192\u2013\u2014-].{0,200})?",
        r"follow us\b.{0,120}",
        r"follow (?:\S+ ){0,3}on (?:twitter|x|facebook|instagram|linkedin|tiktok|youtube|threads|bluesky)"
        r"\b.{0,80}",
        r"(?:privacy policy|cookie policy|terms of (?:use|service)|contact us|advertisement)\.?",
    )
]
_PIECE_BREAK = re.compile(r"(?<=[.!?])\s+(?=\S)|\s+[|\u2022\u00b7]\s+")
_CALL_MAX_WORDS = 20  # a call to action or a copyright notice is shorter than this


def _is_date_token(token: str) -> bool:
    t = token.strip(".:()").lower()
    return t in _DATE_WORDS or bool(_NUMBERISH.fullmatch(t)) or (token.isupper() and 2 <= len(token) <= 4)


def _is_boilerplate_piece(piece: str) -> bool:
    m = _TIMESTAMP.fullmatch(piece)
    if m:
        return _is_date(m.group(1))
    m = _BYLINE.fullmatch(piece)
    if m:  # "By Maria Lopez, Associated Press", "By Jenny Park | March 3, 2024"; not "By Tuesday, the ..."
        tokens = _TOKEN.findall(m.group(1))
        return (
            0 < len(tokens) <= 16
            and bool(_NAME.fullmatch(tokens[0]))
            and tokens[0].strip(".").lower() not in _DATE_WORDS
            and all(_NAME.fullmatch(t) or t.lower() in _NAME_WORDS or _is_date_token(t) for t in tokens)
        )
    if len(piece.split()) > _CALL_MAX_WORDS:
        return False
    return any(p.fullmatch(piece) for p in _FIXED_BOILERPLATE)


def is_boilerplate_line(line: str) -> bool:
    """True for a line that is only a byline, a timestamp, a copyright or rights notice or a call
    to action (each piece of it, when it has several sentences or parts between " | ")."""
    line = line.strip().lstrip("#").strip()
    if not line or len(line.split()) > BOILERPLATE_MAX_WORDS:
        return False
    pieces = _PIECE_BREAK.split(line)
    dates = [_is_date(p) for p in pieces]  # "By Jenny Park | March 3, 2024": a date goes with a byline
    return not all(dates) and all(d or _is_boilerplate_piece(p) for p, d in zip(pieces, dates))


def _is_date(piece: str) -> bool:
    tokens = _TOKEN.findall(piece)
    return bool(tokens) and all(_is_date_token(t) for t in tokens) and any(c.isdigit() for c in piece)


def boilerplate_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each boilerplate line of ``text`` (``is_boilerplate_line``), line break
    excluded. In hard-wrapped text a line that continues an unfinished sentence (the line before
    it is long and ends without sentence punctuation) is never boilerplate."""
    out: list[tuple[int, int]] = []
    wrapped: bool | None = None  # computed only when needed
    prev, prev_dropped, pos = "", False, 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        if is_boilerplate_line(line):
            continues = (
                prev.strip()
                and not prev_dropped
                and len(prev.split()) >= 8
                and not prev.rstrip("\"'\u201d\u2019)]* ").endswith((".", "!", "?", ":"))
            )
            if continues and wrapped is None:
                wrapped = is_hard_wrapped(text)
            if not (continues and wrapped):
                out.append((start, start + len(line)))
                prev, prev_dropped = line, True
                continue
        prev, prev_dropped = line, False
    return out


def is_hard_wrapped(text: str) -> bool:
    """True when the text looks hard-wrapped: most lines that continue a paragraph end without
    sentence punctuation, and lines are typically 40 characters or longer."""
    lines = text.split("\n")
    inner = [a.strip() for a, b in zip(lines, lines[1:]) if a.strip() and b.strip()]
    if len(inner) < 2:
        return False
    open_ended = sum(1 for ln in inner if not ln.rstrip("\"'\u201d\u2019)").endswith((".", "!", "?", ":")))
    lengths = sorted(len(ln) for ln in inner)
    return open_ended >= 0.5 * len(inner) and lengths[len(lengths) // 2] >= 40


def _cut(text: str, start: int, end: int, pattern: re.Pattern) -> list[tuple[int, int]]:
    pieces, pos = [], start
    for m in pattern.finditer(text, start, end):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, end))
    return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if not any(c.isalnum() for c in text[start:end]):
        return None
    return start, end


def _refine(text: str, start: int, end: int, wrapped: bool = False) -> list[tuple[int, int]]:
    out = []
    for s0, e0 in _cut(text, start, end, _BLANK_LINE):
        for s1, e1 in _cut(text, s0, e0, _BULLET_LINE):
            lines = [(s1, e1)]
            # (in hard-wrapped prose a line break is a space, also inside a long sentence; a long
            # stretch with no punctuation at all is a list or a poem whatever its line lengths)
            long = len(text[s1:e1].split()) > LONG_SEGMENT_WORDS
            if long and (not wrapped or not _ANY_PUNCT.search(text, s1, e1)):
                lines = _cut(text, s1, e1, re.compile(r"\n"))
            for s2, e2 in lines:
                span = _trim(text, s2, e2)
                if span is not None:
                    out.extend(_chunk(text, *span))
    return out


def _chunk(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut every run of more than LONG_RUN_WORDS words without sentence punctuation into pieces of
    about CHUNK_WORDS words; the punctuated parts around such runs stay as they are (a single ':' in
    a 50,000-word transcript used to keep all of it as one sentence)."""
    words = list(re.finditer(r"\S+", text[start:end]))
    if len(words) <= LONG_RUN_WORDS:
        return [(start, end)]
    runs: list[list[re.Match]] = [[]]  # words, each run ending at a word with sentence punctuation
    for w in words:
        runs[-1].append(w)
        if _SENTENCE_PUNCT.search(w.group()):
            runs.append([])
    pieces: list[list[re.Match]] = []
    kept: list[re.Match] = []  # consecutive ordinary runs stay one piece
    for run in runs:
        if len(run) <= LONG_RUN_WORDS:
            kept.extend(run)
            continue
        if kept:
            pieces.append(kept)
            kept = []
        size = -(-len(run) // round(len(run) / CHUNK_WORDS))
        pieces.extend(run[i : i + size] for i in range(0, len(run), size))
    if kept:
        pieces.append(kept)
    return [(start + p[0].start(), start + p[-1].end()) for p in pieces]
