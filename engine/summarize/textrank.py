"""Extractive summaries by TextRank (Mihalcea & Tarau 2004), as in the lecture, plus what helps on news.

The lecture's method: split the text into sentences, represent each sentence (TF-IDF, or the
average of word vectors), build the cosine-similarity graph, rank sentences by PageRank, and return
the top-ranked ones in their original order. On top of it, each switchable in ``TextRankConfig``
and measured by ``python -m engine eval summarize``:

- position awareness: personalised PageRank whose teleport distribution leans towards early
  sentences (news puts the gist first);
- title awareness: the teleport distribution also leans towards sentences similar to the title;
- redundancy removal: Maximal Marginal Relevance re-ranks the best candidates, and a sentence
  nearly identical to a better one waits until all others are taken, so the summary does not say
  the same thing twice;
- scale: above ``dense_limit`` sentences the graph is sparse (top-k neighbours per sentence), and
  above ``centroid_limit`` a sentence's centrality is its similarity to the whole document (the
  degree the dense graph would give it), so a huge text is summarised in linear time.

This module imports numpy and scipy only: never torch; gensim only through the tokenizer of
``engine.text.vectors`` when the caller asks for word vectors (and so holds gensim vectors already).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.summarize.document import parse_document
from engine.summarize.keywords import extract_keywords
from engine.summarize.pagerank import pagerank
from engine.summarize.similarity import content_tokens, cosine_graph, tfidf_matrix, word_vector_matrix
from engine.summarize.summary import Budget, Summary
from engine.summarize.words import find_words, light_stem
from engine.text.normalize import count_words


@dataclass
class TextRankConfig:
    """Every knob of the extractive summarizer. The defaults are the variant chosen on the tuning
    part of the BBC data (see docs/bench/summarize.md): TF-IDF, a lead bias and light MMR."""

    representation: str = "tfidf"  # sentence vectors: a name in REPRESENTATIONS
    stem: bool = False  # merge inflections (light_stem) before comparing sentences (TF-IDF only)
    threshold: float = 0.0  # cosine similarities at or below this are not edges
    damping: float = 0.85  # PageRank: probability of following an edge rather than teleporting
    tol: float = 1e-8  # PageRank: stop when the L1 change of the scores is below this
    max_iter: int = 200  # PageRank: at most this many power iterations
    lead_weight: float = 0.4  # share of the teleport distribution given to the position prior
    lead_exponent: float = 3.0  # position prior for sentence i (from 0) is 1 / (i + 1) ** lead_exponent
    title_weight: float = 0.0  # share of the teleport distribution given to similarity with the title
    detect_title: bool = True  # a headline-like first line is the title, never a summary sentence
    mmr_lambda: float = 0.9  # MMR: weight of the score vs. redundancy; 1.0 switches MMR off
    mmr_pool: int = 100  # MMR and the duplicate check look at this many best-scored sentences
    max_similarity: float = 0.8  # a sentence more similar (cosine) to a picked one waits; 1.0 = off
    min_words: int = 0  # sentences with fewer words are picked only after all longer ones
    dense_limit: int = 600  # up to this many sentences the similarity graph is a dense matrix
    top_k: int = 40  # sparse graph: neighbours kept per sentence
    centroid_limit: int = 20000  # above this many sentences, centrality = similarity to the document

    def __post_init__(self):
        if self.representation not in REPRESENTATIONS:
            known = ", ".join(sorted(REPRESENTATIONS))
            raise ValueError(f"unknown representation {self.representation!r}; known: {known}")
        if self.lead_weight < 0 or self.title_weight < 0 or self.lead_weight + self.title_weight > 1:
            raise ValueError("lead_weight and title_weight must be >= 0 and sum to at most 1")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise ValueError(f"mmr_lambda must be in [0, 1], got {self.mmr_lambda}")


def _tfidf(texts: list[str], config: TextRankConfig, keyed_vectors) -> sp.csr_matrix:
    stem = light_stem if config.stem else None
    return tfidf_matrix([content_tokens((m.group() for m in find_words(t)), stem=stem) for t in texts])


def _vectors(texts: list[str], config: TextRankConfig, keyed_vectors) -> np.ndarray:
    if keyed_vectors is None:
        raise ValueError("the 'vectors' representation needs word vectors: pass keyed_vectors")
    # The project's tokenizer, so words match the vectors it trained; gensim is loaded already
    # (the caller holds KeyedVectors), so importing engine.text.vectors costs nothing more.
    from engine.text.vectors import simple_tokenize

    return word_vector_matrix([content_tokens(simple_tokenize(t)) for t in texts], keyed_vectors)


# name -> function(texts, config, keyed_vectors) -> L2-normalised rows (n, d), dense or sparse
REPRESENTATIONS = {"tfidf": _tfidf, "vectors": _vectors}


def sentence_matrix(texts: list[str], config: TextRankConfig, keyed_vectors=None):
    """One L2-normalised row per text (n, d), in the configured representation."""
    return REPRESENTATIONS[config.representation](texts, config, keyed_vectors)


def score_sentences(
    sentences: list[str], config: TextRankConfig, title: str = "", keyed_vectors=None
) -> tuple[np.ndarray, object]:
    """TextRank scores (n,), summing to 1, and the sentence rows (n, d) used for them."""
    n = len(sentences)
    if n == 0:
        return np.zeros(0), np.zeros((0, 1))
    use_title = bool(title) and config.title_weight > 0
    rows = sentence_matrix([*sentences, title] if use_title else sentences, config, keyed_vectors)
    x = rows[:n]
    teleport = _teleport(n, config, (rows[:n] @ rows[n:].T) if use_title else None)
    if n > config.centroid_limit:
        return _centroid_scores(x, config, teleport), x
    graph = cosine_graph(x, config.threshold, config.dense_limit, config.top_k)
    scores = pagerank(graph, config.damping, config.tol, config.max_iter, personalization=teleport)
    return scores, x


def _teleport(n: int, config: TextRankConfig, title_sim) -> np.ndarray | None:
    """The personalisation vector (n,): ``lead_weight`` on the position prior, ``title_weight`` on
    similarity to the title, the rest uniform; None when both are off (uniform teleporting)."""
    v, used = np.zeros(n), 0.0
    if config.lead_weight > 0:
        prior = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** config.lead_exponent
        v += config.lead_weight * prior / prior.sum()
        used += config.lead_weight
    if title_sim is not None:
        sim = np.asarray(title_sim.toarray() if sp.issparse(title_sim) else title_sim).reshape(-1)
        sim = np.clip(sim, 0.0, None)
        if sim.sum() > 0:  # a title sharing no word with the text biases nothing
            v += config.title_weight * sim / sim.sum()
            used += config.title_weight
    if used == 0:
        return None
    return v + (1.0 - used) / n


def _centroid_scores(x, config: TextRankConfig, teleport: np.ndarray | None) -> np.ndarray:
    """One PageRank step from the degree of the dense cosine graph, in O(nnz): for huge texts."""
    n = x.shape[0]
    total = np.asarray(x.sum(axis=0)).reshape(-1)  # (d,)
    degree = np.asarray(x @ total).reshape(-1) - np.asarray(
        x.multiply(x).sum(axis=1) if sp.issparse(x) else (x * x).sum(axis=1)
    ).reshape(-1)
    degree = np.clip(degree, 0.0, None)
    v = np.full(n, 1.0 / n) if teleport is None else teleport
    spread = degree / degree.sum() if degree.sum() > 0 else np.full(n, 1.0 / n)
    return (1.0 - config.damping) * v + config.damping * spread


def selection_order(scores: np.ndarray, x, config: TextRankConfig, word_counts: list[int]) -> list[int]:
    """All sentence indices, best first: by score; among the best ``mmr_pool``, MMR re-ranking (when
    ``mmr_lambda`` < 1) and near-duplicates of a better sentence deferred (when ``max_similarity``
    < 1); sentences shorter than ``min_words`` last."""
    order = np.argsort(-scores, kind="stable").tolist()
    if config.min_words > 0:
        order = [i for i in order if word_counts[i] >= config.min_words] + [
            i for i in order if word_counts[i] < config.min_words
        ]
    if (config.mmr_lambda >= 1.0 and config.max_similarity >= 1.0) or len(order) < 2:
        return order
    pool = order[: config.mmr_pool]
    sub = x[pool]
    sim = sub @ sub.T
    sim = np.asarray(sim.toarray() if sp.issparse(sim) else sim)  # (p, p) cosine
    rel = scores[pool] / max(scores[pool].max(), 1e-12)
    picked, deferred, left = [], [], list(range(len(pool)))
    max_sim = np.zeros(len(pool))  # similarity to the closest sentence picked so far
    while left:
        gain = config.mmr_lambda * rel[left] - (1.0 - config.mmr_lambda) * max_sim[left]
        best = left.pop(int(np.argmax(gain)))
        if max_sim[best] > config.max_similarity:
            deferred.append(best)  # says again what a better sentence said
            continue
        picked.append(best)
        max_sim = np.maximum(max_sim, sim[best])
    return [pool[i] for i in picked + deferred] + order[config.mmr_pool :]


def _first_copies(order: list[int], sentences: list[str]) -> list[int]:
    """``order`` without the later copies of a sentence that occurs more than once (case and
    spacing aside): a text that repeats itself must not give a summary that does."""
    seen: set[str] = set()
    out = []
    for i in order:
        key = " ".join(sentences[i].lower().split())
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def summarize_sentences(
    sentences: list[str],
    budget: Budget,
    config: TextRankConfig | None = None,
    title: str = "",
    keyed_vectors=None,
    n_keywords: int = 0,
    spans: list[tuple[int, int]] | None = None,
    method: str = "textrank",
) -> Summary:
    """Summarise text already split into ``sentences`` (the evaluation uses this to give every
    method the same splits)."""
    config = config or TextRankConfig()
    scores, x = score_sentences(sentences, config, title, keyed_vectors)
    word_counts = [count_words(s) for s in sentences]  # a Chinese character is a word: no spaces
    order = selection_order(scores, x, config, word_counts) if sentences else []
    chosen = budget.take(_first_copies(order, sentences), word_counts)
    keywords = extract_keywords([title, *sentences] if title else sentences, n_keywords) if n_keywords else []
    return Summary(
        sentences=[sentences[i] for i in chosen],
        indices=chosen,
        scores=[float(s) for s in scores],
        keywords=keywords,
        method=method,
        source_sentences=list(sentences),
        spans=list(spans) if spans is not None else [],
        title=title,
    )


def summarize_text(
    text: str, budget: Budget, config: TextRankConfig | None = None, keyed_vectors=None, n_keywords: int = 0
) -> Summary:
    """Summarise raw ``text`` within ``budget``: split it (title line apart), rank, select."""
    config = config or TextRankConfig()
    doc = parse_document(text, detect_title=config.detect_title)
    return summarize_sentences(
        doc.sentences, budget, config, doc.title, keyed_vectors, n_keywords, doc.spans, method="textrank"
    )


def summarize(
    text: str,
    config: TextRankConfig | None = None,
    *,
    sentences: int | None = None,
    ratio: float | None = None,
    words: int | None = None,
    keywords: int = 0,
    keyed_vectors=None,
) -> Summary:
    """Summarise ``text`` by TextRank: at most one of ``sentences``, ``ratio``, ``words`` (three
    sentences when none), and ``keywords`` key phrases. An empty text gives an empty summary."""
    return summarize_text(text, Budget.of(sentences, ratio, words), config, keyed_vectors, keywords)


# Named variants, each measured by the evaluation: the lecture's plain TextRank, one addition at a
# time, and the default (lead bias, MMR and the duplicate check, chosen on the BBC train part).
_PLAIN = {"lead_weight": 0.0, "mmr_lambda": 1.0, "max_similarity": 1.0}
VARIANTS: dict[str, TextRankConfig] = {
    "plain": TextRankConfig(**_PLAIN),
    "lead": TextRankConfig(**{**_PLAIN, "lead_weight": 0.4}),
    "title": TextRankConfig(**{**_PLAIN, "title_weight": 0.3}),
    "mmr": TextRankConfig(**{**_PLAIN, "mmr_lambda": 0.9, "max_similarity": 0.8}),
    "stem": TextRankConfig(**{**_PLAIN, "stem": True}),
    "default": TextRankConfig(),
}


def variant(name: str) -> TextRankConfig:
    """A copy of the named variant's config; ValueError listing the known names otherwise."""
    if name not in VARIANTS:
        raise ValueError(f"unknown TextRank variant {name!r}; known: {', '.join(VARIANTS)}")
    return dataclasses.replace(VARIANTS[name])
