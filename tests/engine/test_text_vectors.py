"""gensim word vectors: co-occurring words become neighbours; files; embedding initialisation."""

from __future__ import annotations

import random

import numpy as np
import pytest
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.keyedvectors import KeyedVectors

from engine.text.tokenizer import PAD_ID, Tokenizer
from engine.text.vectors import (
    embedding_matrix,
    load_vectors,
    nearest,
    save_vectors,
    simple_tokenize,
    train_doc2vec,
    train_fasttext,
    train_word2vec,
)

# Each pair always occurs together, in sentences of its own topic. Topic k's filler words are
# shared with topics k-1 and k+1, so only the pair's two words have exactly the same contexts.
PAIRS = [
    ("salt", "pepper"),
    ("bread", "butter"),
    ("knife", "fork"),
    ("cup", "saucer"),
    ("rain", "snow"),
    ("table", "chair"),
]
DIM = 16
COMMON = dict(dim=DIM, window=5, min_count=1, epochs=40, seed=1)


def make_corpus(n: int = 500, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    edges = [[f"filler{k}{letter}" for letter in "abcd"] for k in range(len(PAIRS))]
    topics = [edges[k - 1] + edges[k] for k in range(len(PAIRS))]
    corpus = []
    for _ in range(n):
        k = rng.randrange(len(PAIRS))
        sentence = rng.choices(topics[k], k=5) + list(PAIRS[k])
        rng.shuffle(sentence)
        corpus.append(sentence)
    return corpus


def mutual_pairs(kv: KeyedVectors) -> int:
    """How many PAIRS are each other's nearest neighbour."""
    return sum(nearest(kv, a, 1)[0][0] == b and nearest(kv, b, 1)[0][0] == a for a, b in PAIRS)


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    return make_corpus()


@pytest.fixture(scope="module")
def w2v(corpus) -> KeyedVectors:
    return train_word2vec(corpus, **COMMON)


@pytest.fixture(scope="module")
def fasttext(corpus) -> FastTextKeyedVectors:
    return train_fasttext(corpus, **COMMON, bucket=20_000)


def test_simple_tokenize():
    assert simple_tokenize("Hello, World! Don't stop_now: 3.14 caf\u00e9 \u4e2d\u6587") == [
        "hello",
        "world",
        "don't",
        "stop",
        "now",
        "3",
        "14",
        "caf\u00e9",
        "\u4e2d\u6587",
    ]
    assert simple_tokenize("  ... ") == []


def test_cbow_pairs_are_nearest_neighbours(w2v):
    assert mutual_pairs(w2v) >= len(PAIRS) - 1
    result = nearest(w2v, "salt", k=5)
    assert len(result) == 5 and all(isinstance(w, str) and isinstance(s, float) for w, s in result)
    assert [s for _, s in result] == sorted((s for _, s in result), reverse=True)
    assert "salt" not in [w for w, _ in result]


def test_skipgram_pairs_are_nearest_neighbours(corpus):
    assert mutual_pairs(train_word2vec(corpus, sg=1, **COMMON)) >= len(PAIRS) - 1


def test_fasttext_pairs_and_out_of_vocabulary_words(fasttext):
    assert isinstance(fasttext, FastTextKeyedVectors)
    assert mutual_pairs(fasttext) >= len(PAIRS) - 1
    assert "salty" not in fasttext.key_to_index
    assert nearest(fasttext, "salty", 3)[0][0] == "salt"  # the n-grams carry it


def test_doc2vec_words_and_documents(corpus):
    model = train_doc2vec(corpus, **COMMON)
    assert mutual_pairs(model.wv) >= len(PAIRS) - 1
    assert len(model.dv) == len(corpus)
    same = [i for i, doc in enumerate(corpus) if "salt" in doc][:2]
    other = next(i for i, doc in enumerate(corpus) if "rain" in doc)
    assert model.dv.similarity(same[0], same[1]) > model.dv.similarity(same[0], other)
    assert model.infer_vector(["salt", "pepper"]).shape == (DIM,)


def test_training_is_reproducible(corpus, w2v):
    again = train_word2vec(corpus, **COMMON)
    np.testing.assert_array_equal(again["salt"], w2v["salt"])


def test_one_shot_corpus_and_empty_vocabulary_are_rejected(corpus):
    with pytest.raises(ValueError, match="re-iterable"):
        train_word2vec(iter(corpus), **COMMON)
    with pytest.raises(ValueError, match="re-iterable"):
        train_doc2vec(doc for doc in corpus)
    with pytest.raises(ValueError, match="min_count=5"):
        train_word2vec([["a", "b"], ["c"]], min_count=5)


def test_nearest_unknown_word_and_bad_k(w2v):
    with pytest.raises(ValueError, match="unknown word 'zebra'"):
        nearest(w2v, "zebra")
    with pytest.raises(ValueError, match="k must be"):
        nearest(w2v, "salt", 0)
    assert nearest(w2v, "SALT", 1) == nearest(w2v, "salt", 1)


# -- files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vectors.txt", "vectors.vec", "vectors.bin", "vectors.txt.gz"])
def test_word2vec_formats_round_trip(tmp_path, w2v, name):
    path = save_vectors(w2v, tmp_path / "sub" / name)
    loaded = load_vectors(path)
    assert loaded.index_to_key == w2v.index_to_key
    np.testing.assert_allclose(loaded.vectors, w2v.vectors, atol=1e-5)


def test_native_format_needs_trust_and_keeps_fasttext_ngrams(tmp_path, fasttext):
    path = save_vectors(fasttext, tmp_path / "ft.kv")
    with pytest.raises(ValueError, match="trusted=True"):
        load_vectors(path)
    loaded = load_vectors(path, trusted=True)
    assert isinstance(loaded, FastTextKeyedVectors)
    np.testing.assert_array_equal(loaded["salty"], fasttext["salty"])


def test_file_errors(tmp_path, w2v):
    with pytest.raises(ValueError, match=r"\.bin, \.kv, \.txt, \.vec"):
        save_vectors(w2v, tmp_path / "vectors.pkl")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_vectors(tmp_path / "missing.txt")
    bad = tmp_path / "broken.txt"
    bad.write_text("3 4\nword 1 2\n")
    with pytest.raises(ValueError, match="broken.txt"):
        load_vectors(bad)


# -- embedding matrix ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok(tmp_path_factory, corpus) -> Tokenizer:
    texts = [" ".join(sentence).capitalize() + "." for sentence in corpus]
    return Tokenizer.train(texts, tmp_path_factory.mktemp("tok"), vocab_size=320, seed=1, num_threads=1)


def test_embedding_matrix_from_word2vec(tok, w2v):
    matrix, coverage = embedding_matrix(tok, w2v, DIM, seed=0)
    assert matrix.shape == (tok.vocab_size, DIM) and matrix.dtype == np.float32
    assert not matrix[PAD_ID].any()
    ordinary = [tok.id_to_piece(i) for i in range(tok.vocab_size) if not tok.is_special(i)]
    words = [p.removeprefix("\u2581").lower() for p in ordinary]
    expected = sum(w in w2v.key_to_index for w in words) / sum(bool(w) for w in words)
    assert coverage == pytest.approx(expected)
    assert 0.1 < coverage < 1.0  # whole words are found, sub-word fragments are not
    salt = tok.piece_to_id("\u2581salt")
    assert tok.id_to_piece(salt) == "\u2581salt"
    np.testing.assert_array_equal(matrix[salt], w2v["salt"])
    again, _ = embedding_matrix(tok, w2v, DIM, seed=0)
    np.testing.assert_array_equal(again, matrix)
    random_rows = matrix[[i for i in range(1, tok.vocab_size) if tok.is_special(i)]]
    assert 0 < random_rows.std() < 3 * w2v.vectors.std()


def test_embedding_matrix_fasttext_covers_every_piece(tok, fasttext):
    matrix, coverage = embedding_matrix(tok, fasttext, DIM)
    assert coverage == 1.0
    assert not matrix[PAD_ID].any()


def test_embedding_matrix_without_vectors_and_dim_mismatch(tok, w2v):
    matrix, coverage = embedding_matrix(tok, None, 8, seed=3)
    assert matrix.shape == (tok.vocab_size, 8) and coverage == 0.0
    assert not matrix[PAD_ID].any()
    assert abs(float(matrix[1:].std()) - 0.1) < 0.02
    with pytest.raises(ValueError, match="dim=8"):
        embedding_matrix(tok, w2v, 8)


def test_copy_piece_vectors_sets_the_found_rows_at_the_given_length(tmp_path):
    import torch

    from engine.text.vectors import copy_piece_vectors

    texts = [" ".join(s) for s in make_corpus(200)]
    tok = Tokenizer.train(texts, tmp_path, vocab_size=300, seed=0)
    pieces = [[tok.id_to_piece(i) for i in tok.encode(t)] for t in texts]
    kv = train_word2vec(pieces, dim=8, epochs=2, workers=1, seed=1)
    emb = torch.nn.Embedding(tok.vocab_size, 8)
    before = emb.weight.detach().clone()
    found = copy_piece_vectors(emb, tok, kv, norm=2.0)
    set_rows = [i for i in range(tok.vocab_size) if tok.id_to_piece(i) in kv.key_to_index]
    assert found == len(set_rows) > 0
    norms = emb.weight.detach()[set_rows].norm(dim=1)
    assert torch.allclose(norms, torch.full_like(norms, 2.0), atol=1e-4)
    other = [i for i in range(1, tok.vocab_size) if i not in set_rows and i != PAD_ID]
    assert torch.equal(emb.weight.detach()[other], before[other])
    assert float(emb.weight.detach()[PAD_ID].abs().sum()) == 0.0
