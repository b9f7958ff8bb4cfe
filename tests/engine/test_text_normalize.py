"""normalize / clean_for_model: what they change, what they keep, idempotence, truncation."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.text.normalize import clean_for_model, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "\u201cHi,\u201d she said \u2014 it\u2019s \u2018fine\u2019\u2026",
            "\"Hi,\" she said -- it's 'fine'...",
        ),
        ("pages 3\u20135, \u22122 \u00b0C, re\u2010use", "pages 3-5, -2 \u00b0C, re-use"),
        ("\uff21\uff22\uff23 \ufb01le \u2460", "ABC file 1"),  # NFKC: full-width, ligature, circled digit
        ("a\u00a0\u00a0b\u2003c", "a b c"),  # non-breaking and em spaces fold, runs collapse
        ("tab\tstays  and   spaces   collapse", "tab\tstays and spaces collapse"),
        ("  line one   \r\nline two\rline three\u2028four  ", "line one\nline two\nline three\nfour"),
        ("keep\n\n\nblank lines", "keep\n\n\nblank lines"),
        ("no\x00nul\x07bell\x1b[0mesc\x7f", "nonulbell[0mesc"),
        ("soft\u00adhyphen zero\u200bwidth \ufeffbom", "softhyphen zerowidth bom"),
        (
            "family \U0001f468\u200d\U0001f469\u200d\U0001f467 stays",
            "family \U0001f468\u200d\U0001f469\u200d\U0001f467 stays",
        ),
        ("\u00abguillemets\u00bb and 5\u2032 stay", "\u00abguillemets\u00bb and 5\u2032 stay"),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_removal_happens_before_composition():
    # e + NUL + combining acute: NUL goes first, so NFKC composes and a second pass changes nothing.
    assert normalize("caf" + "e\x00\u0301") == "caf\u00e9"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent_and_clean(text):
    out = normalize(text)
    assert normalize(out) == out
    assert out == out.strip()
    assert "  " not in out
    assert "\r" not in out
    assert all(ch in "\n\t" or unicodedata.category(ch) != "Cc" for ch in out)
    assert " \n" not in out and "\t\n" not in out


def test_clean_for_model_short_text_is_only_normalised():
    assert clean_for_model("  Hello\u2026  world ", 100) == "Hello... world"


def test_clean_for_model_keeps_the_end_and_starts_on_a_word():
    text = "first turn is old. " * 20 + "latest question?"
    out = clean_for_model(text, 40)
    assert len(out) <= 40
    assert out.endswith("latest question?")
    assert text.endswith(out)
    assert out.split()[0] in {"first", "turn", "is", "old.", "latest"}  # a whole word, not a fragment


def test_clean_for_model_hard_cuts_one_enormous_word():
    out = clean_for_model("see " + "x" * 500, 50)
    assert out == "x" * 50


def test_clean_for_model_drops_dangling_combining_marks():
    text = "word " + "q\u0301" * 30  # q + combining acute has no precomposed form, so NFKC keeps it
    out = clean_for_model(text, 9)
    assert not unicodedata.combining(out[0])
    assert len(out) <= 9


def test_clean_for_model_rejects_non_positive_budget():
    with pytest.raises(ValueError, match="max_chars"):
        clean_for_model("hi", 0)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=60))
def test_clean_for_model_is_a_bounded_suffix(text, max_chars):
    out = clean_for_model(text, max_chars)
    full = normalize(text)
    assert len(out) <= max_chars
    assert full.endswith(out)
    if len(full) <= max_chars:
        assert out == full
