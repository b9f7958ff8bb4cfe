"""Offline sentence splitting, with character spans into the original text.

Two backends, chosen by ``backend=``:

``"pysbd"``
    The rule-based `pysbd <https://github.com/nipunsadvilkar/pySBD>`_ segmenter (English rules,
    ``clean=False`` so it never rewrites the text). Best quality: abbreviations, initials,
    decimals, quotes, lists. Its cost grows faster than linearly with the length of a paragraph.
``"regex"``
    A small splitter in this module: a terminator run (``.``, ``!``, ``?``, ``…``, CJK ``。！？``)
    with optional closing quotes/brackets, followed by whitespace, ends a sentence unless the word
    before it is a known abbreviation (titles, ``e.g.``, ``etc.``, months, ``U.S.``-style
    acronyms, initials). It agrees with pysbd on the common cases tested in
    ``tests/engine/test_text_sentences.py`` and is linear-time.
``"auto"`` (default)
    pysbd for each line/paragraph when the whole text has at most ``AUTO_PYSBD_MAX_CHARS``
    (20,000) characters, about 3,500 English words, and the block itself at most
    ``AUTO_PYSBD_MAX_BLOCK`` (5,000); the regex splitter otherwise.

pysbd never splits after the one-character ellipsis ``…`` (``"Ok… Fine."``), so that backend adds
a cut there when the next word is capitalised.

Why the threshold: seconds for one ``sentence_spans`` call on the 2-core x86_64 development
machine (shared with other jobs, so figures vary about 2x between runs), median of 3 runs, on
synthetic English like ``_words_text`` in ``tests/engine/test_text_sentences.py`` (abbreviations,
decimals, quotes, ellipses; about 7 % of words end a sentence; the 62 s figure is one run of bare
``pysbd.Segmenter.segment`` on a close variant of it). Measured with a
``time.perf_counter`` loop around ``sentence_spans(text, backend=...)``:

=========================================  ==========  =========  ==========
input                                      pysbd       regex      auto
=========================================  ==========  =========  ==========
50,000 words (280k chars), one paragraph   62 (once)   0.13-0.20  = regex
50,000 words, ~100-word paragraphs         1.7-4.6     0.08-0.22  = regex
5,000 words (28k chars), one paragraph     0.66-1.7    0.01       = regex
3,500 words (19k chars), one paragraph     0.37-0.98   0.01       = regex
19k chars in four 4,900-char paragraphs                           0.42
20k chars, ~100-word paragraphs                        0.01       0.21
300 words                                                         0.02
=========================================  ==========  =========  ==========

pysbd's cost grows quadratically with the length of a paragraph and is about 6-15 us per character
even in short paragraphs, so it cannot split 50,000 words "well under 2 s" in any arrangement;
the regex splitter does it ten times faster than that bound. ``test_fifty_thousand_words_split_fast``
asserts the 2 s bound for the default backend. pysbd's cost also grows with the number of
sentences: the worst input found for ``auto`` is 20,000 characters of ``"x. x. x. …"`` in four
4,999-character paragraphs, about 2.5 s (0.64 s per paragraph); ordinary prose stays near 0.2 s.

Whatever the backend, newlines are hard boundaries by default (``newline_is_boundary=True``);
with ``False`` only paragraph breaks (a blank line) are, and single newlines inside a paragraph
are read as spaces (hard-wrapped text). A segment that holds no letter or digit (a stray ``.``,
a lone ``"``) is merged into the sentence before it. Spans are built from cut points, so they are
always in order, non-overlapping, stripped of whitespace, and everything outside them is
whitespace: no character is ever lost or reordered.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["AUTO_PYSBD_MAX_BLOCK", "AUTO_PYSBD_MAX_CHARS", "BACKENDS", "sentence_spans", "split_sentences"]

# Under backend="auto", texts longer than this (in characters) use the regex backend throughout,
AUTO_PYSBD_MAX_CHARS = 20_000
# and so does any single block (a line, or a paragraph) longer than this: pysbd is quadratic in it.
AUTO_PYSBD_MAX_BLOCK = 5_000

# Every character that ends a line (the set str.splitlines uses).
_NEWLINE_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_NEWLINE = re.compile(f"[{_NEWLINE_CHARS}]")
_NEWLINE_TO_SPACE = str.maketrans({ch: " " for ch in _NEWLINE_CHARS})

_CLOSERS = "\"'\u201d\u2019\u00bb)\\]}"
_OPENERS = "\"'\u201c\u2018\u00ab([{"
# A whole terminator run plus closers, followed by whitespace; CJK full stops need no space after
# them. The look-behind makes a match start only where a run starts, which keeps a long run of
# dots without a space after it linear instead of quadratic (Python 3.10 has no possessive "++").
_TERMINATOR = re.compile(
    f"(?<![.!?\u2026\u203c\u2047\u2048\u2049])[.!?\u2026\u203c\u2047\u2048\u2049]+[{_CLOSERS}]*(?=\\s)"
    f"|[\u3002\uff01\uff1f\uff61]+[{_CLOSERS}]*"
)
_UNICODE_ELLIPSIS = re.compile(f"\u2026[{_CLOSERS}]*(?=\\s)")
_TOKEN_BEFORE = re.compile(r"\S{1,40}\Z")
_WORD_CHAR = re.compile(r"[^\W_]")  # a letter or a digit, any script

# Never end a sentence after these (they introduce what follows).
_JOIN_ALWAYS = frozenset(
    str.split(
        "mr mrs ms mx dr prof rev fr hon gen col capt cpt lt sgt maj adm gov sen rep pres supt insp st "
        "mt messrs mme mlle vs v e.g i.e cf viz"
    )
)
# End a sentence after these only when the next word is capitalised.
_JOIN_UNLESS_CAPITAL = frozenset(
    str.split(
        "etc al inc ltd co corp bros llc plc jr sr esq approx ca est no nos fig figs vol vols ch chap "
        "sec sect pp p para art dept univ assn ed eds op cit ibid misc jan feb mar apr jun jul aug sep "
        "sept oct nov dec mon tue tues wed thu thur thurs fri sat sun min max avg km cm mm kg mg lb lbs "
        "oz ft hr hrs yr yrs"
    )
)


# Abbreviations usually followed by a name ("U.S. Senate", "Apple Inc. Chief Executive", "10 a.m.
# Tuesday"): after them a capital letter ends the sentence only when it opens a word that
# typically starts one ("… in the U.S. The next day …").
_BEFORE_NAMES = frozenset(["inc", "ltd", "co", "corp", "bros", "llc", "plc", "jr", "sr"])
_INITIALS = re.compile(r"(?:[a-z]\.)+[a-z]")  # u.s, u.k, a.m, p.m, e.g, u.s.a
_SENTENCE_OPENERS = frozenset(
    str.split(
        "the a an he she it they we i you this that these those there here his her its their our my "
        "your but and or so yet if when while after before as since although though because in on at "
        "for from with by to of what who why how where which one some many most all both each no not "
        "none nor then now however meanwhile also still instead indeed thus later earlier last next "
        "on mr mrs ms dr officials police analysts critics experts"
    )
)


def _next_word(block: str, pos: int) -> str:
    """The word after ``pos`` (letters only), skipping whitespace and opening marks."""
    n = len(block)
    while pos < n and (block[pos].isspace() or block[pos] in _OPENERS):
        pos += 1
    end = pos
    while end < n and block[end].isalpha():
        end += 1
    return block[pos:end]


def _next_word_char(block: str, pos: int) -> str:
    """The first character after ``pos`` that is neither whitespace nor an opening mark."""
    n = len(block)
    while pos < n and (block[pos].isspace() or block[pos] in _OPENERS):
        pos += 1
    return block[pos] if pos < n else ""


def _regex_cuts(block: str) -> list[int]:
    """Offsets in ``block`` where a new sentence starts (0 excluded), by the rules above."""
    cuts: list[int] = []
    last = 0
    for m in _TERMINATOR.finditer(block):
        end = m.end()
        if end >= len(block):
            continue
        run = m.group(0).rstrip(_CLOSERS)
        has_closer = len(run) < len(m.group(0))
        nxt = _next_word_char(block, end)
        if not nxt:
            continue
        if run[-1] in "\u3002\uff01\uff1f\uff61" or any(c in run for c in "!?\u203c\u2047\u2048\u2049"):
            cut = not (has_closer and nxt.islower())
        elif len(run) > 1 or "\u2026" in run:  # an ellipsis
            cut = not nxt.islower()
        else:
            cut = _cut_after_period(block, m.start(), last, nxt)
        if cut:
            cuts.append(end)
            last = end
    return cuts


def _cut_after_period(block: str, dot: int, sentence_start: int, nxt: str) -> bool:
    """Whether the single '.' at ``dot`` ends a sentence, given the next word's first char."""
    found = _TOKEN_BEFORE.search(block, max(sentence_start, dot - 40), dot)
    raw = found.group(0) if found else ""
    token = raw.lstrip(_OPENERS).lower()
    if not token:
        return True
    if token in _JOIN_ALWAYS:
        return False
    if token in _BEFORE_NAMES or _INITIALS.fullmatch(token):
        return nxt.isupper() and _next_word(block, dot + 1).lower() in _SENTENCE_OPENERS
    if token in _JOIN_UNLESS_CAPITAL or "." in token:  # "etc.", "v2.0."
        return nxt.isupper()
    if len(raw) == 1 and raw.isupper():  # an initial: "J. K. Rowling"
        return False
    # A list marker "1." opening the sentence is part of it.
    return not (token.isdigit() and len(token) <= 2 and not block[sentence_start : dot - len(raw)].strip())


def _pysbd_cuts(block: str) -> list[int]:
    """Offsets where pysbd starts a new sentence, found by locating its segments in ``block``."""
    import pysbd

    try:
        segments = pysbd.Segmenter(language="en", clean=False).segment(block)
    except Exception:  # pysbd is rule-based regex code; never let one of its bugs lose the text
        return _regex_cuts(block)
    cuts: list[int] = []
    cursor = 0
    for segment in segments:
        piece = segment.strip()
        if not piece:
            continue
        pos = block.find(piece, cursor)
        if pos < 0:  # pysbd changed the text of this segment: drop the boundary, keep the text
            continue
        if pos > 0:
            cuts.append(pos)
        cursor = pos + len(piece)
    # pysbd never splits after the one-character ellipsis '…'; "Ok… Fine." is two sentences.
    for m in _UNICODE_ELLIPSIS.finditer(block):
        if _next_word_char(block, m.end()).isupper():
            cuts.append(m.end())
    return cuts


# Backend name -> function returning the cut offsets of one block of text (no hard breaks inside).
BACKENDS: dict[str, Callable[[str], list[int]]] = {"pysbd": _pysbd_cuts, "regex": _regex_cuts}


def _blocks(text: str, newline_is_boundary: bool) -> list[tuple[int, int]]:
    """(start, end) of the stretches of ``text`` that hard boundaries separate."""
    lines: list[tuple[int, int]] = []
    start = 0
    for m in _NEWLINE.finditer(text):
        lines.append((start, m.start()))
        start = m.end()
    lines.append((start, len(text)))
    if newline_is_boundary:
        return [(s, e) for s, e in lines if text[s:e].strip()]
    blocks: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for s, e in lines:
        if not text[s:e].strip():  # a blank line closes the paragraph
            if current:
                blocks.append(current)
            current = None
        else:
            current = (current[0], e) if current else (s, e)
    if current:
        blocks.append(current)
    return blocks


def _spans_from_cuts(block: str, offset: int, cuts: list[int]) -> list[tuple[int, int]]:
    """Stripped spans between ordered cut points; word-less segments join the previous one."""
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < len(block)), len(block)]
    spans: list[tuple[int, int]] = []
    last_has_word = False  # whether spans[-1] holds a letter or digit
    for a, b in zip(bounds, bounds[1:]):
        segment = block[a:b]
        stripped = segment.strip()
        if not stripped:
            continue
        s = a + (len(segment) - len(segment.lstrip()))
        e = a + len(segment.rstrip())
        has_word = _WORD_CHAR.search(stripped) is not None
        if spans and not (has_word and last_has_word):
            spans[-1] = (spans[-1][0], e)
            last_has_word = last_has_word or has_word
        else:
            spans.append((s, e))
            last_has_word = has_word
    return [(s + offset, e + offset) for s, e in spans]


def sentence_spans(
    text: str, *, backend: str = "auto", newline_is_boundary: bool = True
) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence in ``text``, in order and non-overlapping.

    ``text[s:e]`` is a sentence with no surrounding whitespace, and every character outside the
    spans is whitespace. Empty or whitespace-only text gives ``[]``. ``backend`` is ``"auto"``,
    ``"pysbd"`` or ``"regex"`` (see the module docstring); an unknown name raises ``ValueError``.
    """
    if backend != "auto" and backend not in BACKENDS:
        known = ", ".join(["auto", *sorted(BACKENDS)])
        raise ValueError(f"unknown sentence splitter backend {backend!r}; known: {known}")
    short_text = len(text) <= AUTO_PYSBD_MAX_CHARS
    spans: list[tuple[int, int]] = []
    for start, end in _blocks(text, newline_is_boundary):
        block = text[start:end]
        if not newline_is_boundary:
            block = block.translate(_NEWLINE_TO_SPACE)  # same length, so offsets still hold
        name = backend
        if name == "auto":
            name = "pysbd" if short_text and len(block) <= AUTO_PYSBD_MAX_BLOCK else "regex"
        spans.extend(_spans_from_cuts(block, start, BACKENDS[name](block)))
    return spans


def split_sentences(text: str, *, backend: str = "auto", newline_is_boundary: bool = True) -> list[str]:
    """The sentences of ``text``, stripped, in order; ``[]`` for empty or whitespace-only text."""
    return [
        text[s:e] for s, e in sentence_spans(text, backend=backend, newline_is_boundary=newline_is_boundary)
    ]
