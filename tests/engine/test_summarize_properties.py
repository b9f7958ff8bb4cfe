"""Property tests: TextRank never crashes on random text and its result is always well-formed."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.summarize.textrank import TextRankConfig, summarize

WORDS = [
    "ferry",
    "island",
    "Council",
    "the",
    "and",
    "of",
    "repairs",
    "cost",
    "£2m",
    "Fähre",
    "渡轮",
    "U.S.",
    "e.g.",
]
PUNCT = [".", "!", "?", ",", ";", ":", "...", '"', "'", "(", ")", "-", "\n", "\n\n", " ", "  ", "\t"]

structured = st.lists(st.sampled_from(WORDS + PUNCT), max_size=120).map(lambda parts: " ".join(parts))
anything = st.text(max_size=400)
budgets = st.one_of(
    st.builds(dict, sentences=st.integers(1, 8)),
    st.builds(dict, ratio=st.floats(0.01, 1.0)),
    st.builds(dict, words=st.integers(1, 60)),
)
configs = st.builds(
    TextRankConfig,
    lead_weight=st.sampled_from([0.0, 0.4, 1.0]),
    mmr_lambda=st.sampled_from([1.0, 0.9, 0.3]),
    max_similarity=st.sampled_from([1.0, 0.8]),
    detect_title=st.booleans(),
    dense_limit=st.sampled_from([600, 2]),
    centroid_limit=st.sampled_from([20000, 3]),
)


def check(text, budget, config):
    s = summarize(text, config, keywords=3, **budget)
    n = len(s.source_sentences)
    assert len(s.scores) == n and len(s.spans) == n
    assert s.indices == sorted(set(s.indices)) and all(0 <= i < n for i in s.indices)
    assert s.sentences == [s.source_sentences[i] for i in s.indices]
    assert (len(s.indices) >= 1) == (n >= 1)
    assert all(math.isfinite(x) and x >= 0 for x in s.scores)
    if n:
        assert math.isclose(sum(s.scores), 1.0, rel_tol=1e-6)
    previous_end = 0
    for (a, b), sentence in zip(s.spans, s.source_sentences):
        assert previous_end <= a < b <= len(text)
        assert " ".join(text[a:b].split()) == sentence
        previous_end = b
    if "words" in budget and len(s.indices) > 1:
        assert sum(len(x.split()) for x in s.sentences) <= budget["words"]
    if "sentences" in budget:
        assert len(s.indices) == min(budget["sentences"], n)
    lowered = text.lower()
    for phrase in s.keywords:
        assert all(word.lower() in lowered for word in phrase.split())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=structured, budget=budgets, config=configs)
def test_structured_random_text(text, budget, config):
    check(text, budget, config)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=anything, budget=budgets)
def test_arbitrary_unicode_text(text, budget):
    check(text, budget, TextRankConfig())
