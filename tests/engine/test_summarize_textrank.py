"""TextRank summaries: result shape, order, length controls, the news additions, long texts, no torch."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.summarize.similarity import cosine_graph, tfidf_matrix
from engine.summarize.summary import Budget
from engine.summarize.textrank import (
    VARIANTS,
    TextRankConfig,
    summarize,
    summarize_sentences,
    variant,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "resources" / "samples").glob("article_*.txt"))
PLAIN = VARIANTS["plain"]

# One sentence shares words with every other one; the others share little with each other.
HUB = [
    "Cats sleep all day in the warm sun.",
    "Rivers flood the valley every spring.",
    "Cats, rivers and trains are the three topics of the town museum.",
    "Trains leave the station at dawn.",
    "The old museum opened in June.",
]
# A ring of sentences sharing one word with each neighbour, and one sentence a little more central.
RING = [
    "Alpha beta gamma.",
    "Gamma delta epsilon.",
    "Epsilon zeta eta.",
    "Eta theta iota.",
    "Iota kappa alpha.",
    "Beta delta zeta theta kappa.",
]


def read(path):
    return path.read_text(encoding="utf-8")


def test_samples_exist():
    assert len(SAMPLES) >= 2


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_result_is_consistent_with_the_source(path):
    text = read(path)
    s = summarize(text, sentences=3, keywords=5)
    n = len(s.source_sentences)
    assert n > 10 and s.method == "textrank"
    assert s.title == text.splitlines()[0].strip()
    assert s.title not in s.source_sentences  # the headline is never a candidate
    assert len(s.scores) == n and len(s.spans) == n
    assert sum(s.scores) == pytest.approx(1.0)
    assert s.indices == sorted(set(s.indices)) and len(s.indices) == 3
    assert s.sentences == [s.source_sentences[i] for i in s.indices]
    for sentence, (a, b) in zip(s.source_sentences, s.spans):
        assert " ".join(text[a:b].split()) == sentence
    starts = [a for a, _ in s.spans]
    assert starts == sorted(starts) and all(b <= a2 for (_, b), (a2, _) in zip(s.spans, s.spans[1:]))
    assert len(s.keywords) == 5 and all(k.strip() for k in s.keywords)
    assert s.to_dict()["indices"] == s.indices


def test_output_sentences_come_in_source_order_not_score_order():
    text = " ".join(HUB[1:] + HUB[:1])
    s = summarize(text, PLAIN, sentences=3)
    by_score = sorted(range(len(s.scores)), key=lambda i: -s.scores[i])[:3]
    assert s.indices == sorted(by_score)
    assert [text.index(x) for x in s.sentences] == sorted(text.index(x) for x in s.sentences)


def test_plain_textrank_ranks_the_hub_sentence_first():
    s = summarize_sentences(HUB, Budget(sentences=1), PLAIN)
    assert s.indices == [2]
    assert int(np.argmax(s.scores)) == 2


def test_length_controls():
    sents = read(SAMPLES[0]).split("\n\n", 1)[1]
    n = len(summarize(sents, sentences=1).source_sentences)
    assert len(summarize(sents, sentences=4).indices) == 4
    assert len(summarize(sents, sentences=10_000).indices) == n
    assert len(summarize(sents, ratio=0.5).indices) == max(1, int(n * 0.5 + 0.5))
    assert len(summarize(sents, ratio=1.0).indices) == n
    s = summarize(sents, words=60)
    assert len(s.sentences) >= 1 and sum(len(x.split()) for x in s.sentences) <= 60
    tiny = summarize(sents, PLAIN, words=1)  # no sentence fits: the best one alone
    assert tiny.indices == [int(np.argmax(tiny.scores))]
    assert len(summarize(sents).indices) == 3  # the default


def test_budget_rejects_bad_limits():
    with pytest.raises(ValueError, match="exactly one"):
        Budget(sentences=2, words=10)
    with pytest.raises(ValueError, match="exactly one"):
        Budget()
    for kwargs in ({"sentences": 0}, {"ratio": 0.0}, {"ratio": 1.5}, {"words": 0}):
        with pytest.raises(ValueError):
            Budget(**kwargs)


def test_word_budget_skips_a_long_top_sentence_for_shorter_ones():
    long = "Cats rivers trains museum " * 10 + "and everything else."
    sents = [long.strip(), *HUB]
    budget = Budget(words=20)
    chosen = budget.take([0, 3, 1, 2], [len(s.split()) for s in sents])
    assert 0 not in chosen and sum(len(sents[i].split()) for i in chosen) <= 20


def test_lead_bias_moves_weight_to_the_first_sentences():
    plain = summarize_sentences(RING, Budget(sentences=1), PLAIN)
    assert plain.indices == [5]
    lead = summarize_sentences(RING, Budget(sentences=1), TextRankConfig(lead_weight=1.0, mmr_lambda=1.0))
    assert lead.indices == [0]
    assert lead.scores[0] > plain.scores[0] and lead.scores[3] < plain.scores[3]


def test_title_awareness_favours_sentences_like_the_title():
    cfg = TextRankConfig(lead_weight=0.0, mmr_lambda=1.0, title_weight=0.9)
    ring = RING[:5]  # a symmetric ring: every sentence equally central
    with_title = summarize_sentences(ring, Budget(sentences=1), cfg, title="Eta and iota")
    without = summarize_sentences(ring, Budget(sentences=1), cfg)
    np.testing.assert_allclose(without.scores, 0.2)
    assert with_title.indices == [3] and with_title.scores[3] > without.scores[3]


def test_redundancy_removal_drops_a_repeated_sentence():
    sents = [HUB[2], HUB[0], HUB[2].replace(".", ", they say."), HUB[1], HUB[3]]
    plain = summarize_sentences(sents, Budget(sentences=2), PLAIN)
    assert plain.indices == [0, 2]  # both near-copies of the hub
    for cfg in (
        VARIANTS["mmr"],
        TextRankConfig(),
        TextRankConfig(lead_weight=0.0, mmr_lambda=0.3, max_similarity=1.0),
    ):
        s = summarize_sentences(sents, Budget(sentences=2), cfg)
        assert len(set(s.indices) & {0, 2}) == 1, cfg


def test_blocked_sparse_graph_matches_dense_when_it_keeps_every_neighbour():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    docs = [list(rng.choice(words, size=8)) for _ in range(50)]
    x = tfidf_matrix(docs)
    dense = cosine_graph(x)
    sparse = cosine_graph(x, dense_limit=0, top_k=49, block_size=7)
    np.testing.assert_allclose(sparse.toarray(), dense, atol=1e-12)
    pruned = cosine_graph(x, dense_limit=0, top_k=3, block_size=16)
    assert pruned.nnz <= 2 * 3 * 50 and np.allclose(pruned.toarray(), pruned.toarray().T)
    assert np.all(pruned.diagonal() == 0)


def test_sparse_and_centroid_modes_still_summarise():
    text = "\n\n".join(read(p) for p in SAMPLES)
    dense = summarize(text, PLAIN, sentences=5)
    sparse = summarize(text, dataclasses.replace(PLAIN, dense_limit=10, top_k=10), sentences=5)
    centroid = summarize(text, dataclasses.replace(PLAIN, centroid_limit=10), sentences=5)
    for s in (sparse, centroid):
        assert len(s.indices) == 5 and sum(s.scores) == pytest.approx(1.0)
        assert len(s.scores) == len(dense.scores)
        # the rankings agree with the dense graph's on the whole
        assert np.corrcoef(s.scores, dense.scores)[0, 1] > 0.6


def test_word_vector_representation():
    gensim = pytest.importorskip("gensim")
    words = sorted({w.lower().strip(".,") for s in HUB for w in s.split()})
    kv = gensim.models.KeyedVectors(vector_size=4)
    rng = np.random.default_rng(1)
    kv.add_vectors(words, rng.normal(size=(len(words), 4)).astype(np.float32))
    cfg = TextRankConfig(representation="vectors")
    s = summarize_sentences(HUB, Budget(sentences=2), cfg, keyed_vectors=kv)
    assert len(s.indices) == 2 and len(s.scores) == len(HUB)
    with pytest.raises(ValueError, match="keyed_vectors"):
        summarize_sentences(HUB, Budget(sentences=2), cfg)


def test_registries_reject_unknown_names():
    with pytest.raises(ValueError, match="tfidf"):
        TextRankConfig(representation="bert")
    with pytest.raises(ValueError, match="plain"):
        variant("nope")
    assert {"plain", "lead", "title", "mmr", "default"} <= set(VARIANTS)
    with pytest.raises(ValueError):
        TextRankConfig(lead_weight=0.8, title_weight=0.5)


def test_textrank_never_imports_torch_or_gensim():
    sample = SAMPLES[0]
    code = (
        "import sys\n"
        "from engine.summarize.textrank import summarize\n"
        f"s = summarize(open({str(sample)!r}, encoding='utf-8').read(), keywords=5)\n"
        "assert len(s.sentences) == 3\n"
        "from engine.cli import main\n"
        f"assert main(['summarize', {str(sample)!r}, '--json']) == 0\n"
        "bad = sorted(m for m in ('torch', 'gensim', 'PySide6') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_word_budget_counts_chinese_characters_as_words():
    """Chinese has no spaces: each sentence was one "word", so a 20-word budget took whole pages."""
    text = "".join(f"第{i}天，渡轮服务在星期一恢复了。岛上的居民已经等待了整整一个星期。" for i in range(8))
    s = summarize(text, words=20)
    assert len(s.sentences) == 1 and len(s.source_sentences) == 16
