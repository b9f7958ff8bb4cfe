"""Keywords by TextRank over a word co-occurrence graph, merged into key phrases."""

from pathlib import Path

from engine.summarize.document import parse_document
from engine.summarize.keywords import extract_keywords
from engine.summarize.words import KEYWORD_STOPWORDS, STOPWORDS, light_stem

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def test_keywords_of_a_sample_article():
    doc = parse_document((SAMPLES / "article_ferry.txt").read_text(encoding="utf-8"))
    kws = extract_keywords([doc.title, *doc.sentences], 8)
    assert len(kws) == 8 and len(set(kws)) == 8
    joined = " ".join(kws).lower()
    assert "ferry" in joined and "transport board" in joined
    for phrase in kws:
        words = phrase.lower().split()
        assert 1 <= len(words) <= 3
        assert not any(w in STOPWORDS for w in words)


def test_adjacent_keywords_merge_into_a_phrase_and_inflections_share_a_node():
    sents = [
        "Solar panels cut energy bills.",
        "The solar panels on the roof produce energy.",
        "Energy bills fell after the solar panel arrived.",
    ]
    kws = extract_keywords(sents, 3)
    assert kws[0] == "solar panels"  # the most frequent spelling of the phrase
    assert "energy bills" in kws or "energy" in kws
    assert light_stem("panels") == light_stem("panel")


def test_no_candidates_gives_no_keywords():
    assert extract_keywords([], 5) == []
    assert extract_keywords(["It is what it is.", "And so on, and so on."], 5) == []
    assert extract_keywords(["Anything at all here."], 0) == []


def test_non_english_words_are_candidates():
    kws = extract_keywords(["Der Hafen von Carrow ist geschlossen.", "Die Fähre fährt wieder zum Hafen."], 3)
    assert "Hafen" in " ".join(kws)


def test_stopword_lists():
    assert {"the", "and", "said"} <= STOPWORDS
    assert STOPWORDS < KEYWORD_STOPWORDS and "year" in KEYWORD_STOPWORDS and "year" not in STOPWORDS


def test_a_phrase_never_runs_across_punctuation():
    """Words on either side of a comma, full stop or dash were merged as if adjacent: the text
    "inflation, unemployment" gave the key phrase "inflation unemployment"."""
    sents = [
        "Markets watched inflation, unemployment and wages.",
        "Analysts said inflation, unemployment data mattered.",
        "The report on inflation; unemployment came later.",
    ]
    phrases = [p.lower() for p in extract_keywords(sents, k=10)]
    assert phrases and not any("inflation unemployment" in p for p in phrases), phrases
    assert "inflation" in " ".join(phrases) and "unemployment" in " ".join(phrases)
