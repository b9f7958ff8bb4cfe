"""Baselines for the extractive evaluation, all choosing from the SAME sentence list Parlance gets.

- ``lead``: the first k sentences (Lead-3 is the classic news baseline).
- sumy's TextRank, LexRank, LSA, Luhn and SumBasic, given the sentences as a ready-made sumy
  document, an offline regex word tokenizer (sumy's default one needs NLTK data that cannot be
  downloaded here), sumy's Snowball stemmer and its English stopword list, as sumy's own CLI does.

sumy is an optional dependency (the ``[bench]`` extra); it is imported when a sumy baseline is
first built.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Each baseline: (sentences, k) -> indices of the chosen sentences, ascending.
Baseline = Callable[[list[str], int], list[int]]

SUMY_ALGORITHMS = {
    "sumy-textrank": "sumy.summarizers.text_rank.TextRankSummarizer",
    "sumy-lexrank": "sumy.summarizers.lex_rank.LexRankSummarizer",
    "sumy-lsa": "sumy.summarizers.lsa.LsaSummarizer",
    "sumy-luhn": "sumy.summarizers.luhn.LuhnSummarizer",
    "sumy-sumbasic": "sumy.summarizers.sum_basic.SumBasicSummarizer",
}


def lead(sentences: list[str], k: int) -> list[int]:
    """The first ``k`` sentences."""
    return list(range(min(k, len(sentences))))


class RegexTokenizer:
    """A sumy-compatible tokenizer that needs no downloaded data."""

    language = "english"
    _WORD = re.compile(r"\w+(?:[-'\u2019]\w+)*")
    _SENTENCE = re.compile(r"(?<=[.!?])\s+")

    def to_sentences(self, paragraph: str) -> list[str]:
        return [s for s in self._SENTENCE.split(paragraph) if s.strip()]

    def to_words(self, sentence: str) -> list[str]:
        return self._WORD.findall(sentence)


def sumy_baseline(name: str) -> Baseline:
    """A sumy algorithm by name (a key of SUMY_ALGORITHMS), ready to call as ``f(sentences, k)``."""
    if name not in SUMY_ALGORITHMS:
        raise ValueError(f"unknown sumy baseline {name!r}; known: {', '.join(SUMY_ALGORITHMS)}")
    try:
        import importlib

        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
        from sumy.nlp.stemmers import Stemmer
        from sumy.utils import get_stop_words
    except ImportError as exc:
        raise ValueError(
            f"sumy is not installed ({exc}); install the benchmark extras: pip install -e '.[bench]'"
        ) from None

    module_name, cls_name = SUMY_ALGORITHMS[name].rsplit(".", 1)
    summarizer = getattr(importlib.import_module(module_name), cls_name)(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    tokenizer = RegexTokenizer()

    def run(sentences: list[str], k: int) -> list[int]:
        if not sentences:
            return []
        objs = [Sentence(s, tokenizer) for s in sentences]
        document = ObjectDocumentModel([Paragraph(objs)])
        picked = {id(s) for s in summarizer(document, min(k, len(objs)))}
        return [i for i, s in enumerate(objs) if id(s) in picked]

    return run


def all_baselines() -> dict[str, Baseline]:
    """Lead-k and every sumy algorithm, by name."""
    return {"lead-k": lead, **{name: sumy_baseline(name) for name in SUMY_ALGORITHMS}}
