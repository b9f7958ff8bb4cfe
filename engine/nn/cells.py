"""Recurrent cells: the lecture's equations, one small ``nn.Module`` each.

Every cell splits its step in two so that a sequence runner can do the input half for all time
steps in one matrix product:

* ``project_input(x)``: ``W_ih x + b_ih`` (``+ b_hh`` too where that bias is not inside a gate
  product, i.e. all but the GRUs) for any leading shape, ``(..., I) -> (..., G*H)``;
* ``recur(xp, state)``: the recurrent half of one step, ``xp`` ``(B, G*H)`` from ``project_input``.

``forward(x, state) = recur(project_input(x), state)``. A state is ``h`` ``(B, H)`` or, for the
LSTM family, ``(h, c)`` each ``(B, H)``. Gate order inside the stacked weights follows torch
(GRU: r, z, n; LSTM: i, f, g, o) so weights copy one-to-one from ``nn.GRU`` / ``nn.LSTM``.

``forward_with_gates(x, state)`` returns ``(state, {gate name: (B, H)})`` for the "look inside"
view; an Elman cell has no gates and returns ``{"pre_activation": ...}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = Tensor | tuple[Tensor, Tensor]


class Cell(nn.Module):
    """Common plumbing: stacked ``weight_ih`` ``(G*H, I)``, ``weight_hh`` ``(G*H, H)`` and biases."""

    num_chunks = 1  # G: how many H-sized blocks the input projection has
    lstm_like = False  # state is (h, c) rather than h
    fold_hidden_bias = True  # b_hh only ever adds to W_ih x: fold it into project_input (GRUs: no)

    def __init__(self, input_size: int, hidden_size: int, hidden_bias: bool = True):
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(f"input_size and hidden_size must be positive, got {input_size}, {hidden_size}")
        g = self.num_chunks * hidden_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(g))
        self.bias_hh = nn.Parameter(torch.empty(g)) if hidden_bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's RNN init: every parameter uniform in ±1/sqrt(H)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        h = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return (h, torch.zeros_like(h)) if self.lstm_like else h

    @staticmethod
    def output(state: State) -> Tensor:
        """The cell's output ``h`` ``(B, H)`` from a state."""
        return state[0] if isinstance(state, tuple) else state

    def project_input(self, x: Tensor) -> Tensor:
        bias = self.bias_ih
        if self.fold_hidden_bias and self.bias_hh is not None:
            bias = bias + self.bias_hh
        return F.linear(x, self.weight_ih, bias)  # (..., G*H)

    def project_hidden(self, h: Tensor) -> Tensor:
        return F.linear(h, self.weight_hh, self.bias_hh)  # (B, G*H)

    def preactivation(self, xp: Tensor, h: Tensor) -> Tensor:
        """``xp + W_hh h`` in one fused op, for cells whose ``xp`` already holds both biases."""
        return torch.addmm(xp, h, self.weight_hh.t())  # (B, G*H)

    def recur(self, xp: Tensor, state: State) -> State:
        return self.recur_with_gates(xp, state)[0]

    def recur_with_gates(self, xp: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
        raise NotImplementedError

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """x (B, I), state as ``init_state`` (zeros when None) -> new state."""
        if state is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        return self.recur(self.project_input(x), state)

    def forward_with_gates(self, x: Tensor, state: State | None = None) -> tuple[State, dict[str, Tensor]]:
        """Like ``forward`` but also returns the gate activations, each (B, H)."""
        if state is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        return self.recur_with_gates(self.project_input(x), state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


NONLINEARITIES: dict[str, Callable[[Tensor], Tensor]] = {"tanh": torch.tanh, "relu": torch.relu}


class ElmanCell(Cell):
    """Elman RNN: ``s_t = φ(W s_{t-1} + U x_t + b)``; same maths as ``torch.nn.RNNCell``.

    ``identity_init=True`` gives the IRNN of Le et al. (2015): recurrent W = ``identity_scale``·I
    and zero biases (the input weights keep the default init); use it with ``nonlinearity="relu"``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        identity_init: bool = False,
        identity_scale: float = 1.0,
    ):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}; known: {', '.join(NONLINEARITIES)}")
        self.nonlinearity = nonlinearity
        self.identity_init = identity_init
        self.identity_scale = identity_scale
        super().__init__(input_size, hidden_size)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.identity_init:
            with torch.no_grad():
                self.weight_hh.copy_(torch.eye(self.hidden_size) * self.identity_scale)
                self.bias_ih.zero_()
                self.bias_hh.zero_()

    def recur_with_gates(self, xp: Tensor, state: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        pre = self.preactivation(xp, state)  # (B, H)
        return NONLINEARITIES[self.nonlinearity](pre), {"pre_activation": pre}

    def extra_repr(self) -> str:
        extra = f"nonlinearity={self.nonlinearity!r}, identity_init={self.identity_init}"
        return f"{super().extra_repr()}, {extra}"


class GRUCell(Cell):
    """GRU in the cuDNN / torch form: ``n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))``.

    ``r = σ(W_ir x + W_hr h + b)``, ``z = σ(W_iz x + W_hz h + b)``, ``h' = (1 - z) ∘ n + z ∘ h``.
    """

    num_chunks = 3
    fold_hidden_bias = False  # b_hn sits inside r * (W_hn h + b_hn)

    def recur_with_gates(self, xp: Tensor, state: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        hp = self.project_hidden(state)  # (B, 3H)
        xr, xz, xn = xp.chunk(3, dim=-1)
        hr, hz, hn = hp.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = n + z * (state - n)  # (1 - z) n + z h
        return h, {"reset": r, "update": z, "candidate": n}


class ChoGRUCell(Cell):
    """GRU as Cho et al. (2014) and the lecture write it: reset applied before the matrix product.

    ``r = σ(U_r x + W_r s + b_r)``, ``z = σ(U_z x + W_z s + b_z)``,
    ``s~ = tanh(U x + W (r ∘ s) + b)``, ``s' = z ∘ s + (1 - z) ∘ s~``. Biases live in ``bias_ih``.
    """

    num_chunks = 3
    fold_hidden_bias = False

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, hidden_bias=False)

    def recur_with_gates(self, xp: Tensor, state: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        h_size = self.hidden_size
        xr, xz, xn = xp.chunk(3, dim=-1)
        hrz = F.linear(state, self.weight_hh[: 2 * h_size])  # (B, 2H)
        hr, hz = hrz.chunk(2, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + F.linear(r * state, self.weight_hh[2 * h_size :]))  # (B, H)
        h = n + z * (state - n)
        return h, {"reset": r, "update": z, "candidate": n}


class LSTMCell(Cell):
    """LSTM as ``torch.nn.LSTMCell``: gates i, f, g, o; ``c' = f c + i g``, ``h' = o tanh(c')``."""

    num_chunks = 4
    lstm_like = True

    def recur_with_gates(
        self, xp: Tensor, state: tuple[Tensor, Tensor]
    ) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
        h, c = state
        gates = self.preactivation(xp, h)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return (h, c), {"input": i, "forget": f, "candidate": g, "output": o, "cell": c}


class PeepholeLSTMCell(Cell):
    """LSTM with diagonal peephole connections (Gers & Schmidhuber): i and f see ``c_{t-1}``, o sees ``c_t``.

    ``i = σ(… + p_i ∘ c_{t-1})``, ``f = σ(… + p_f ∘ c_{t-1})``, ``c_t = f c_{t-1} + i g``,
    ``o = σ(… + p_o ∘ c_t)``, ``h_t = o tanh(c_t)``. With zero peepholes it is a plain LSTM.
    """

    num_chunks = 4
    lstm_like = True

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.peephole_i = nn.Parameter(torch.empty(hidden_size))  # diagonal P_i
        self.peephole_f = nn.Parameter(torch.empty(hidden_size))  # diagonal P_f
        self.peephole_o = nn.Parameter(torch.empty(hidden_size))  # diagonal P_o
        self.reset_parameters()

    def recur_with_gates(
        self, xp: Tensor, state: tuple[Tensor, Tensor]
    ) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
        h, c_prev = state
        gates = self.preactivation(xp, h)  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)
        i = torch.sigmoid(i + self.peephole_i * c_prev)
        f = torch.sigmoid(f + self.peephole_f * c_prev)
        g = torch.tanh(g)
        c = f * c_prev + i * g
        o = torch.sigmoid(o + self.peephole_o * c)
        h = o * torch.tanh(c)
        return (h, c), {"input": i, "forget": f, "candidate": g, "output": o, "cell": c}


class CIFGLSTMCell(Cell):
    """LSTM with a coupled input-forget gate (Greff et al. 2017): ``f = 1 - i``; gates i, g, o."""

    num_chunks = 3
    lstm_like = True

    def recur_with_gates(
        self, xp: Tensor, state: tuple[Tensor, Tensor]
    ) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
        h, c = state
        gates = self.preactivation(xp, h)  # (B, 3H)
        i, g, o = gates.chunk(3, dim=-1)
        i, g, o = torch.sigmoid(i), torch.tanh(g), torch.sigmoid(o)
        f = 1.0 - i
        c = c + i * (g - c)  # f c + i g with f = 1 - i
        h = o * torch.tanh(c)
        return (h, c), {"input": i, "forget": f, "candidate": g, "output": o, "cell": c}


def _elman(input_size: int, hidden_size: int, **kw) -> Cell:
    return ElmanCell(input_size, hidden_size, **kw)


def _irnn(input_size: int, hidden_size: int, **kw) -> Cell:
    kw.setdefault("nonlinearity", "relu")
    kw.setdefault("identity_init", True)
    return ElmanCell(input_size, hidden_size, **kw)


# cell name -> factory(input_size, hidden_size, **kw)
CELLS: dict[str, Callable[..., Cell]] = {
    "rnn": _elman,
    "irnn": _irnn,
    "gru": GRUCell,
    "gru_cho": ChoGRUCell,
    "lstm": LSTMCell,
    "peephole_lstm": PeepholeLSTMCell,
    "cifg_lstm": CIFGLSTMCell,
}


def _check_name(name: str) -> None:
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; known: {', '.join(CELLS)}")


def make_cell(name: str, input_size: int, hidden_size: int, **kw) -> Cell:
    """Build a registered cell; an unknown name raises ``ValueError`` listing the known ones."""
    _check_name(name)
    return CELLS[name](input_size, hidden_size, **kw)


def is_lstm_like(name: str) -> bool:
    """True when the named cell's state is ``(h, c)``."""
    _check_name(name)
    return name in ("lstm", "peephole_lstm", "cifg_lstm")
