"""Sentence representations and the cosine-similarity graph TextRank ranks.

Two representations, both returning one L2-normalised row per sentence (an all-zero row for a
sentence with no usable word):

- ``tfidf_matrix``: TF-IDF over the document's own sentences (each sentence is a "document" for
  the IDF), sublinear term frequency, stopwords dropped; a ``scipy.sparse`` CSR matrix.
- ``word_vector_matrix``: the average of the sentence's word vectors, taken from gensim
  ``KeyedVectors`` passed in by the caller (this module never loads a model, nor imports gensim).

``cosine_graph`` turns rows into a similarity graph: a dense matrix for ordinary texts, and for
long ones a sparse graph built block by block that keeps each sentence's ``top_k`` most similar
neighbours, so memory and time stay near-linear in the number of sentences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp

from engine.summarize.words import STOPWORDS


def content_tokens(
    tokens: Iterable[str], stopwords: frozenset[str] = STOPWORDS, stem: Callable[[str], str] | None = None
) -> list[str]:
    """Lower-cased tokens with stopwords and tokens without a letter or digit removed, optionally stemmed."""
    out = []
    for tok in tokens:
        t = tok.lower()
        if t in stopwords or not any(c.isalnum() for c in t):
            continue
        out.append(stem(t) if stem else t)
    return out


def tfidf_matrix(docs: list[list[str]], sublinear_tf: bool = True) -> sp.csr_matrix:
    """TF-IDF rows (n_docs, vocab), L2-normalised, for already-filtered token lists.

    IDF is smoothed, ``log((1 + n) / (1 + df)) + 1``, so a word in every sentence still counts.
    """
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, doc in enumerate(docs):
        for word, count in Counter(doc).items():
            j = vocab.setdefault(word, len(vocab))
            rows.append(i)
            cols.append(j)
            vals.append(1.0 + np.log(count) if sublinear_tf else float(count))
    n = len(docs)
    tf = sp.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float64)
    df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab))
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    x = tf @ sp.diags(idf)
    return _normalize_rows(sp.csr_matrix(x))


def word_vector_matrix(
    docs: list[list[str]], keyed_vectors, idf_weighted: bool = False, center: bool = False
) -> np.ndarray:
    """Average word vectors (n_docs, dim), L2-normalised; words missing from the vectors are skipped.

    ``keyed_vectors`` is a gensim ``KeyedVectors`` (anything with ``key_to_index`` and ``vectors``).
    With ``idf_weighted`` each word counts by its IDF over ``docs`` (rare words weigh more); with
    ``center`` the mean of the sentence vectors is subtracted first, so that cosine similarity
    measures what sentences share beyond the document's common topic (plain averages of word
    vectors are all nearly parallel).
    """
    index = keyed_vectors.key_to_index
    table = np.asarray(keyed_vectors.vectors, dtype=np.float64)  # (V, dim)
    df = Counter(w for doc in docs for w in set(doc))
    n = len(docs)
    out = np.zeros((n, table.shape[1]))  # (n, dim)
    has = np.zeros(n, dtype=bool)
    for i, doc in enumerate(docs):
        known = [w for w in doc if w in index]
        if not known:
            continue
        ids = [index[w] for w in known]
        w = (
            np.array([np.log((1.0 + n) / (1.0 + df[t])) + 1.0 for t in known])
            if idf_weighted
            else np.ones(len(ids))
        )
        out[i] = (w[:, None] * table[ids]).sum(axis=0) / w.sum()
        has[i] = True
    out = _normalize_rows(out)
    if center and has.sum() > 1:
        out[has] -= out[has].mean(axis=0)
    return _normalize_rows(out)


def _normalize_rows(x):
    if sp.issparse(x):
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).reshape(-1))
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(inv) @ x)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def cosine_graph(x, threshold: float = 0.0, dense_limit: int = 600, top_k: int = 40, block_size: int = 512):
    """Cosine-similarity graph of L2-normalised rows ``x`` (n, d), dense or sparse.

    Self-similarity is zero and similarities at or below ``threshold`` (and all negative ones) are
    dropped. Up to ``dense_limit`` sentences the result is a dense (n, n) array; above it, a
    symmetric ``scipy.sparse`` CSR matrix keeping each row's ``top_k`` largest similarities,
    computed ``block_size`` rows at a time.
    """
    n = x.shape[0]
    if n <= dense_limit:
        s = x @ x.T
        s = s.toarray() if sp.issparse(s) else np.array(s, dtype=np.float64)
        np.fill_diagonal(s, 0.0)
        s[s <= max(threshold, 0.0)] = 0.0
        return s
    return _blocked_top_k(x, threshold, top_k, block_size)


def _blocked_top_k(x, threshold: float, top_k: int, block_size: int) -> sp.csr_matrix:
    n = x.shape[0]
    k = min(top_k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n), dtype=np.float64)
    xt = x.T.tocsc() if sp.issparse(x) else x.T
    rows, cols, vals = [], [], []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        block = x[start:stop] @ xt  # (b, n)
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0  # no self-loops
        nearest = np.argpartition(-block, k - 1, axis=1)[:, :k]  # (b, k) unordered top-k
        sims = np.take_along_axis(block, nearest, axis=1)
        keep = sims > max(threshold, 0.0)
        rows.append((np.arange(start, stop)[:, None] + np.zeros((1, k), dtype=np.int64))[keep])
        cols.append(nearest[keep])
        vals.append(sims[keep])
    g = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float64
    )
    return g.maximum(g.T).tocsr()  # keep an edge if either end counts the other among its top-k
