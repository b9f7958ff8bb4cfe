"""HRED: shapes, masks, attention, overfitting, decoding equivalences, save/load, bad input."""

import math

import pytest
import torch

from engine.decoding import CancelToken, DecodeOptions, decode
from engine.dialogue.bot import ChatBot
from engine.dialogue.data import Example, collate
from engine.dialogue.model import BOS_ID, EOS_ID, HRED, HREDConfig, sequence_loss


def _batch():
    ex = [
        Example([[5, 9, 10, 11], [6, 12]], [13, 14, 15]),
        Example([[5, 20]], [16]),
        Example([[6, 21, 22], [5, 23, 24, 25, 26], [6, 27]], [17, 18]),
    ]
    return collate(ex)


@pytest.mark.parametrize("cell", ["gru", "lstm", "peephole_lstm"])
@pytest.mark.parametrize("hier", [True, False])
def test_forward_shapes_and_finite_gradients(cell, hier):
    torch.manual_seed(0)
    cfg = HREDConfig(
        vocab_size=40, emb_dim=8, utt_hidden=8, ctx_hidden=12, dec_hidden=12, cell=cell, hierarchical=hier
    )
    m = HRED(cfg)
    b = _batch()
    logits = m(b["ctx"], b["ctx_lens"], b["dec_in"], b["dec_lens"])
    assert logits.shape == (3, b["dec_in"].shape[1], 40)
    loss, n = sequence_loss(logits, b["dec_out"])
    assert n == 3 + 1 + 1 + 1 + 2 + 1  # target pieces plus one EOS each
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_attention_sums_to_one_and_is_zero_on_padding():
    torch.manual_seed(0)
    m = HRED(
        HREDConfig(vocab_size=40, emb_dim=8, utt_hidden=8, ctx_hidden=12, dec_hidden=12, dropout=0.0)
    ).eval()
    b = _batch()
    with torch.no_grad():
        state = m.start_state(b["ctx"], b["ctx_lens"])
        _, _, attn = m.step(torch.full((3,), BOS_ID), state)
    word, turn = attn["word"], attn["turn"]
    assert torch.allclose(word.sum(-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(turn.sum(-1), torch.ones(3), atol=1e-5)
    assert torch.all(word[~state["wmask"]] == 0)
    assert torch.all(turn[~state["umask"]] == 0)
    # the second example has one turn of two pieces: all its word attention lies there
    L = b["ctx"].shape[2]
    assert float(word[1, :2].sum()) == pytest.approx(1.0, abs=1e-5) and float(word[1, L:].sum()) == 0


def test_padding_does_not_change_the_result():
    torch.manual_seed(0)
    m = HRED(
        HREDConfig(vocab_size=40, emb_dim=8, utt_hidden=8, ctx_hidden=12, dec_hidden=12, dropout=0.0)
    ).eval()
    alone = collate([Example([[5, 20]], [16])])
    padded = _batch()  # same example at index 1, padded to 3 turns and longer turns/targets
    torch.set_grad_enabled(False)
    la = m(alone["ctx"], alone["ctx_lens"], alone["dec_in"], alone["dec_lens"])
    lp = m(padded["ctx"], padded["ctx_lens"], padded["dec_in"], padded["dec_lens"])
    torch.set_grad_enabled(True)
    assert torch.allclose(la[0, :2], lp[1, :2], atol=1e-5)


def test_tiny_model_overfits_and_answers(tiny_dialogue_model, monkeypatch):
    import json

    import engine.dialogue.bot as bot_module

    # it learnt its one-message dialogues as they are: no opening exchange (bot.OPENING) before them
    monkeypatch.setattr(bot_module, "opened", lambda turns: turns)
    bot = ChatBot.load(tiny_dialogue_model)
    r = bot.reply(
        ["what is your name"], DecodeOptions(method="greedy", repetition_penalty=1.0, block_ngram=0)
    )
    assert r.text.lower().rstrip(".") == "my name is parlance"
    r2 = bot.reply(
        ["do you like music", "yes i love jazz", "who is your favourite"],
        DecodeOptions(method="greedy", repetition_penalty=1.0, block_ngram=0),
    )
    assert r2.text.lower() == "miles davis of course"
    # attention comes back for every generated piece, over real context pieces and turns
    assert len(r2.word_attention) == r2.n_tokens == len(r2.out_tokens)
    assert all(len(row) == len(r2.context_tokens) for row in r2.word_attention)
    assert all(abs(sum(row) - 1) < 1e-4 for row in r2.turn_attention)
    assert len(r2.turn_labels) == 3 and r2.turn_labels[-1].startswith("you:")
    meta = json.loads((tiny_dialogue_model / "config.json").read_text())
    assert meta["kind"] == "dialogue" and meta["schema_version"] == 2


def test_overfit_reaches_near_zero_loss(tiny_dialogue_model):
    # the fixture trains on one batch of 18 (context, reply) pairs until the loss is below 0.02
    assert float((tiny_dialogue_model / "train_loss.txt").read_text()) < 0.02


def test_beam_one_equals_greedy_and_streaming_equals_batch(tiny_dialogue_model):
    bot = ChatBot.load(tiny_dialogue_model)
    turns = ["hello there", "hi how are you", "i am fine thanks"]
    g = bot.reply(turns, DecodeOptions(method="greedy", repetition_penalty=1.3, block_ngram=2))
    b = bot.reply(
        turns,
        DecodeOptions(method="beam", beam_size=1, length_penalty=0.0, repetition_penalty=1.3, block_ngram=2),
    )
    assert g.text == b.text
    pieces = []
    s = bot.reply(
        turns, DecodeOptions(method="greedy", repetition_penalty=1.3, block_ngram=2), on_token=pieces.append
    )
    assert "".join(pieces).strip() == s.text == g.text


def test_beam_search_scores_and_sampling_seed(tiny_dialogue_model):
    bot = ChatBot.load(tiny_dialogue_model)
    x, lens, *_ = bot.prepare(["tell me a joke"])
    state = bot.model.start_state(x, lens)
    hyps = decode(
        bot.model.step,
        state,
        batch=1,
        bos=BOS_ID,
        eos=EOS_ID,
        options=DecodeOptions(method="beam", beam_size=4),
        n_best=3,
    )[0]
    assert len(hyps) == 3
    norm = [h.score / ((5 + len(h.tokens)) / 6) ** 0.6 for h in hyps]
    assert norm == sorted(norm, reverse=True) and all(s <= 0 for s in norm)
    opts = DecodeOptions(method="sample", temperature=1.0, top_k=5, top_p=0.9, seed=3)
    assert bot.reply(["tell me a joke"], opts).text == bot.reply(["tell me a joke"], opts).text


def test_ngram_blocking_and_min_len(tiny_dialogue_model):
    bot = ChatBot.load(tiny_dialogue_model)
    r = bot.reply(
        ["what time is it"],
        DecodeOptions(method="greedy", min_len=12, max_len=20, block_ngram=2, repetition_penalty=1.0),
    )
    assert r.n_tokens >= 12
    toks = r.out_tokens
    bigrams = [tuple(toks[i : i + 2]) for i in range(len(toks) - 1)]
    assert len(bigrams) == len(set(bigrams))


def test_cancel_keeps_partial_reply(tiny_dialogue_model):
    bot = ChatBot.load(tiny_dialogue_model)
    cancel = CancelToken()
    seen = []

    def on_token(piece):
        seen.append(piece)
        if len(seen) == 2:
            cancel.cancel()

    r = bot.reply(
        ["tell me a joke"], DecodeOptions(method="greedy", min_len=6), on_token=on_token, cancel=cancel
    )
    assert r.stopped and r.n_tokens == 2


def test_save_load_gives_identical_replies(tiny_dialogue_model, tmp_path):
    import shutil

    from engine import checkpoint

    bot = ChatBot.load(tiny_dialogue_model)
    copy = tmp_path / "copy"
    checkpoint.save(
        copy, "dialogue", 1, bot.model.cfg, bot.model.state_dict(), extra={"tokenizer": "tokenizer.model"}
    )
    shutil.copy(tiny_dialogue_model / "tokenizer.model", copy / "tokenizer.model")
    again = ChatBot.load(copy)
    for q in (["hello there"], ["where do you live", "i live in a computer", "is it warm in there"]):
        assert again.reply(q).text == bot.reply(q).text


def test_bad_inputs(tiny_dialogue_model, tmp_path):
    import shutil
    import time

    bot = ChatBot.load(tiny_dialogue_model)
    with pytest.raises(ValueError, match="empty"):
        bot.reply(["   "])
    t0 = time.perf_counter()
    huge = bot.reply(["hello there " * 10000])
    assert time.perf_counter() - t0 < 5 and huge.n_tokens >= 1
    assert isinstance(bot.reply(["😀 こんにちは \x00\x07 \u202e"]).text, str)
    # a damaged model folder names the file at fault
    bad = tmp_path / "bad"
    shutil.copytree(tiny_dialogue_model, bad)
    data = (bad / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.safetensors"):
        ChatBot.load(bad)
    (bad / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        ChatBot.load(bad)
    with pytest.raises(ValueError, match="not found"):
        ChatBot.load(tmp_path / "nowhere")


def test_evaluation_metrics_on_tiny_model(tiny_dialogue_model):
    from dialogue_fixtures import tiny_pairs

    from engine.dialogue.evaluate import diversity, evaluate

    bot = ChatBot.load(tiny_dialogue_model)
    res = evaluate(bot, tiny_pairs(3), n_sources=300)
    assert res["n_targets"] == 18 and res["n_sources"] == 18
    assert 1.0 <= res["per_token_perplexity"] < 1.5  # the model has memorised its data
    assert math.isfinite(res["per_word_perplexity"])
    d = diversity(["a b c", "a b c", "a d"])
    assert d["distinct_1"] == pytest.approx(4 / 8) and d["distinct_2"] == pytest.approx(3 / 5)
    assert d["top_reply_share"] == pytest.approx(2 / 3) and d["mean_reply_length"] == pytest.approx(8 / 3)
