"""Cells: equal to torch where the maths coincides, to the lecture's equations elsewhere; gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call

from engine.nn.cells import (
    CELLS,
    ChoGRUCell,
    CIFGLSTMCell,
    ElmanCell,
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    is_lstm_like,
    make_cell,
)

I, H, B = 3, 4, 2
TOL = dict(atol=1e-6, rtol=0)


def _copy(dst, src) -> None:
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(dst, name).copy_(getattr(src, name))


def _inputs(steps: int = 4, lstm: bool = False):
    g = torch.Generator().manual_seed(1)
    xs = torch.randn(steps, B, I, dtype=torch.float64, generator=g)
    h = torch.randn(B, H, dtype=torch.float64, generator=g)
    c = torch.randn(B, H, dtype=torch.float64, generator=g)
    return xs, ((h, c) if lstm else h)


def _roll(cell, xs, state):
    outs = []
    for x in xs:
        state = cell(x, state)
        outs.append(state)
    return outs


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman_equals_torch_rnncell(nonlinearity):
    ref = nn.RNNCell(I, H, nonlinearity=nonlinearity).double()
    cell = ElmanCell(I, H, nonlinearity=nonlinearity).double()
    _copy(cell, ref)
    xs, h = _inputs()
    for x in xs:
        h_ref, h = ref(x, h), cell(x, h)
        torch.testing.assert_close(h, h_ref, **TOL)


def test_gru_equals_torch_grucell():
    ref = nn.GRUCell(I, H).double()
    cell = GRUCell(I, H).double()
    _copy(cell, ref)
    xs, h = _inputs()
    h_ref = h
    for x in xs:
        h_ref, h = ref(x, h_ref), cell(x, h)
        torch.testing.assert_close(h, h_ref, **TOL)


def test_lstm_equals_torch_lstmcell():
    ref = nn.LSTMCell(I, H).double()
    cell = LSTMCell(I, H).double()
    _copy(cell, ref)
    xs, state = _inputs(lstm=True)
    ref_state = state
    for x in xs:
        ref_state, state = ref(x, ref_state), cell(x, state)
        torch.testing.assert_close(state[0], ref_state[0], **TOL)
        torch.testing.assert_close(state[1], ref_state[1], **TOL)


def test_cho_gru_matches_lecture_equations():
    cell = ChoGRUCell(I, H).double()
    assert cell.bias_hh is None
    xs, s = _inputs()
    W_r, W_z, W = cell.weight_hh.chunk(3)
    U_r, U_z, U = cell.weight_ih.chunk(3)
    b_r, b_z, b = cell.bias_ih.chunk(3)
    for x in xs:
        r = torch.sigmoid(s @ W_r.T + x @ U_r.T + b_r)
        z = torch.sigmoid(s @ W_z.T + x @ U_z.T + b_z)
        cand = torch.tanh((r * s) @ W.T + x @ U.T + b)
        expected = z * s + (1 - z) * cand
        s = cell(x, s)
        torch.testing.assert_close(s, expected, **TOL)


def test_cho_gru_equals_torch_where_reset_placement_cannot_matter():
    """From a zero state with b_hn = 0, r∘(W h) and W(r∘h) are both 0: the two GRU forms agree."""
    ref = nn.GRUCell(I, H).double()
    with torch.no_grad():
        ref.bias_hh[2 * H :].zero_()
    cell = ChoGRUCell(I, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(ref.weight_ih)
        cell.weight_hh.copy_(ref.weight_hh)
        cell.bias_ih.copy_(ref.bias_ih)
        cell.bias_ih[: 2 * H] += ref.bias_hh[: 2 * H]
    xs, h = _inputs()
    zero = torch.zeros_like(h)
    torch.testing.assert_close(cell(xs[0], zero), ref(xs[0], zero), **TOL)
    # ... and from a non-zero state they differ: the reset really is applied before the product
    assert not torch.allclose(cell(xs[0], h), ref(xs[0], h), atol=1e-4)


def test_peephole_with_zero_peepholes_is_torch_lstm():
    ref = nn.LSTMCell(I, H).double()
    cell = PeepholeLSTMCell(I, H).double()
    _copy(cell, ref)
    with torch.no_grad():
        for p in (cell.peephole_i, cell.peephole_f, cell.peephole_o):
            p.zero_()
    xs, state = _inputs(lstm=True)
    got, want = cell(xs[0], state), ref(xs[0], state)
    torch.testing.assert_close(got[0], want[0], **TOL)
    torch.testing.assert_close(got[1], want[1], **TOL)


def test_peephole_matches_lecture_equations():
    cell = PeepholeLSTMCell(I, H).double()
    assert all(p.abs().sum() > 0 for p in (cell.peephole_i, cell.peephole_f, cell.peephole_o))
    xs, (h, c) = _inputs(lstm=True)
    Ui, Uf, Ug, Uo = cell.weight_ih.chunk(4)
    Wi, Wf, Wg, Wo = cell.weight_hh.chunk(4)
    bi, bf, bg, bo = (cell.bias_ih + cell.bias_hh).chunk(4)
    for x in xs:
        i = torch.sigmoid(h @ Wi.T + x @ Ui.T + cell.peephole_i * c + bi)  # sees c_{t-1}
        f = torch.sigmoid(h @ Wf.T + x @ Uf.T + cell.peephole_f * c + bf)  # sees c_{t-1}
        g = torch.tanh(h @ Wg.T + x @ Ug.T + bg)
        c_new = f * c + i * g
        o = torch.sigmoid(h @ Wo.T + x @ Uo.T + cell.peephole_o * c_new + bo)  # sees c_t
        want = (o * torch.tanh(c_new), c_new)
        (h, c), gates = cell.forward_with_gates(x, (h, c))
        torch.testing.assert_close(h, want[0], **TOL)
        torch.testing.assert_close(c, want[1], **TOL)
        torch.testing.assert_close(gates["output"], o, **TOL)


def test_cifg_equals_torch_lstm_with_forget_weights_negated():
    """σ(-a) = 1 - σ(a): a torch LSTM whose forget row is minus its input row is a CIFG LSTM."""
    cell = CIFGLSTMCell(I, H).double()
    ref = nn.LSTMCell(I, H).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            i, g, o = getattr(cell, name).chunk(3)
            getattr(ref, name).copy_(torch.cat([i, -i, g, o]))
    xs, state = _inputs(lstm=True)
    ref_state = state
    for x in xs:
        ref_state, (state, gates) = ref(x, ref_state), cell.forward_with_gates(x, state)
        torch.testing.assert_close(state[0], ref_state[0], **TOL)
        torch.testing.assert_close(state[1], ref_state[1], **TOL)
        torch.testing.assert_close(gates["forget"], 1 - gates["input"], **TOL)


def test_irnn_init_is_identity_with_zero_bias():
    cell = make_cell("irnn", I, H)
    assert isinstance(cell, ElmanCell) and cell.nonlinearity == "relu"
    assert torch.equal(cell.weight_hh, torch.eye(H))
    assert torch.equal(cell.bias_ih, torch.zeros(H)) and torch.equal(cell.bias_hh, torch.zeros(H))
    assert cell.weight_ih.abs().sum() > 0
    # with zero input an identity ReLU RNN carries a non-negative state unchanged
    h = torch.rand(B, H)
    torch.testing.assert_close(cell(torch.zeros(B, I), h), h)
    plain = make_cell("rnn", I, H)
    assert plain.nonlinearity == "tanh" and not torch.equal(plain.weight_hh, torch.eye(H))


@pytest.mark.parametrize("name", list(CELLS))
def test_gradcheck_every_cell(name):
    torch.manual_seed(0)
    cell = make_cell(name, I, H).double()
    xs, state = _inputs(steps=2, lstm=is_lstm_like(name))
    if name == "irnn":  # keep ReLU away from its kink so finite differences are valid
        state = state.abs() + 0.1
    x0, x1 = (x.clone().requires_grad_() for x in xs)
    flat = state if isinstance(state, tuple) else (state,)
    flat = tuple(s.clone().requires_grad_() for s in flat)
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for _, p in cell.named_parameters())
    n_state = len(flat)

    def f(a, b, *rest):
        st = rest[:n_state]
        st = st if is_lstm_like(name) else st[0]
        weights = dict(zip(names, rest[n_state:]))
        st = functional_call(cell, weights, (a, st))
        out = functional_call(cell, weights, (b, st))
        return out if isinstance(out, tuple) else (out,)

    # gradients w.r.t. inputs, the initial state and every parameter, through two steps
    assert torch.autograd.gradcheck(f, (x0, x1, *flat, *params))


@pytest.mark.parametrize("name", list(CELLS))
def test_forward_with_gates_agrees_with_forward(name):
    torch.manual_seed(0)
    cell = make_cell(name, I, H)
    x = torch.randn(B, I)
    state = cell.init_state(B)
    new, gates = cell.forward_with_gates(x, state)
    plain = cell(x, state)
    for a, b in zip(
        new if isinstance(new, tuple) else (new,), plain if isinstance(plain, tuple) else (plain,)
    ):
        torch.testing.assert_close(a, b)
    assert gates and all(g.shape == (B, H) for g in gates.values())
    if name in ("gru", "gru_cho"):
        assert set(gates) == {"reset", "update", "candidate"}
    if is_lstm_like(name):
        assert {"input", "forget", "output", "candidate"} <= set(gates)
        assert all(((gates[k] >= 0) & (gates[k] <= 1)).all() for k in ("input", "forget", "output"))


@pytest.mark.parametrize("name", list(CELLS))
def test_init_state_and_output(name):
    cell = make_cell(name, I, H)
    state = cell.init_state(B, dtype=torch.float64)
    h = cell.output(state)
    assert h.shape == (B, H) and h.dtype == torch.float64 and not h.any()
    assert isinstance(state, tuple) == is_lstm_like(name)
    assert cell(torch.randn(B, I)) is not None  # a None state means zeros


def test_registry_errors_list_known_names():
    with pytest.raises(ValueError, match="unknown cell 'transformer'.*gru_cho.*peephole_lstm"):
        make_cell("transformer", I, H)
    with pytest.raises(ValueError, match="known: rnn"):
        is_lstm_like("nope")
    with pytest.raises(ValueError, match="nonlinearity.*tanh, relu"):
        make_cell("rnn", I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="positive"):
        make_cell("gru", 0, H)
    assert set(CELLS) == {"rnn", "irnn", "gru", "gru_cho", "lstm", "peephole_lstm", "cifg_lstm"}
    assert [n for n in CELLS if is_lstm_like(n)] == ["lstm", "peephole_lstm", "cifg_lstm"]
