"""Word vectors with gensim: training, saving/loading, embedding initialisation, neighbours.

Training functions take a *re-iterable* corpus of token lists (a list, or an object whose
``__iter__`` returns a fresh iterator): gensim reads it once to build the vocabulary and once per
epoch, so a one-shot generator is rejected with a ``ValueError``. ``simple_tokenize`` gives the
tokens the rest of Parlance expects (lowercase words), and ``embedding_matrix`` lowercases
sentencepiece pieces to match.

File formats (``save_vectors`` / ``load_vectors`` choose by extension):

``.kv``
    gensim's native ``KeyedVectors.save`` format. It keeps everything (FastText n-gram buckets
    included) but is a **pickle** underneath, and unpickling can run arbitrary code. Use it only
    for files the app itself wrote; ``load_vectors`` refuses it unless ``trusted=True``. Large
    arrays may be written next to it as ``<name>.kv.vectors*.npy``; keep them together.
``.txt`` / ``.vec``
    the word2vec text format (a ``count dim`` header, then ``word v1 v2 …`` per line), as
    published by word2vec, GloVe-converted files and fastText ``.vec``. Safe for user files.
``.bin``
    the original word2vec C binary format. Safe for user files.

Text and binary formats hold whole-word vectors only: a FastText model saved that way loses its
n-grams and so its out-of-vocabulary vectors. Any of these may also end in ``.gz`` or ``.bz2``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from gensim.models import FastText, Word2Vec
from gensim.models.doc2vec import Doc2Vec, TaggedDocument
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.keyedvectors import KeyedVectors

from engine.text.tokenizer import PAD_ID, Tokenizer

__all__ = [
    "FORMATS",
    "embedding_matrix",
    "load_vectors",
    "nearest",
    "save_vectors",
    "simple_tokenize",
    "train_doc2vec",
    "train_fasttext",
    "train_word2vec",
]

# File extension -> storage format ("native" is gensim's pickle-based .save).
FORMATS = {".kv": "native", ".txt": "text", ".vec": "text", ".bin": "binary"}
_COMPRESSED = (".gz", ".bz2")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_SPIECE_SPACE = "\u2581"  # sentencepiece's word-start marker '▁'


def simple_tokenize(text: str) -> list[str]:
    """Lowercase word tokens: runs of letters/digits (any script), keeping ``don't`` whole."""
    return _WORD.findall(text.lower())


def _check_corpus(corpus: Iterable, what: str) -> None:
    if iter(corpus) is corpus:
        raise ValueError(
            f"{what} must be re-iterable (a list, or an object whose __iter__ returns a fresh "
            "iterator), not a one-shot iterator or generator: gensim reads it once per epoch"
        )


def _fit(model_cls, corpus, what: str, **kwargs):
    """Build the vocabulary and train, turning gensim's errors into clear ValueErrors."""
    _check_corpus(corpus, what)
    model = model_cls(**kwargs)
    model.build_vocab(corpus)
    if len(model.wv) == 0:
        raise ValueError(f"no word in {what} occurs at least min_count={kwargs['min_count']} times")
    model.train(corpus, total_examples=model.corpus_count, epochs=model.epochs)
    return model


def train_word2vec(
    sentences: Iterable[Sequence[str]],
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    sg: int = 0,
    epochs: int = 5,
    workers: int = 1,
    seed: int = 1,
) -> KeyedVectors:
    """Word2Vec vectors: CBOW (``sg=0``, default) or skip-gram (``sg=1``).

    ``workers=1`` with a fixed ``seed`` gives the same vectors on every run; more workers are
    faster but not reproducible.
    """
    model = _fit(
        Word2Vec,
        sentences,
        "sentences",
        vector_size=dim,
        window=window,
        min_count=min_count,
        sg=sg,
        epochs=epochs,
        workers=workers,
        seed=seed,
    )
    return model.wv


def train_fasttext(
    sentences: Iterable[Sequence[str]],
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    sg: int = 0,
    epochs: int = 5,
    workers: int = 1,
    seed: int = 1,
    min_n: int = 3,
    max_n: int = 6,
    bucket: int = 200_000,
) -> FastTextKeyedVectors:
    """FastText vectors: Word2Vec plus character n-grams (``min_n``..``max_n``), so any word,
    seen or not, gets a vector.

    ``bucket`` is the number of hashed n-gram vectors, ``bucket * dim * 4`` bytes of memory and
    file size. gensim's default of 2,000,000 costs 800 MB at ``dim=100``; 200,000 (80 MB) is plenty
    for the corpora a desktop app trains on.
    """
    model = _fit(
        FastText,
        sentences,
        "sentences",
        vector_size=dim,
        window=window,
        min_count=min_count,
        sg=sg,
        epochs=epochs,
        workers=workers,
        seed=seed,
        min_n=min_n,
        max_n=max_n,
        bucket=bucket,
    )
    return model.wv


def train_doc2vec(
    documents: Iterable[Sequence[str] | TaggedDocument],
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    dm: int = 1,
    epochs: int = 10,
    workers: int = 1,
    seed: int = 1,
) -> Doc2Vec:
    """Doc2Vec model: ``model.dv[i]`` is document ``i``'s vector, ``model.wv`` the word vectors,
    ``model.infer_vector(tokens)`` embeds a new document.

    ``documents`` are token lists (tagged 0, 1, 2 … in order) or ``TaggedDocument``s. ``dm=1``
    (PV-DM, default) trains word vectors alongside; ``dm=0`` (PV-DBOW) is trained here with
    ``dbow_words=1`` so ``model.wv`` is meaningful in both modes.
    """
    _check_corpus(documents, "documents")
    tagged = [
        doc if isinstance(doc, TaggedDocument) else TaggedDocument(list(doc), [i])
        for i, doc in enumerate(documents)
    ]
    return _fit(
        Doc2Vec,
        tagged,
        "documents",
        vector_size=dim,
        window=window,
        min_count=min_count,
        dm=dm,
        dbow_words=1,
        epochs=epochs,
        workers=workers,
        seed=seed,
    )


# -- files --------------------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(
            f"unknown word-vector file type {path.name!r}; known extensions: {known} (optionally .gz/.bz2)"
        )
    return fmt


def save_vectors(kv: KeyedVectors, path: str | os.PathLike[str]) -> Path:
    """Write ``kv`` in the format its extension names (see the module docstring); returns the path."""
    path = Path(path)
    fmt = _format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "native":
        kv.save(str(path))
    else:
        kv.save_word2vec_format(str(path), binary=fmt == "binary")
    return path


def load_vectors(path: str | os.PathLike[str], *, trusted: bool = False) -> KeyedVectors:
    """Read vectors, choosing the format by extension.

    ``.txt``/``.vec``/``.bin`` (word2vec text/binary) are safe for any file. ``.kv`` is gensim's
    pickle-based format and is read only with ``trusted=True``, for files the app wrote itself.
    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for a
    refused, unknown or corrupt one.
    """
    path = Path(path)
    fmt = _format_of(path)
    if not path.is_file():
        raise FileNotFoundError(f"word-vector file not found: {path}")
    if fmt == "native" and not trusted:
        raise ValueError(
            f"refusing to load {path}: .kv files are pickles and may run code; load them only for files "
            "the app wrote (trusted=True), or convert the vectors to word2vec .txt/.bin"
        )
    try:
        if fmt == "native":
            kv = KeyedVectors.load(str(path))
        else:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=fmt == "binary")
    except Exception as exc:  # gensim/numpy/pickle raise many types for a damaged file
        raise ValueError(f"cannot read word vectors from {path}: {exc}") from exc
    if not isinstance(kv, KeyedVectors):
        raise ValueError(f"{path} does not hold word vectors (found {type(kv).__name__})")
    return kv


# -- use ----------------------------------------------------------------------------------------


def _vector_for(kv: KeyedVectors, word: str) -> np.ndarray | None:
    """The vector of ``word``, synthesised from n-grams for FastText, or None."""
    if not word:
        return None
    if isinstance(kv, FastTextKeyedVectors) and word in kv:
        return kv[word]
    if kv.has_index_for(word):
        return kv[word]
    return None


def embedding_matrix(
    tokenizer: Tokenizer, kv: KeyedVectors | None, dim: int, seed: int = 0
) -> tuple[np.ndarray, float]:
    """An initial embedding table for ``tokenizer``'s ids, from word vectors.

    Each ordinary piece has its ``'▁'`` prefix removed and is lowercased, then looked up in
    ``kv`` (FastText synthesises vectors for unseen words). Pieces without a vector, special and
    byte pieces get ``normal(0, std)`` rows, with ``std`` the standard deviation of the vectors
    found (0.1 when none are). Row ``PAD_ID`` is all zeros. ``kv=None`` gives a random table.

    Returns ``(matrix, coverage)``: a float32 array of shape ``(vocab_size, dim)``, and the
    fraction of ordinary (non-special, non-byte, not bare ``'▁'``) pieces that had a vector.
    Raises ``ValueError`` when ``dim`` differs from ``kv.vector_size``.
    """
    if kv is not None and kv.vector_size != dim:
        raise ValueError(f"dim={dim} does not match the word vectors' size {kv.vector_size}")
    rng = np.random.default_rng(seed)
    vocab = tokenizer.vocab_size
    found: dict[int, np.ndarray] = {}
    candidates = 0
    for i in range(vocab):
        if tokenizer.is_special(i):
            continue
        piece = tokenizer.id_to_piece(i)
        word = (piece[1:] if piece.startswith(_SPIECE_SPACE) else piece).lower()
        if not word:
            continue
        candidates += 1
        vec = _vector_for(kv, word) if kv is not None else None
        if vec is not None:
            found[i] = vec
    std = 0.1
    if found:
        measured = float(np.std(np.stack(list(found.values()))))
        std = measured if measured > 0 else std
    matrix = rng.normal(0.0, std, size=(vocab, dim)).astype(np.float32)  # (V, D)
    for i, vec in found.items():
        matrix[i] = vec
    matrix[PAD_ID] = 0.0
    coverage = len(found) / candidates if candidates else 0.0
    return matrix, coverage


def nearest(kv: KeyedVectors, word: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words most cosine-similar to ``word``, best first, as ``(word, similarity)``.

    ``word`` is tried as given, then lowercased. A word without a vector raises ``ValueError``
    (FastText vectors have one for any non-empty word).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    for candidate in dict.fromkeys((word, word.lower())):
        if kv.has_index_for(candidate):
            return [(w, float(s)) for w, s in kv.most_similar(candidate, topn=k)]
    vec = _vector_for(kv, word.lower())
    if vec is None:
        raise ValueError(f"unknown word {word!r}: not among the {len(kv)} words of these vectors")
    return [(w, float(s)) for w, s in kv.similar_by_vector(vec, topn=k)]


def copy_piece_vectors(embedding, tok: Tokenizer, kv: KeyedVectors, norm: float) -> int:
    """Overwrite the rows of ``embedding`` (a torch ``nn.Embedding``) whose piece, exactly as
    written (with its ``'▁'``), has a vector in ``kv``: the vector rescaled to length ``norm``.
    Row ``PAD_ID`` is zeroed. Returns how many rows were set."""
    import torch

    weight = embedding.weight.detach().cpu().numpy().copy()
    found = 0
    for i in range(tok.vocab_size):
        piece = tok.id_to_piece(i)
        if piece in kv.key_to_index:
            vec = kv[piece]
            weight[i] = vec / (np.linalg.norm(vec) + 1e-8) * norm
            found += 1
    weight[PAD_ID] = 0.0
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(weight))
    return found
