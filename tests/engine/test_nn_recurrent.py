"""Recurrent: padding never leaks, directions are right, fused and loop paths agree, step = forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.nn.cells import CELLS
from engine.nn.recurrent import Recurrent

I, H = 3, 5
TOL = dict(atol=1e-10, rtol=0)


def _make(cell: str, **kw) -> Recurrent:
    torch.manual_seed(0)
    return Recurrent(cell, I, H, **kw).double().eval()


def _states(state):
    return state if isinstance(state, tuple) else (state,)


def _close(a, b, **tol):
    for x, y in zip(_states(a), _states(b)):
        torch.testing.assert_close(x, y, **(tol or TOL))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", list(CELLS))
def test_same_sequence_padded_to_different_lengths_is_identical(cell, bidirectional):
    rnn = _make(cell, num_layers=2, bidirectional=bidirectional)
    seq = torch.randn(1, 4, I, dtype=torch.float64)
    results = []
    for total in (4, 6, 9):
        x = torch.cat([seq, 100 * torch.randn(1, total - 4, I, dtype=torch.float64)], dim=1)  # junk padding
        # batch it with a full-length neighbour so padding is really exercised
        x = torch.cat([x, torch.randn(1, total, I, dtype=torch.float64)])
        out, state = rnn(x, torch.tensor([4, total]))
        assert out.shape == (2, total, H * rnn.num_directions)
        assert not out[0, 4:].any(), "outputs at padded steps must be exactly zero"
        results.append((out[:1, :4], tuple(s[:, :1] for s in _states(state))))
    for out, state in results[1:]:
        _close(out, results[0][0])
        _close(state, results[0][1])


@pytest.mark.parametrize("cell", list(CELLS))
def test_bidirectional_padded_batch_equals_each_sequence_alone(cell):
    rnn = _make(cell, num_layers=2, bidirectional=True)
    lengths = torch.tensor([2, 6, 4])
    x = torch.randn(3, 6, I, dtype=torch.float64)
    out, state = rnn(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone_out, alone_state = rnn(x[b : b + 1, :n])  # no padding at all
        _close(out[b : b + 1, :n], alone_out)
        _close(tuple(s[:, b : b + 1] for s in _states(state)), alone_state)
        assert not out[b, n:].any()


@pytest.mark.parametrize("cell", ["rnn", "gru_cho", "peephole_lstm", "gru", "lstm"])
def test_reverse_direction_reads_each_valid_part_backwards(cell):
    """The reverse half equals a forward-only runner with the same weights on the flipped sequence."""
    bi = _make(cell, bidirectional=True)
    uni = _make(cell)
    with torch.no_grad():
        if bi.fused:
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(uni.rnn, f"{name}_l0").copy_(getattr(bi.rnn, f"{name}_l0_reverse"))
        else:
            uni.cells[0].load_state_dict(bi.cells[1].state_dict())
    lengths = torch.tensor([3, 5])
    x = torch.randn(2, 5, I, dtype=torch.float64)
    out, state = bi(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        rev_out, rev_state = uni(x[b : b + 1, :n].flip(1))
        _close(out[b : b + 1, :n, H:], rev_out.flip(1))
        _close(tuple(s[1:2, b : b + 1] for s in _states(state)), rev_state)


def _copy_fused_to_loop(fused: Recurrent, loop: Recurrent) -> None:
    d = fused.num_directions
    with torch.no_grad():
        for k, cell in enumerate(loop.cells):
            suffix = f"l{k // d}" + ("_reverse" if k % d else "")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(fused.rnn, f"{name}_{suffix}"))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fused_and_loop_paths_agree(cell, bidirectional):
    fused = _make(cell, num_layers=2, bidirectional=bidirectional)
    loop = _make(cell, num_layers=2, bidirectional=bidirectional, fused=False)
    assert fused.fused and not loop.fused
    _copy_fused_to_loop(fused, loop)
    x = torch.randn(3, 7, I, dtype=torch.float64, requires_grad=True)
    init = fused.init_state(3, dtype=torch.float64)
    init = tuple(torch.randn_like(s) for s in _states(init))
    init = init if fused.lstm_like else init[0]
    for lengths in (None, torch.tensor([7, 2, 5])):
        outs = []
        for rnn in (fused, loop):
            out, state = rnn(x, lengths, init)
            (grad,) = torch.autograd.grad(out.sum() + _states(state)[0].sum(), x)
            outs.append((out, state, grad))
        _close(outs[0][0], outs[1][0])
        _close(outs[0][1], outs[1][1])
        _close(outs[0][2], outs[1][2])


def test_loop_rnn_equals_torch_nn_rnn():
    ref = nn.RNN(I, H, num_layers=2, bidirectional=True, batch_first=True).double()
    rnn = _make("rnn", num_layers=2, bidirectional=True)
    _copy_fused_to_loop(type("F", (), {"num_directions": 2, "rnn": ref})(), rnn)
    x = torch.randn(2, 6, I, dtype=torch.float64)
    out, state = rnn(x)
    ref_out, ref_state = ref(x)
    _close(out, ref_out)
    _close(state, ref_state)


@pytest.mark.parametrize("cell", list(CELLS))
def test_no_gradient_flows_from_padding(cell):
    rnn = _make(cell, bidirectional=True)
    x = torch.randn(2, 6, I, dtype=torch.float64, requires_grad=True)
    out, state = rnn(x, torch.tensor([6, 3]))
    (out.sum() + sum(s.sum() for s in _states(state))).backward()
    assert not x.grad[1, 3:].any()
    assert x.grad[1, :3].abs().sum() > 0 and x.grad[0].abs().sum() > 0


@pytest.mark.parametrize("cell", ["lstm", "gru", "cifg_lstm", "irnn"])
def test_zero_length_sequence_keeps_initial_state(cell):
    rnn = _make(cell, num_layers=2)
    init = tuple(torch.randn_like(s) for s in _states(rnn.init_state(2, dtype=torch.float64)))
    init = init if rnn.lstm_like else init[0]
    out, state = rnn(torch.randn(2, 4, I, dtype=torch.float64), torch.tensor([0, 4]), init)
    assert not out[0].any()
    _close(tuple(s[:, 0] for s in _states(state)), tuple(s[:, 0] for s in _states(init)))


@pytest.mark.parametrize("cell", list(CELLS))
def test_step_by_step_equals_forward(cell):
    rnn = _make(cell, num_layers=2)
    x = torch.randn(2, 5, I, dtype=torch.float64)
    out, final = rnn(x)
    state = None
    for t in range(5):
        o, state = rnn.step(x[:, t], state)
        _close(o, out[:, t])
    _close(state, final)


@pytest.mark.parametrize("cell", ["gru", "peephole_lstm"])
def test_initial_state_is_used_and_lengths_on_any_form(cell):
    rnn = _make(cell)
    x = torch.randn(2, 4, I, dtype=torch.float64)
    zeros_out, _ = rnn(x)
    init = tuple(torch.ones_like(s) for s in _states(rnn.init_state(2, dtype=torch.float64)))
    out, _ = rnn(x, [4, 4], init if rnn.lstm_like else init[0])  # a list of full lengths is fine
    assert not torch.allclose(out, zeros_out)


@pytest.mark.parametrize("cell", ["gru", "gru_cho"])
def test_dropout_only_between_layers_and_only_in_training(cell):
    torch.manual_seed(0)
    deep = Recurrent(cell, I, H, num_layers=2, dropout=0.5)
    x = torch.randn(2, 4, I)
    deep.eval()
    a, _ = deep(x)
    b, _ = deep(x)
    torch.testing.assert_close(a, b)
    deep.train()
    c, _ = deep(x)
    assert not torch.allclose(a, c)
    shallow = Recurrent(cell, I, H, num_layers=1, dropout=0.5).train()
    torch.testing.assert_close(shallow(x)[0], shallow.eval()(x)[0])


def test_shapes_and_errors():
    rnn = Recurrent("lstm", I, H, num_layers=3, bidirectional=True)
    out, (h, c) = rnn(torch.randn(4, 2, I))
    assert out.shape == (4, 2, 2 * H) and h.shape == c.shape == (6, 4, H) and rnn.output_size == 2 * H
    with pytest.raises(ValueError, match="no fused implementation.*gru, lstm"):
        Recurrent("rnn", I, H, fused=True)
    with pytest.raises(ValueError, match="unknown cell"):
        Recurrent("tree", I, H)
    with pytest.raises(ValueError, match="dropout"):
        Recurrent("gru", I, H, dropout=1.0)
    with pytest.raises(ValueError, match="lengths must lie in"):
        rnn(torch.randn(2, 3, I), torch.tensor([4, 1]))
    with pytest.raises(ValueError, match="integer tensor"):
        rnn(torch.randn(2, 3, I), torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="expected x"):
        rnn(torch.randn(2, 3, I + 1))
    with pytest.raises(ValueError, match="state has shape"):
        rnn(torch.randn(2, 3, I), None, (torch.zeros(1, 2, H), torch.zeros(1, 2, H)))
    with pytest.raises(ValueError, match="takes state"):
        rnn(torch.randn(2, 3, I), None, torch.zeros(6, 2, H))
    with pytest.raises(ValueError, match="bidirectional"):
        rnn.step(torch.randn(2, I))
    # cell options reach the cell and force the loop path
    relu = Recurrent("rnn", I, H, nonlinearity="relu")
    assert relu.cells[0].nonlinearity == "relu"


@pytest.mark.parametrize("cell", list(CELLS))
def test_gradcheck_through_padded_bidirectional_runner(cell):
    torch.manual_seed(0)
    rnn = Recurrent(cell, 2, 2, num_layers=2, bidirectional=True).double()
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([3, 2])

    def f(inp):
        out, state = rnn(inp, lengths)
        return (out, *_states(state))

    assert torch.autograd.gradcheck(f, (x,))


@pytest.mark.parametrize("cell", ["rnn", "gru_cho", "cifg_lstm"])
def test_loop_under_bf16_autocast_keeps_state_dtype_and_stays_close(cell):
    torch.manual_seed(0)
    rnn = Recurrent(cell, I, H, num_layers=2, bidirectional=True)
    x = torch.randn(2, 6, I)
    want, _ = rnn(x, torch.tensor([6, 4]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, state = rnn(x, torch.tensor([6, 4]))
    assert out.dtype == torch.float32 and all(s.dtype == torch.float32 for s in _states(state))
    torch.testing.assert_close(out, want, atol=5e-2, rtol=0)
