"""Text normalisation applied before tokenising, training and showing text to a model.

``normalize`` is safe to run on anything a user pastes: it never raises on odd input and is
idempotent (``normalize(normalize(t)) == normalize(t)``). In order it

1. turns every line ending (``\\r\\n``, ``\\r``, U+2028/U+2029, NEL, vertical tab, form feed)
   into ``\\n``;
2. drops control characters (Unicode category Cc) except ``\\n`` and ``\\t``, and the invisible
   format characters that only get in the way (soft hyphen, zero-width space, word joiner, BOM).
   Zero-width (non-)joiners are kept: emoji sequences and several scripts need them;
3. applies Unicode NFKC (full-width letters become ASCII, ``…`` becomes ``...``, ligatures and
   non-breaking spaces are unfolded);
4. maps typographic quotes to ``'`` and ``"``, and hyphen/dash/minus variants to ``-``, a
   double-width dash (em dash, horizontal bar) to ``--``. Guillemets and primes are left alone:
   their ASCII look-alikes would change meaning in some languages and in measurements;
5. collapses runs of spaces to one space, removes spaces and tabs at the end of lines (newlines
   themselves are kept, as they are), and strips the text.

Step 2 runs before NFKC so that removing a character can never leave a sequence that a second
NFKC pass would compose differently.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "clean_for_model"]

# Line separators of every kind -> "\n". "\r\n" is listed first so it becomes one newline.
_LINE_ENDINGS = re.compile("\r\n|[\r\u2028\u2029\x85\x0b\x0c]")

# Cc except \t and \n, plus format characters that carry no text (soft hyphen, zero-width space,
# word joiner, BOM / zero-width no-break space). U+200C/U+200D (ZWNJ/ZWJ) are deliberately kept.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]")

# Typographic punctuation -> ASCII. Applied after NFKC (which already turns "…" into "...").
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark / apostrophe
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2010": "-",  # hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2212": "-",  # minus sign
        "\ufe63": "-",  # small hyphen-minus (NFKC already maps it; kept for clarity)
        "\u2014": "--",  # em dash
        "\u2015": "--",  # horizontal bar
    }
)

_SPACE_RUNS = re.compile(" {2,}")
_TRAILING_BLANKS = re.compile("[ \t]+(?=\n)")


def has_visible(text: str) -> bool:
    """True when ``text`` has a character that shows: not only spaces, line breaks, control and
    format characters (a zero-width space alone is not a message)."""
    return any(not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf", "Zs") for c in text)


def normalize(text: str) -> str:
    """Return ``text`` normalised as described in the module docstring."""
    text = _LINE_ENDINGS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_PUNCTUATION)
    text = _SPACE_RUNS.sub(" ", text)
    text = _TRAILING_BLANKS.sub("", text)
    return text.strip()


def clean_for_model(text: str, max_chars: int) -> str:
    """Normalise ``text`` and keep at most its last ``max_chars`` characters.

    Chat context is truncated from the FRONT: the most recent turns are the ones a model must
    see, so the end of the text is kept. When a cut is needed it is moved forward to the next
    whitespace so the kept text does not open with half a word, unless that would throw away
    more than half of the budget (one enormous "word", e.g. a URL); then the hard cut stays.
    Combining marks left dangling at the start of the cut are dropped, and the result is
    stripped, so it can be shorter than ``max_chars`` but never longer.

    Raises ``ValueError`` when ``max_chars`` is smaller than 1.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    text = normalize(text)
    if len(text) <= max_chars:
        return text
    tail = text[-max_chars:]
    if not text[-max_chars - 1].isspace():  # the cut falls inside a word
        for i, ch in enumerate(tail):
            if ch.isspace():
                if i <= max_chars // 2:
                    tail = tail[i:]
                break
    start = 0
    while start < len(tail) and unicodedata.combining(tail[start]):
        start += 1
    return tail[start:].strip()


WORD_CHUNK = 1 << 16  # count words of a long text in pieces, so no single call holds the GIL long
# scripts written without spaces between words: each character counts as a word (kana, CJK ideographs)
_CJK_RANGES = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CJK_RANGES += "\U00020000-\U0003134f"
_CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"  # 。、「」！ …: no words
_CJK = re.compile(f"[{_CJK_RANGES}{_CJK_PUNCT}]")
_CJK_OR_WORD = re.compile(f"[{_CJK_RANGES}]|[^\\s{_CJK_RANGES}{_CJK_PUNCT}]+")


def count_words(text: str) -> int:
    """Words in ``text``: runs between spaces, and each Chinese or Japanese character on its own (those
    scripts put no spaces between words: "3 of 1 words" was said otherwise); their punctuation is
    no word. Counted in pieces: a 10 MB split would stall the window's thread."""
    total = 0
    for i in range(0, len(text), WORD_CHUNK):
        piece = text[i : i + WORD_CHUNK]
        total += len(_CJK_OR_WORD.findall(piece)) if _CJK.search(piece) else len(piece.split())
        if i and _joined(text[i - 1], text[i]):
            total -= 1  # a word cut in two by the piece boundary
    return total


def _joined(a: str, b: str) -> bool:
    """Whether the characters ``a`` and ``b`` side by side belong to one word."""
    return not (a.isspace() or b.isspace() or _CJK.match(a) or _CJK.match(b))
