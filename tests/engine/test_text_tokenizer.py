"""sentencepiece Tokenizer: fixed special ids, round trips, byte fallback, files and errors."""

from __future__ import annotations

import io
import random

import pytest
import sentencepiece as spm

from engine.text.tokenizer import (
    BOS_ID,
    EOS_ID,
    MODEL_FILENAME,
    PAD_ID,
    SEP_ID,
    SPK1_ID,
    SPK2_ID,
    UNK_ID,
    Tokenizer,
)

SUBJECTS = ["the cat", "a dog", "my friend", "the teacher", "our neighbour", "this robot", "her sister"]
VERBS = ["likes", "sees", "finds", "paints", "carries", "remembers", "builds"]
OBJECTS = ["the red ball", "a small house", "three apples", "the old bridge", "some music", "a long letter"]
ENDINGS = [".", "!", "?", " today.", " every morning.", " in the garden."]


def make_corpus(n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(ENDINGS)}"
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return make_corpus()


@pytest.fixture(scope="module")
def tok(tmp_path_factory, corpus) -> Tokenizer:
    return Tokenizer.train(corpus, tmp_path_factory.mktemp("tok"), vocab_size=400, seed=1, num_threads=1)


def test_special_ids_are_fixed(tok):
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID, SEP_ID, SPK1_ID, SPK2_ID) == (0, 1, 2, 3, 4, 5, 6)
    pieces = [tok.id_to_piece(i) for i in range(7)]
    assert pieces == ["<pad>", "<unk>", "<s>", "</s>", "<sep>", "<u1>", "<u2>"]
    assert tok.piece_to_id("<sep>") == SEP_ID
    assert tok.piece_to_id("<u2>") == SPK2_ID
    assert tok.piece_to_id("no-such-piece") == UNK_ID
    assert tok.id_to_piece(7) == "<0x00>"  # byte pieces follow the specials


def test_is_special_marks_specials_and_bytes_only(tok):
    assert all(tok.is_special(i) for i in range(7 + 256))
    ordinary = [i for i in range(7 + 256, tok.vocab_size)]
    assert ordinary and not any(tok.is_special(i) for i in ordinary)
    assert tok.vocab_size == len(tok) > 263


def test_round_trip_on_ordinary_text(tok, corpus):
    for text in [*corpus[:20], "Her sister paints the old bridge in the garden."]:
        ids = tok.encode(text)
        assert UNK_ID not in ids
        assert tok.decode(ids) == text
    assert tok.encode("") == []
    assert tok.decode([]) == ""


def test_bos_eos_and_pad_are_added_and_dropped(tok):
    ids = tok.encode("The cat likes some music.", add_bos=True, add_eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID
    padded = ids + [PAD_ID] * 4
    assert tok.decode(padded) == "The cat likes some music."


def test_pieces_show_word_starts(tok):
    pieces = tok.pieces("The cat sees a dog")
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).replace("\u2581", " ").strip() == "The cat sees a dog"
    assert [tok.piece_to_id(p) for p in pieces] == tok.encode("The cat sees a dog")


@pytest.mark.parametrize(
    "text",
    [
        "I like \U0001f355 and \U0001f600!",
        "\u5bff\u53f8\u3068\u30e9\u30fc\u30e1\u30f3",
        "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
        "na\u00efve caf\u00e9",
    ],
)
def test_byte_fallback_round_trips_unseen_scripts(tok, text):
    ids = tok.encode(text)
    assert UNK_ID not in ids
    assert any(tok.is_special(i) for i in ids)  # went through byte pieces
    assert tok.decode(ids) == text


@pytest.mark.parametrize(
    "text", ["a\x00b\x07c\x1b[0m", "\r\n\t\x7f", "lone \ud800 surrogate", "\ufeff\u200b", "<sep>"]
)
def test_odd_input_never_crashes(tok, text):
    ids = tok.encode(text, add_bos=True, add_eos=True)
    decoded = tok.decode(ids)
    assert isinstance(decoded, str)
    for word in ("a", "b", "c", "lone", "surrogate"):
        if word in text:
            assert word in decoded
    tok.pieces(text)


def test_user_defined_symbols_match_literally(tok):
    assert SEP_ID in tok.encode("hello <sep> there")


def test_decode_rejects_out_of_range_ids(tok):
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([5, tok.vocab_size])
    with pytest.raises(ValueError, match="out of range"):
        tok.id_to_piece(-1)


def test_save_and_load_give_identical_encodings(tok, tmp_path, corpus):
    path = tok.save(tmp_path / "copy")
    assert path == tmp_path / "copy" / MODEL_FILENAME
    assert path.read_bytes() == (tmp_path / "copy" / MODEL_FILENAME).read_bytes()
    for loaded in (Tokenizer.load(tmp_path / "copy"), Tokenizer.load(path)):
        assert loaded.vocab_size == tok.vocab_size
        for text in [*corpus[:10], "emoji \U0001f680 \u4e2d\u6587"]:
            assert loaded.encode(text, add_bos=True) == tok.encode(text, add_bos=True)


def test_training_writes_only_the_model(tmp_path, monkeypatch, corpus):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    Tokenizer.train(iter(corpus), out, vocab_size=350, model_type="bpe", seed=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == [MODEL_FILENAME]


def test_training_is_reproducible(tmp_path, corpus):
    a = Tokenizer.train(corpus, tmp_path / "a", vocab_size=400, seed=7, num_threads=1)
    b = Tokenizer.train(corpus, tmp_path / "b", vocab_size=400, seed=7, num_threads=1)
    assert (tmp_path / "a" / MODEL_FILENAME).read_bytes() == (tmp_path / "b" / MODEL_FILENAME).read_bytes()
    assert a.encode(corpus[0]) == b.encode(corpus[0])


def test_tiny_corpus_gets_a_smaller_vocabulary(tmp_path):
    tok = Tokenizer.train(["one tiny line", "and another"], tmp_path, vocab_size=8000)
    assert 263 < tok.vocab_size < 8000
    assert tok.decode(tok.encode("one tiny line")) == "one tiny line"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_type": "wordpiece"}, "unknown model_type"),
        ({"vocab_size": 100}, "vocab_size must be at least"),
        ({"texts": ["", "   "]}, "training failed|no model"),
    ],
)
def test_bad_training_arguments_raise_value_error(tmp_path, corpus, kwargs, message):
    args = {"texts": corpus, "out_dir": tmp_path, **kwargs}
    with pytest.raises(ValueError, match=message):
        Tokenizer.train(**args)


def test_missing_or_corrupt_model_raises_value_error_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match="nothing.model"):
        Tokenizer.load(tmp_path / "nothing.model")
    with pytest.raises(ValueError, match=MODEL_FILENAME):
        Tokenizer.load(tmp_path)  # a folder without tokenizer.model
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"\x00\x01 this is not a protobuf \xff" * 10)
    with pytest.raises(ValueError, match="bad.model"):
        Tokenizer.load(bad)


def test_foreign_sentencepiece_model_is_rejected(tmp_path, corpus):
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=writer,
        vocab_size=60,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    path = tmp_path / "plain.model"
    path.write_bytes(writer.getvalue())
    with pytest.raises(ValueError, match="not a Parlance tokenizer"):
        Tokenizer.load(path)
