"""Attention: masked weights, every score's maths and gradients, the Luong attentional state."""

from __future__ import annotations

import pytest
import torch

from engine.nn.attention import SCORES, Attention, LuongOutput, masked_softmax

B, S, T, HQ, HK = 3, 5, 4, 6, 6


def _data(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, HQ, dtype=torch.float64, generator=g)
    k = torch.randn(B, S, HK, dtype=torch.float64, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    return q, k, mask


def _attn(score: str, qd: int = HQ, kd: int = HK) -> Attention:
    torch.manual_seed(0)
    return Attention(qd, kd, score=score, attn_dim=7).double()


@pytest.mark.parametrize("score", list(SCORES))
def test_weights_sum_to_one_and_are_zero_on_padding(score):
    attn = _attn(score)
    q, k, mask = _data()
    ctx, w = attn.forward_seq(q, k, mask)
    assert ctx.shape == (B, T, HK) and w.shape == (B, T, S)
    torch.testing.assert_close(w[:2].sum(-1), torch.ones(2, T, dtype=torch.float64))
    assert (w[1, :, 2:] == 0).all(), "padding must get exactly zero weight"
    # a row with no valid key: zero weights and a zero context, never NaN
    assert (w[2] == 0).all() and (ctx[2] == 0).all()
    torch.testing.assert_close(ctx, w @ k)
    # whatever sits in the padded keys does not matter
    k2 = k.clone()
    k2[1, 2:] = 1e3
    k2[2] = -1e3
    ctx2, w2 = attn.forward_seq(q, k2, mask)
    torch.testing.assert_close(ctx2, ctx)
    torch.testing.assert_close(w2, w)


@pytest.mark.parametrize("score", list(SCORES))
def test_single_query_form_equals_sequence_form(score):
    attn = _attn(score)
    q, k, mask = _data()
    ctx, w = attn.forward_seq(q, k, mask)
    for t in range(T):
        c1, w1 = attn(q[:, t], k, mask)
        torch.testing.assert_close(c1, ctx[:, t])
        torch.testing.assert_close(w1, w[:, t])


@pytest.mark.parametrize("score", list(SCORES))
def test_gradcheck_every_score(score):
    attn = _attn(score, qd=3, kd=3)
    q = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda a, b: attn.forward_seq(a, b, mask), (q, k))
    # parameters receive finite gradients even with a fully padded row
    ctx, w = attn.forward_seq(q, k, mask)
    (ctx.sum() + w.sum()).backward()
    for p in attn.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert torch.isfinite(q.grad).all() and torch.isfinite(k.grad).all()


def test_scores_follow_their_formulas():
    q, k, _ = _data()
    h, hs = q[:, 0], k  # (B, Hq), (B, S, Hk)
    dot = _attn("dot")
    torch.testing.assert_close(dot.scorer(q, k)[:, 0], torch.einsum("bh,bsh->bs", h, hs))
    gen = _attn("general")
    W = gen.scorer.W_a.weight  # (Hk, Hq)
    torch.testing.assert_close(gen.scorer(q, k)[:, 0], torch.einsum("bq,kq,bsk->bs", h, W, hs))
    cat = _attn("concat")
    pairs = torch.cat([h.unsqueeze(1).expand(-1, S, -1), hs], dim=-1)  # (B, S, Hq + Hk), literally [h; h̄]
    want = cat.scorer.v_a(torch.tanh(cat.scorer.W_a(pairs))).squeeze(-1)
    torch.testing.assert_close(cat.scorer(q, k)[:, 0], want)
    add = _attn("additive")
    sc = add.scorer
    want = sc.v(torch.tanh(sc.W_q(h).unsqueeze(1) + sc.W_k(hs))).squeeze(-1)
    torch.testing.assert_close(add.scorer(q, k)[:, 0], want)


def test_unmasked_is_plain_softmax():
    attn = _attn("general")
    q, k, _ = _data()
    _, w = attn.forward_seq(q, k)
    torch.testing.assert_close(w, torch.softmax(attn.scorer(q, k), dim=-1))
    torch.testing.assert_close(masked_softmax(torch.zeros(2, 3), None), torch.full((2, 3), 1 / 3))


def test_luong_output_is_tanh_of_concat():
    torch.manual_seed(0)
    out = LuongOutput(HK, 4, out_dim=3).double()
    c, h = torch.randn(2, 7, HK, dtype=torch.float64), torch.randn(2, 7, 4, dtype=torch.float64)
    want = torch.tanh(torch.cat([c, h], -1) @ out.W_c.weight.T)
    torch.testing.assert_close(out(c, h), want)
    assert torch.autograd.gradcheck(out, (c[:1, :2].requires_grad_(), h[:1, :2].requires_grad_()))
    assert LuongOutput(HK, 4)(c.float(), h.float()).shape == (2, 7, 4)


def test_errors_list_known_scores_and_check_shapes():
    with pytest.raises(ValueError, match="unknown attention score 'cosine'.*dot, general, concat, additive"):
        Attention(4, 4, score="cosine")
    with pytest.raises(ValueError, match="'dot' attention needs query_dim == key_dim"):
        Attention(4, 5, score="dot")
    attn = Attention(4, 5)
    with pytest.raises(ValueError, match="mask must be bool"):
        attn(torch.randn(2, 4), torch.randn(2, 3, 5), torch.ones(2, 3))
    with pytest.raises(ValueError, match="expected keys"):
        attn(torch.randn(2, 4), torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="expected query"):
        attn(torch.randn(2, 1, 4), torch.randn(2, 3, 5))
    ctx, w = attn(torch.randn(2, 4), torch.randn(2, 3, 5))  # different dims are fine for 'general'
    assert ctx.shape == (2, 5) and w.shape == (2, 3)
