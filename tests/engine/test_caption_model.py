"""Captioner model: encoder shapes, attention, overfitting a tiny generated image set, beam search."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.batch_search import beam_search, greedy_search
from engine.caption.captioner import Captioner, caption_options
from engine.caption.decoder import AttentionDecoder, CaptionerConfig
from engine.caption.encoder import EncoderConfig, ImageEncoder, normalize, weights_path
from engine.caption.model import CaptionModel
from engine.caption.train import caption_loss, make_batch
from engine.caption.vocab import Vocab, tokenize
from engine.decoding import DecodeOptions


def shape_images() -> tuple[np.ndarray, list[str]]:
    """Four 224x224 pictures of coloured shapes and a caption for each."""
    specs = [
        ("red", (220, 30, 30), "circle"),
        ("blue", (30, 30, 220), "square"),
        ("green", (30, 170, 30), "circle"),
        ("yellow", (230, 220, 30), "square"),
    ]
    arrays, caps = [], []
    for name, rgb, shape in specs:
        img = Image.new("RGB", (224, 224), (255, 255, 255))
        d = ImageDraw.Draw(img)
        (d.ellipse if shape == "circle" else d.rectangle)([50, 50, 170, 170], fill=rgb)
        arrays.append(np.asarray(img))
        caps.append(f"a {name} {shape} on a white background")
    return np.stack(arrays), caps


def tiny_cfg(vocab: Vocab, **kw) -> CaptionerConfig:
    base = dict(vocab_size=len(vocab), region_dim=32, embed_dim=16, hidden_dim=32, attn_dim=16, dropout=0.0)
    base.update(kw)
    return CaptionerConfig(**base)


def test_weights_come_from_the_installed_package():
    assert weights_path().endswith(".pth")
    import os

    assert os.path.getsize(weights_path()) > 10_000_000


def test_encoder_grid_shape_and_frozen():
    enc = ImageEncoder(EncoderConfig())
    images, _ = shape_images()
    with torch.no_grad():
        feats = enc(normalize(images[:2]))
    assert feats.shape == (2, 49, 1280)
    assert torch.isfinite(feats).all()
    assert not any(p.requires_grad for p in enc.parameters())
    assert not torch.allclose(feats[0], feats[1])  # a red circle and a blue square differ


def test_encoder_fine_tune_top_blocks_trainable_with_frozen_batchnorm():
    enc = ImageEncoder(EncoderConfig(fine_tune_blocks=2), pretrained=False)
    trainable = {n.split(".")[0] for n, p in enc.named_parameters() if p.requires_grad}
    assert trainable == {"top"}
    assert enc.trunk_channels == 192
    assert all(not m.training for m in enc.modules())
    enc.train()
    assert all(not m.training for m in enc.modules())  # BatchNorm statistics never move
    with pytest.raises(ValueError, match="fine_tune_blocks"):
        ImageEncoder(EncoderConfig(fine_tune_blocks=16), pretrained=False)


def test_fast_attention_equals_engine_nn_attention():
    torch.manual_seed(0)
    v = Vocab(["a", "b", "c"])
    dec = AttentionDecoder(tiny_cfg(v, gate=False))
    feats = torch.randn(3, 49, 1280)
    prep = dec.prepare(feats)
    h = torch.randn(3, 32)
    ctx, alpha = dec.context(h, prep["regions"], prep["keys"], prep["mean"])
    ref_ctx, ref_alpha = dec.attend(h, prep["regions"])
    torch.testing.assert_close(alpha, ref_alpha)
    torch.testing.assert_close(ctx, ref_ctx)


def test_teacher_forced_attention_sums_to_one_per_step():
    torch.manual_seed(0)
    v = Vocab(["a", "b", "c", "d"])
    dec = AttentionDecoder(tiny_cfg(v))
    tokens = torch.tensor([[1, 4, 5, 6, 2, 0], [1, 7, 2, 0, 0, 0], [1, 4, 4, 4, 4, 2]])
    logits, attn = dec(torch.randn(2, 49, 1280), tokens, image_index=torch.tensor([0, 1, 1]))
    assert logits.shape == (3, 5, len(v)) and attn.shape == (3, 5, 49)
    steps = tokens[:, 1:] != 0  # predicted positions
    torch.testing.assert_close(attn.sum(-1)[steps], torch.ones(int(steps.sum())))
    assert (attn.sum(-1)[~steps] == 0).all()
    # captions of one image are decoded independently of batch order
    l2, _ = dec(torch.randn(2, 49, 1280) * 0 + 1, tokens[[2, 0]], image_index=torch.tensor([1, 0]))
    l1, _ = dec(torch.randn(2, 49, 1280) * 0 + 1, tokens[[0, 2]], image_index=torch.tensor([0, 1]))
    torch.testing.assert_close(l1[0], l2[1])


def test_gradients_reach_decoder_and_fine_tuned_top():
    torch.manual_seed(0)
    v = Vocab(["a", "b", "c"])
    model = CaptionModel(tiny_cfg(v, fine_tune_blocks=1), pretrained_encoder=False)
    batch = make_batch(
        np.random.default_rng(0).normal(size=(2, model.trunk_channels, 7, 7)).astype(np.float16),
        np.array([0, 1]),
        [[[1, 4, 5, 2]], [[1, 6, 2], [1, 4, 2]]],
        np.array([0, 1]),
        "cpu",
    )
    loss, n = caption_loss(model, batch)
    loss.backward()
    assert n == 3 + 2 + 2
    assert model.decoder.lstm.weight_ih.grad.abs().sum() > 0
    assert model.top.conv_head.weight.grad.abs().sum() > 0
    assert model.top.bn1.weight.grad is None  # BatchNorm frozen


@pytest.mark.slow
def test_decoder_overfits_generated_shapes_to_exact_captions():
    torch.manual_seed(0)
    images, caps = shape_images()
    vocab = Vocab.build(caps, min_count=1)
    model = CaptionModel(tiny_cfg(vocab, region_dim=64, hidden_dim=64), pretrained_encoder=True)
    with torch.no_grad():
        trunk = model.trunk(normalize(images)).numpy()  # (4, 320, 7, 7): the real encoder's view
    toks = [[vocab.encode(c)] for c in caps]
    batch = make_batch(trunk, np.arange(4), toks, np.arange(4), "cpu")
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    model.train()
    for _ in range(150):
        loss, _ = caption_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    cap = Captioner(model, vocab)
    got = [c.text for c in cap.caption_arrays(images, caption_options(1), block_repeats=False)]
    assert got == [" ".join(tokenize(c)) for c in caps]
    got3 = cap.caption_arrays(images, caption_options(3), block_repeats=False)
    assert [c.text for c in got3] == got
    for c in got3:
        assert c.attention.shape == (len(c.words), 7, 7)
        np.testing.assert_allclose(c.attention.sum(axis=(1, 2)), 1.0, atol=1e-5)
    fast = Captioner(model, vocab, precision="bf16")  # a bf16 copy of the decoder; the model is untouched
    assert [c.text for c in fast.caption_arrays(images, caption_options(3), block_repeats=False)] == got
    assert model.decoder.out.weight.dtype == torch.float32
    with pytest.raises(ValueError, match="precision"):
        Captioner(model, vocab, precision="fp8")


def _random_step(V: int, seed: int):
    """A Markov 'model': log-probs depend on the previous token only."""
    g = torch.Generator().manual_seed(seed)
    table = torch.log_softmax(torch.randn(V, V, generator=g) * 2, dim=-1)  # (V, V)

    def step(tokens, state):
        return table[tokens], {"n": state["n"] + 1}, torch.full((tokens.shape[0], 4), 0.25)

    return step, table


def _opts(**kw) -> DecodeOptions:
    base = dict(
        method="beam",
        beam_size=3,
        max_len=4,
        min_len=0,
        length_penalty=0.0,
        block_ngram=0,
        ban_unk=False,
        repetition_penalty=1.0,
    )
    base.update(kw)
    return DecodeOptions(**base)


@pytest.mark.parametrize("seed", range(5))
def test_beam_one_equals_greedy(seed):
    torch.manual_seed(seed)
    v = Vocab([f"w{i}" for i in range(30)])
    dec = AttentionDecoder(tiny_cfg(v)).eval()
    feats = torch.randn(4, 49, 1280)
    static, state = dec.start(feats, repeat=1)

    def step(tokens, st):
        return dec.step(tokens, st, static)

    opts = _opts(beam_size=1, max_len=12, min_len=1, block_ngram=3)
    greedy = greedy_search(step, state, batch=4, bos=1, eos=2, options=opts, ban=(0, 1))
    beam = beam_search(step, state, batch=4, bos=1, eos=2, options=opts, ban=(0, 1))
    for g, b in zip(greedy, beam):
        assert b[0].tokens == g.tokens
        assert b[0].logprob == pytest.approx(g.logprob, abs=1e-4)
        torch.testing.assert_close(b[0].attention, g.attention)


def test_wide_beam_finds_the_exact_best_sequence():
    V, eos, max_len = 5, 2, 3
    for seed in range(4):
        step, table = _random_step(V, seed)
        words = [t for t in range(V) if t not in (1, eos)]
        best = -math.inf
        for n in range(0, max_len + 1):  # brute force over every finished sequence
            for seq in itertools.product(words, repeat=n):
                prev, lp = 1, 0.0
                for t in (*seq, eos):
                    lp += float(table[prev, t])
                    prev = t
                best = max(best, lp)
        opts = _opts(beam_size=60, max_len=max_len + 1)
        hyps = beam_search(step, {"n": torch.zeros(60)}, batch=1, bos=1, eos=eos, options=opts, ban=(1,))[0]
        finished = [h for h in hyps if h.finished]
        assert finished[0].logprob == pytest.approx(best, abs=1e-5)
        assert all(a.score >= b.score for a, b in zip(hyps, hyps[1:]))


def test_beam_beats_greedy_on_a_garden_path():
    # from <start>: "a" 0.6, "b" 0.4; after "a" every continuation is poor; after "b", <end> 0.9
    V = 5
    p = torch.full((V, V), 1e-6)
    p[1, 3], p[1, 4] = 0.6, 0.4
    p[3, 3], p[3, 4], p[3, 2] = 0.35, 0.35, 0.3
    p[4, 2], p[4, 3] = 0.9, 0.1
    table = torch.log(p / p.sum(-1, keepdim=True))

    def step(tokens, state):
        return table[tokens], state, torch.ones(tokens.shape[0], 1)

    g = greedy_search(step, {"x": torch.zeros(1)}, batch=1, bos=1, eos=2, options=_opts(beam_size=1))[0]
    b = beam_search(step, {"x": torch.zeros(2)}, batch=1, bos=1, eos=2, options=_opts(beam_size=2))[0]
    assert g.tokens[0] == 3
    assert b[0].tokens == [4] and b[0].logprob == pytest.approx(math.log(0.4 * 0.9), abs=1e-4)


def test_ngram_and_word_repeat_blocking():
    V = 6

    def step(tokens, state):  # always prefers token 3, then 4
        lp = torch.log_softmax(torch.tensor([-9.0, -9.0, -5.0, 3.0, 2.0, 1.0]), -1)
        return lp.expand(tokens.shape[0], V), state, torch.ones(tokens.shape[0], 1)

    st = {"x": torch.zeros(1)}
    plain = greedy_search(step, st, batch=1, bos=1, eos=2, options=_opts(max_len=6))[0]
    assert plain.tokens == [3] * 6
    tri = greedy_search(step, st, batch=1, bos=1, eos=2, options=_opts(max_len=6, block_ngram=2))[0]
    assert len({tuple(tri.tokens[i : i + 2]) for i in range(len(tri.tokens) - 1)}) == len(tri.tokens) - 1
    no_rep = torch.tensor([False, False, False, True, True, False])
    once = greedy_search(step, st, batch=1, bos=1, eos=2, options=_opts(max_len=6), no_repeat=no_rep)[0]
    assert once.tokens[:2] == [3, 4] and once.tokens.count(3) == 1 and once.tokens.count(4) == 1


def test_length_penalty_prefers_longer_finished_captions():
    V = 6
    p = torch.full((V, V), 1e-9)
    p[1, 3], p[1, 2] = 0.5, 0.5  # "<end>" right away or "a"
    p[3, 4], p[3, 2] = 0.9, 0.1
    p[4, 5] = 1.0
    p[5, 2] = 1.0
    table = torch.log(p / p.sum(-1, keepdim=True))

    def step(tokens, state):
        return table[tokens], state, torch.ones(tokens.shape[0], 1)

    st = {"x": torch.zeros(3)}
    short = beam_search(step, st, batch=1, bos=1, eos=2, options=_opts(max_len=5))[0][0]
    long = beam_search(step, st, batch=1, bos=1, eos=2, options=_opts(max_len=5, length_penalty=2.0))[0][0]
    assert short.tokens == [] and long.tokens == [3, 4, 5]


def test_word_vectors_initialise_the_embedding(tmp_path):
    from engine.caption.train import init_word_vectors

    caps = ["a red ball on the grass", "a blue ball on the sand", "a dog runs on the grass"] * 20
    vocab = Vocab.build(caps, min_count=1)
    model = CaptionModel(tiny_cfg(vocab), pretrained_encoder=False)
    before = model.decoder.embed.weight.detach().clone()
    found = init_word_vectors(model, vocab, "captions", [tokenize(c) for c in caps], seed=0)
    after = model.decoder.embed.weight.detach()
    assert found == len(vocab) - 4
    assert not torch.allclose(before[4:], after[4:]) and torch.equal(before[:4], after[:4])
    torch.testing.assert_close(after[4:].norm(dim=1), before[4:].norm(dim=1))  # the init scale is kept
    txt = tmp_path / "vectors.txt"
    txt.write_text("2 3\nred 1 0 0\nball 0 1 0\n")
    with pytest.raises(ValueError, match="3 dims"):
        init_word_vectors(model, vocab, str(txt), [], seed=0)


def test_an_ensemble_averages_its_members_word_probabilities(tmp_path):
    from engine.caption.ensemble import main as ensemble_main
    from engine.caption.model import load, save

    images, caps = shape_images()
    vocab = Vocab.build(caps, min_count=1)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(CaptionModel(tiny_cfg(vocab, fine_tune_blocks=1), pretrained_encoder=True).eval())
    a, b = models
    both = Captioner(a, vocab, members=[b])
    regions = both.encode(images[:2])
    assert both.n_members == 2 and regions.shape == (2, 49, 2 * 1280)
    torch.testing.assert_close(regions[..., :1280], Captioner(a, vocab).encode(images[:2]))
    torch.testing.assert_close(regions[..., 1280:], Captioner(b, vocab).encode(images[:2]))
    # one step by hand: log of the mean of the two members' probabilities, attention averaged
    step, state = both._stepper(regions, 1)
    tokens = torch.full((2,), vocab.bos_id)
    logp, _, att = step(tokens, state)
    parts = []
    for m, r in ((a, regions[..., :1280]), (b, regions[..., 1280:])):
        static, st = m.decoder.start(r, repeat=1)
        parts.append(m.decoder.step(tokens, st, static))
    want = torch.log((parts[0][0].exp() + parts[1][0].exp()) / 2)
    torch.testing.assert_close(logp, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(att, (parts[0][2] + parts[1][2]) / 2)
    np.testing.assert_allclose(logp.detach().exp().sum(-1).numpy(), 1.0, atol=1e-5)
    # a member twice is the member alone
    twice = Captioner(a, vocab, members=[a])
    alone = Captioner(a, vocab)
    opts = caption_options(3)
    assert [c.text for c in twice.caption_arrays(images, opts)] == [
        c.text for c in alone.caption_arrays(images, opts)
    ]
    # saved as an ensemble folder (fp16) and loaded back whole, through the command line
    for name, m in (("a", a), ("b", b)):
        save(tmp_path / name, m, vocab)
    assert ensemble_main(["--out", str(tmp_path / "ab"), str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    loaded = Captioner.from_folder(tmp_path / "ab", precision="fp32")
    assert loaded.n_members == 2 and load(tmp_path / "ab")[2]["extra"]["ensemble"] == ["members/m1"]
    got = [c.text for c in loaded.caption_arrays(images, opts)]
    assert got == [c.text for c in Captioner(a, vocab, members=[b]).caption_arrays(images, opts)]
    other = Vocab.build(["a different word list"], min_count=1)
    save(tmp_path / "c", CaptionModel(tiny_cfg(other), pretrained_encoder=True), other)
    assert ensemble_main(["--out", str(tmp_path / "bad"), str(tmp_path / "a"), str(tmp_path / "c")]) == 2


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_decode_batch_agrees_with_the_per_input_decoder(method):
    """engine.decoding.decode_batch (all inputs at once) finds what engine.decoding.decode finds
    input by input on a Markov model, and refuses sampling."""
    from engine.decoding import decode, decode_batch

    V, K = 7, (1 if method == "greedy" else 3)
    step, table = _random_step(V, 3)
    opts = _opts(method=method, beam_size=K, max_len=6)

    def plain_step(tokens, state):  # decode() takes logits and an attention dict
        return table[tokens], state, {}

    batched = decode_batch(step, {"n": torch.zeros(2 * K)}, batch=2, bos=1, eos=2, options=opts, ban=(0, 1))
    for i in range(2):
        one = decode(plain_step, {"n": torch.zeros(1)}, batch=1, bos=1, eos=2, options=opts)[0][0]
        assert batched[i][0].tokens == list(one.tokens)
        assert batched[i][0].logprob == pytest.approx(one.score, abs=1e-4)
    with pytest.raises(ValueError, match="sample"):
        decode_batch(step, {"n": torch.zeros(2)}, batch=2, bos=1, eos=2, options=_opts(method="sample"))
