"""History models (``history_turns``): one pass per dialogue, learned speakers, copying."""

import random

import pytest
import torch

from engine.decoding import DecodeOptions
from engine.dialogue.bot import ChatBot
from engine.dialogue.data import (
    DialogueChunk,
    Example,
    collate,
    collate_dialogues,
    dialogue_batches,
    encode_context,
    encode_dialogues,
)
from engine.dialogue.model import BOS_ID, HRED, HREDConfig, sequence_loss

GREEDY = DecodeOptions(method="greedy", repetition_penalty=1.0, block_ngram=0)


def _cfg(**kw):
    base = dict(
        vocab_size=50,
        emb_dim=16,
        utt_hidden=8,
        ctx_hidden=12,
        dec_hidden=12,
        context_turns=2,
        history_turns=6,
        copy=True,
        dropout=0.0,
    )
    base.update(kw)
    return HREDConfig(**base)


def _chunks(seed=0, sizes=(4, 7, 3)):
    rng = random.Random(seed)

    def utt():
        return [rng.randrange(7, 50) for _ in range(rng.randint(1, 5))]

    return [DialogueChunk([utt() for _ in range(n)], [utt() for _ in range(n)]) for n in sizes]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("copy", [True, False])
def test_one_pass_per_dialogue_equals_one_pass_per_reply(cell, copy):
    torch.manual_seed(0)
    m = HRED(_cfg(cell=cell, copy=copy)).eval()
    chunks = _chunks()
    b = collate_dialogues(chunks)
    assert b["rows"].shape[0] == sum(c.n_targets for c in chunks) == 3 + 6 + 2
    with torch.no_grad():
        whole = m.forward_dialogues(b["turns"], b["turn_lens"], b["rows"], b["dec_in"], b["dec_lens"])
        picked = m.forward_dialogues(
            b["turns"], b["turn_lens"], b["rows"], b["dec_in"], b["dec_lens"], targets=b["dec_out"]
        )
        for r, (d, t) in enumerate(b["rows"].tolist()):
            x = collate([Example(chunks[d].ctx[:t], chunks[d].tgt[t])])
            alone = m(x["ctx"], x["ctx_lens"], x["dec_in"], x["dec_lens"])[0]
            T = alone.shape[0]
            assert torch.allclose(alone, whole[r, :T], atol=1e-5)
        # the target-only path (training's) gives the same log p(target) and the same loss
        gathered = whole.gather(-1, b["dec_out"].unsqueeze(-1)).squeeze(-1)
        mask = b["dec_out"] != 0
        if copy:
            assert torch.allclose(gathered[mask], picked[mask], atol=1e-5)
        assert sequence_loss(whole, b["dec_out"])[0] == pytest.approx(
            float(sequence_loss(picked, b["dec_out"])[0]), rel=1e-5
        )


def test_copy_distribution_is_normalised_and_can_only_copy_what_was_said():
    torch.manual_seed(0)
    m = HRED(_cfg()).eval()
    with torch.no_grad():
        m.gen_gate.bias.fill_(-30.0)  # p_gen ≈ 0: every bit of mass comes from copying
        m.gen_gate.weight.zero_()
        ctx = collate([Example([[11, 12], [13, 14, 15], [16, 17]], [20])])
        state = m.start_state(ctx["ctx"], ctx["ctx_lens"])
        logits, _, attn = m.step(torch.tensor([BOS_ID]), state)
    p = logits.exp()[0]
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-4)
    # word attention covers the last context_turns (2) turns only, and copies come from them only
    assert set(torch.nonzero(p > 1e-6).flatten().tolist()) <= {13, 14, 15, 16, 17}
    assert float(attn["word"][0, : ctx["ctx"].shape[2]].sum()) == 0.0
    assert float(attn["turn"][0].sum()) == pytest.approx(1.0, abs=1e-5)


def test_speakers_are_told_apart_by_position():
    torch.manual_seed(0)
    m = HRED(_cfg(copy=False)).eval()
    # the same two turns, said by the other person then the replier, or the other way round
    a = collate([Example([[11, 12], [13, 14], [15, 16]], [20])])
    b = collate([Example([[13, 14], [15, 16]], [20])])
    with torch.no_grad():
        ca = m.encode(a["ctx"], a["ctx_lens"])["context"]
        cb = m.encode(b["ctx"], b["ctx_lens"])["context"]
        m.speaker.weight.zero_()
        cb0 = m.encode(b["ctx"], b["ctx_lens"])["context"]
    assert not torch.allclose(ca, cb) and not torch.allclose(cb, cb0)


def test_long_dialogues_are_chunked_so_each_reply_is_a_target_once(tmp_path):
    from dialogue_fixtures import TINY_DIALOGUES

    from engine.dialogue.data import prep
    from engine.text.tokenizer import UNK_ID, Tokenizer

    texts = [prep(t) for d in TINY_DIALOGUES for t in d] * 5
    tok = Tokenizer.train(texts, tmp_path, vocab_size=300, seed=0)
    long = [f"turn number {i}" for i in range(11)]
    chunks = encode_dialogues(tok, [long, ["hi", ""]], history_turns=3, max_utt_tokens=4, max_reply_tokens=5)
    # 11 turns, windows of 4 overlapping by one: turns 0-3, 3-6, 6-9, 9-10; then "hi"/"" gives none
    assert [len(c.ctx) for c in chunks] == [4, 4, 4, 2]
    assert sum(c.n_targets for c in chunks) == 10
    assert all(len(u) <= 4 for c in chunks for u in c.ctx) and all(len(t) <= 5 for c in chunks for t in c.tgt)
    # a context turn keeps its last pieces, a target its first: the same as the per-reply encoding
    assert chunks[0].ctx[1] == encode_context(tok, [long[1]], 1, 4, markers=False)[0]
    assert chunks[0].tgt[1] == tok.encode(prep(long[1]))[:5]
    assert encode_context(tok, [""], 1, 4, markers=False) == [[UNK_ID]]
    batches = dialogue_batches(chunks * 10, max_targets=7, seed=0)
    assert sum(len(b) for b in batches) == 40 and all(sum(c.n_targets for c in b) >= 1 for b in batches)


def test_a_reply_cut_at_the_length_limit_is_not_taught_to_end_there(tmp_path):
    from dialogue_fixtures import TINY_DIALOGUES

    from engine.dialogue.data import encode_examples, prep
    from engine.text.tokenizer import EOS_ID, PAD_ID, Tokenizer

    texts = [prep(t) for d in TINY_DIALOGUES for t in d] * 5
    tok = Tokenizer.train(texts, tmp_path, vocab_size=300, seed=0)
    short, long = "hi", "one two three four five six seven eight nine ten"
    assert len(tok.encode(short)) <= 4 < len(tok.encode(long))
    xs = encode_examples(tok, [(["hello"], short), (["hello"], long)], 1, 4, max_reply_tokens=4)
    assert [x.ends for x in xs] == [True, False]
    b = collate(xs)
    n_short = len(xs[0].target)
    assert b["dec_out"][0, n_short] == EOS_ID  # a whole reply ends with EOS
    assert b["dec_out"][1, :4].tolist() == xs[1].target and b["dec_out"][1, 4] == PAD_ID  # a cut one does not
    # the one-pass-per-dialogue batches agree target for target
    chunks = encode_dialogues(
        tok, [["hello", short, long]], history_turns=4, max_utt_tokens=4, max_reply_tokens=4
    )
    d = collate_dialogues(chunks)
    assert d["dec_out"].tolist() == b["dec_out"].tolist()
    # and the loss skips the missing EOS: only the real pieces count
    logits = torch.zeros(2, b["dec_out"].shape[1], 300)
    assert sequence_loss(logits, b["dec_out"])[1] == n_short + 1 + 4


def test_a_history_copy_model_trains_end_to_end_and_answers(tmp_path):
    from dialogue_fixtures import TINY_DIALOGUES

    from engine.dialogue.corpus import Dialogue, examples
    from engine.dialogue.evaluate import evaluate
    from engine.dialogue.run import DialogueRunConfig, run_dialogue

    dialogues = [Dialogue(f"d{i}", tuple(t)) for i, t in enumerate(TINY_DIALOGUES * 4)]
    model = dict(
        emb_dim=32,
        utt_hidden=32,
        ctx_hidden=48,
        dec_hidden=48,
        dropout=0.0,
        context_turns=2,
        history_turns=8,
        copy=True,
        max_utt_tokens=16,
        max_reply_tokens=24,
    )
    cfg = DialogueRunConfig(
        corpus="given",
        epochs=150,
        batch_size=18,
        lr=1e-2,
        eval_every=50,
        patience=0,
        vocab_size=300,
        word_vectors="none",
        threads=1,
        model=model,
    )
    summary = run_dialogue(cfg, tmp_path / "m", dialogues)
    assert summary["best_val_ppl"] < 2.0  # repeated dialogues: validation ones were seen in training
    bot = ChatBot.load(tmp_path / "m")
    assert bot.context_turns == 8
    r = bot.reply(["do you like music", "yes i love jazz", "who is your favourite"], GREEDY)
    assert r.text.lower() == "miles davis of course"
    # word attention is shown over the turns it covers only (the last two)
    assert r.context_turn and min(r.context_turn) == 1 and len(r.word_attention[0]) == len(r.context_tokens)
    res = evaluate(bot, list(examples(dialogues[:6], bot.context_turns)), n_sources=10)
    assert res["per_token_perplexity"] < 2.0
