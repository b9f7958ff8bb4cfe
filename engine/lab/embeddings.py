"""Embeddings, looked at: a word's nearest neighbours in a model's embedding matrix and in gensim
word vectors trained on the same text, and a 2-D PCA projection of chosen words.

A word maps to the mean of its sentencepiece rows (most common words are one piece ``'▁word'``).
Neighbours are ordinary pieces (specials and byte pieces excluded), shown without the ``'▁'``.
"""

from __future__ import annotations

import numpy as np

from engine.lab.probes import nearest_rows, pca_2d
from engine.text.tokenizer import UNK_ID, Tokenizer

SPACE = "\u2581"


def word_ids(tok: Tokenizer, word: str) -> list[int]:
    """Ordinary piece ids of ``word`` (its whole-word piece when there is one)."""
    word = word.strip()
    if not word:
        raise ValueError("type a word to look up")
    whole = tok.piece_to_id(SPACE + word)
    if whole != UNK_ID and not tok.is_special(whole):
        return [whole]
    ids = [i for i in tok.encode(word) if not tok.is_special(i) and tok.id_to_piece(i) != SPACE]
    if not ids:
        raise ValueError(f"{word!r} has no ordinary pieces in this model's vocabulary")
    return ids


def word_vector(matrix: np.ndarray, tok: Tokenizer, word: str) -> np.ndarray:
    return np.asarray(matrix)[word_ids(tok, word)].mean(axis=0)  # (D,)


def model_neighbours(matrix: np.ndarray, tok: Tokenizer, word: str, k: int = 10) -> list[tuple[str, float]]:
    """Nearest pieces of ``word`` in an embedding matrix (V, D) by cosine similarity."""
    own = set(word_ids(tok, word))
    skip = [i for i in range(tok.vocab_size) if i in own or tok.is_special(i) or tok.id_to_piece(i) == SPACE]
    hits = nearest_rows(matrix, word_vector(matrix, tok, word), k, exclude=skip)
    return [(tok.id_to_piece(i).replace(SPACE, ""), s) for i, s in hits]


def gensim_neighbours(sentences: list[str], word: str, k: int = 10, dim: int = 50, seed: int = 1):
    """Nearest words of ``word`` in Word2Vec vectors trained on ``sentences`` (deterministic)."""
    from engine.text.vectors import nearest, simple_tokenize, train_word2vec

    corpus = [toks for toks in (simple_tokenize(s) for s in sentences) if toks]
    if not corpus:
        raise ValueError("no words to train word vectors on")
    kv = train_word2vec(corpus, dim=dim, window=4, min_count=1, epochs=20, workers=1, seed=seed)
    return nearest(kv, word, k)


def projection(matrix: np.ndarray, tok: Tokenizer, words: list[str]) -> dict:
    """2-D PCA of the chosen words' vectors: ``{"words": [...], "xy": [[x, y], ...]}``."""
    words = [w.strip() for w in words if w.strip()]
    if len(words) < 2:
        raise ValueError("choose at least two words to project")
    vecs = np.stack([word_vector(matrix, tok, w) for w in words])  # (N, D)
    return {"words": words, "xy": pca_2d(vecs).tolist()}
