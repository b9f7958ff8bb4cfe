"""Sentence splitting: the hard cases on both backends, span invariants (hypothesis), speed."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.text import sentences
from engine.text.sentences import AUTO_PYSBD_MAX_BLOCK, AUTO_PYSBD_MAX_CHARS, sentence_spans, split_sentences

BACKENDS = ["pysbd", "regex"]

CASES = [
    (
        "Mr. Smith went to Washington. He met Dr. Jones at 3.14 p.m. today.",
        ["Mr. Smith went to Washington.", "He met Dr. Jones at 3.14 p.m. today."],
    ),
    (
        "The U.S. economy grew $2.5m in Q3. E.g. this is fine, i.e. ok.",
        ["The U.S. economy grew $2.5m in Q3.", "E.g. this is fine, i.e. ok."],
    ),
    ('"He left." She said.', ['"He left."', "She said."]),
    ('He said "Stop!" and left.', ['He said "Stop!" and left.']),
    (
        "Wait... what happened? I don't know... Maybe.",
        ["Wait... what happened?", "I don't know...", "Maybe."],
    ),
    ("Wait\u2026 what? Ok\u2026 Fine.", ["Wait\u2026 what?", "Ok\u2026", "Fine."]),
    ("J. K. Rowling wrote it. She is rich.", ["J. K. Rowling wrote it.", "She is rich."]),
    ("See fig. 3 for details. It is nice.", ["See fig. 3 for details.", "It is nice."]),
    ("Smith et al. found that. They were right.", ["Smith et al. found that.", "They were right."]),
    ("hi there. how are you? i am fine. thanks!", ["hi there.", "how are you?", "i am fine.", "thanks!"]),
    ("Version 2.0 is out. Get it now!", ["Version 2.0 is out.", "Get it now!"]),
    ("What?! No way!", ["What?!", "No way!"]),
    ("... Hello there. Yes.", ["... Hello there.", "Yes."]),
    (
        "\u8fd9\u662f\u7b2c\u4e00\u53e5\u3002\u8fd9\u662f\u7b2c\u4e8c\u53e5\uff01",
        ["\u8fd9\u662f\u7b2c\u4e00\u53e5\u3002", "\u8fd9\u662f\u7b2c\u4e8c\u53e5\uff01"],
    ),
    ("no punctuation at all just words", ["no punctuation at all just words"]),
    (
        "First line no punct\nsecond line\n\nthird paragraph",
        ["First line no punct", "second line", "third paragraph"],
    ),
    ("One. Two\n\n\n  Three?  ", ["One.", "Two", "Three?"]),
]


def check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    """In order, in bounds, non-overlapping, stripped, whitespace-only gaps, input restored."""
    pos = 0
    pieces = []
    for s, e in spans:
        assert pos <= s < e <= len(text)
        gap = text[pos:s]
        assert gap.strip() == ""
        assert text[s:e] == text[s:e].strip() != ""
        pieces += [gap, text[s:e]]
        pos = e
    assert text[pos:].strip() == ""
    pieces.append(text[pos:])
    assert "".join(pieces) == text


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:24] for c in CASES])
def test_hard_cases(backend, text, expected):
    assert split_sentences(text, backend=backend) == expected
    check_spans(text, sentence_spans(text, backend=backend))


@pytest.mark.parametrize("backend", ["auto", *BACKENDS])
@pytest.mark.parametrize("text", ["", " ", "\n\t \n", "\u3000\u2028 "])
def test_empty_or_whitespace_gives_nothing(backend, text):
    assert split_sentences(text, backend=backend) == []
    assert sentence_spans(text, backend=backend) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_spans_index_the_original_text(backend):
    text = "  Hello there.\r\nSecond line here!  Third one?\n"
    spans = sentence_spans(text, backend=backend)
    assert [text[s:e] for s, e in spans] == ["Hello there.", "Second line here!", "Third one?"]
    check_spans(text, spans)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrapped_lines_join_when_newlines_are_not_boundaries(backend):
    text = "This sentence is\nwrapped over two lines. Another\none.\n\nNew paragraph"
    assert split_sentences(text, backend=backend, newline_is_boundary=False) == [
        "This sentence is\nwrapped over two lines.",
        "Another\none.",
        "New paragraph",
    ]
    assert split_sentences(text, backend=backend) == [
        "This sentence is",
        "wrapped over two lines.",
        "Another",
        "one.",
        "New paragraph",
    ]


def test_unknown_backend_lists_known_ones():
    with pytest.raises(ValueError, match="auto, pysbd, regex"):
        split_sentences("Hi.", backend="spacy")


def test_auto_uses_pysbd_for_short_text_and_regex_for_long(monkeypatch):
    used = []
    for name, fn in list(sentences.BACKENDS.items()):
        monkeypatch.setitem(sentences.BACKENDS, name, lambda b, fn=fn, name=name: used.append(name) or fn(b))
    split_sentences("Short. Text.")
    assert set(used) == {"pysbd"}
    used.clear()
    split_sentences("Word. " * (AUTO_PYSBD_MAX_CHARS // 6 + 1))
    assert set(used) == {"regex"}
    used.clear()
    split_sentences("Short paragraph.\n\n" + "Word. " * (AUTO_PYSBD_MAX_BLOCK // 6 + 1))
    assert used == ["pysbd", "regex"]


def test_pysbd_failure_falls_back_without_losing_text(monkeypatch):
    import pysbd

    def broken(self, text):
        raise IndexError("pysbd bug")

    monkeypatch.setattr(pysbd.Segmenter, "segment", broken)
    text = "It works. Even so!"
    assert split_sentences(text, backend="pysbd") == ["It works.", "Even so!"]


def test_pysbd_rewritten_segments_keep_all_text(monkeypatch):
    import pysbd

    monkeypatch.setattr(pysbd.Segmenter, "segment", lambda self, text: ["Rewritten first.", text[10:]])
    text = "Original one. Second sentence here."
    spans = sentence_spans(text, backend="pysbd")
    check_spans(text, spans)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")


def _words_text(n_words: int, paragraph_every: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    vocab = ["the", "quick", "brown", "fox", "Mr.", "Smith", "said", "U.S.", "3.14", "e.g.", "value"]
    vocab += ['"quoted"', "(paren)", "it's", "$2.5m", "Dr.", "etc."]
    out = []
    for _ in range(n_words):
        word = rng.choice(vocab)
        if rng.random() < 0.07:
            word += rng.choice([".", ".", "?", "!", "...", '."'])
        if paragraph_every and rng.random() < 1 / paragraph_every:
            word += "\n\n"
        out.append(word)
    return " ".join(out)


@pytest.mark.parametrize("paragraph_every", [0, 100], ids=["one-paragraph", "paragraphs"])
def test_fifty_thousand_words_split_fast(paragraph_every):
    text = _words_text(50_000, paragraph_every)
    start = time.perf_counter()
    spans = sentence_spans(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"50,000 words took {elapsed:.2f} s"
    assert len(spans) > 1000
    check_spans(text, spans)


# -- properties ---------------------------------------------------------------------------------

_TRICKY = st.sampled_from(
    list(
        "abcXYZ .!?\u2026\"'\u201c\u201d()\n\r\t0123456789,-\u00e9\u4e2d\u3002\U0001f600\u2028\x00\x1c\u00a0"
    )
)
_TOKENS = st.sampled_from(
    [
        "Mr.",
        "Dr.",
        "U.S.",
        "e.g.",
        "3.14",
        "...",
        "Hello.",
        "world",
        '"Hi."',
        "\n\n",
        " ",
        "?",
        "!",
        "etc.",
        "J.",
    ]
)
TEXTS = st.one_of(st.text(), st.text(_TRICKY), st.lists(_TOKENS).map(" ".join))


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, backend=st.sampled_from(BACKENDS), newline_is_boundary=st.booleans())
def test_spans_lose_and_reorder_nothing(text, backend, newline_is_boundary):
    spans = sentence_spans(text, backend=backend, newline_is_boundary=newline_is_boundary)
    check_spans(text, spans)
    assert split_sentences(text, backend=backend, newline_is_boundary=newline_is_boundary) == [
        text[s:e] for s, e in spans
    ]


@settings(max_examples=100, deadline=None)
@given(text=TEXTS, backend=st.sampled_from(BACKENDS))
def test_newlines_are_hard_boundaries(text, backend):
    for s, e in sentence_spans(text, backend=backend):
        assert not any(ch in text[s:e] for ch in "\n\r\u2028")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The U.S. Senate voted on Friday. It passed.", ["The U.S. Senate voted on Friday.", "It passed."]),
        ("Apple Inc. Chief Executive Tim Cook spoke.", ["Apple Inc. Chief Executive Tim Cook spoke."]),
        ("The meeting is at 10 a.m. Tuesday in room 4.", ["The meeting is at 10 a.m. Tuesday in room 4."]),
        ("He moved to the U.S. The next day he left.", ["He moved to the U.S.", "The next day he left."]),
        ("She works for Acme Inc. The firm is big.", ["She works for Acme Inc.", "The firm is big."]),
        ("It was 5 p.m. We left.", ["It was 5 p.m.", "We left."]),
    ],
)
def test_abbreviations_before_names_do_not_end_the_sentence(text, expected):
    """ "U.S.", "Inc.", "a.m." before a capitalised name are inside the sentence; before a word that
    opens sentences ("The", "We") they end it (summaries began "Senate on Friday…": bug hunt)."""
    assert split_sentences(text, backend="regex") == expected
