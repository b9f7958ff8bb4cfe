"""The sequence runner: any registered cell over a padded batch, in layers and directions.

``Recurrent("gru" | "lstm", …)`` wraps torch's fused ``nn.GRU`` / ``nn.LSTM`` (cuDNN on CUDA) and
packs the batch when lengths are given. Every other cell (and gru/lstm with ``fused=False``) runs
a Python step loop: the input projection of a whole layer is one matrix product, the loop does
only the recurrent product and the gate arithmetic. (``torch.jit.script`` is deprecated in the
torch this project pins and warns on use, so the loop is plain eager code.)

Conventions, identical on both paths and equal to torch's:

* ``x`` ``(B, T, I)``, batch first; ``lengths`` ``(B,)`` integers on any device, or None.
* outputs ``(B, T, H*D)``, exactly zero at padded steps; padded steps never change the state.
* states ``h`` ``(L*D, B, H)`` or ``(h, c)``, row ``layer * D + direction``. The final state of the
  forward direction is the state at each sequence's true last step; of the reverse direction, the
  state after reading the valid part back to ``t = 0``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from engine.nn.cells import Cell, is_lstm_like, make_cell

State = Tensor | tuple[Tensor, Tensor]

# cell name -> torch's fused module with the same maths and weight layout
FUSED: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM}


def _map_state(state: State, fn) -> State:
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def _where(mask: Tensor, new: State, old: State) -> State:
    if isinstance(new, tuple):
        return tuple(torch.where(mask, n, o) for n, o in zip(new, old))
    return torch.where(mask, new, old)


def _stack(states: list[State]) -> State:
    if isinstance(states[0], tuple):
        return tuple(torch.stack(parts) for parts in zip(*states))
    return torch.stack(states)


class Recurrent(nn.Module):
    """A stack of recurrent layers over batch-first padded sequences.

    ``cell``: a name from ``engine.nn.cells.CELLS``; ``dropout`` applies between layers in
    training; ``fused`` None picks torch's fused module for "gru"/"lstm" (with no cell options)
    and the step loop otherwise; ``cell_kw`` go to the cell factory (e.g. ``nonlinearity``).
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        fused: bool | None = None,
        **cell_kw,
    ):
        super().__init__()
        lstm_like = is_lstm_like(cell)  # validates the name
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if fused is None:
            fused = cell in FUSED and not cell_kw
        if fused and cell not in FUSED:
            raise ValueError(f"no fused implementation for cell {cell!r}; fused cells: {', '.join(FUSED)}")
        if fused and cell_kw:
            raise ValueError(f"the fused {cell!r} path takes no cell options, got {sorted(cell_kw)}")
        self.cell_name = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.dropout = dropout
        self.lstm_like = lstm_like
        self.fused = fused
        if fused:
            self.rnn = FUSED[cell](
                input_size,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,  # torch warns on dropout with one layer
                bidirectional=bidirectional,
            )
        else:
            d = self.num_directions
            self.cells = nn.ModuleList(
                make_cell(cell, input_size if layer == 0 else hidden_size * d, hidden_size, **cell_kw)
                for layer in range(num_layers)
                for _ in range(d)
            )

    @property
    def output_size(self) -> int:
        """Feature size of the outputs: H * D."""
        return self.hidden_size * self.num_directions

    def init_state(self, batch: int, device=None, dtype=None) -> State:
        """Zeros in the state layout: ``(L*D, B, H)`` or a pair of them."""
        rows = self.num_layers * self.num_directions
        h = torch.zeros(rows, batch, self.hidden_size, device=device, dtype=dtype)
        return (h, torch.zeros_like(h)) if self.lstm_like else h

    # ------------------------------------------------------------------ checks

    def _check_state(self, state: State | None, batch: int) -> None:
        if state is None:
            return
        if self.lstm_like != isinstance(state, tuple):
            want = "(h, c)" if self.lstm_like else "a tensor h"
            raise ValueError(f"cell {self.cell_name!r} takes state {want}")
        want_shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        for s in state if isinstance(state, tuple) else (state,):
            if tuple(s.shape) != want_shape:
                raise ValueError(f"state has shape {tuple(s.shape)}, expected {want_shape}")

    @staticmethod
    def _check_lengths(lengths, batch: int, steps: int) -> Tensor | None:
        """Lengths as int64 on CPU, or None when every sequence is full length."""
        if lengths is None:
            return None
        lengths = torch.as_tensor(lengths)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or lengths.shape != (batch,):
            got = f"{lengths.dtype} {tuple(lengths.shape)}"
            raise ValueError(f"lengths must be an integer tensor of shape ({batch},), got {got}")
        lengths = lengths.detach().to("cpu", torch.int64)
        lo, hi = (int(lengths.min()), int(lengths.max())) if batch else (0, 0)
        if lo < 0 or hi > steps:
            raise ValueError(f"lengths must lie in [0, {steps}], got min {lo} max {hi}")
        if bool((lengths == steps).all()):
            return None
        return lengths

    # ------------------------------------------------------------------ forward

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, state: State | None = None
    ) -> tuple[Tensor, State]:
        """x (B, T, I), lengths (B,) or None, state (L*D, B, H) [pair] or None.

        Returns outputs (B, T, H*D), zero at padded steps, and the final state in the same layout.
        """
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"expected x of shape (B, T, {self.input_size}), got {tuple(x.shape)}")
        batch, steps = x.shape[:2]
        self._check_state(state, batch)
        lengths = self._check_lengths(lengths, batch, steps)
        if steps == 0:
            init = state if state is not None else self.init_state(batch, x.device, x.dtype)
            return x.new_zeros(batch, 0, self.output_size), init
        if self.fused:
            return self._forward_fused(x, lengths, state)
        return self._forward_loop(x, lengths, state)

    def _forward_fused(self, x: Tensor, lengths: Tensor | None, state: State | None) -> tuple[Tensor, State]:
        if lengths is None:
            return self._run_fused(x, state)  # (B, T, H*D), state
        batch, steps = x.shape[:2]
        packed = pack_padded_sequence(x, lengths.clamp(min=1), batch_first=True, enforce_sorted=False)
        out, final = self._run_fused(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)  # (B, T, H*D)
        empty = lengths == 0
        if bool(empty.any()):  # torch cannot pack empty sequences: ran one step, undo it here
            empty = empty.to(x.device)
            out = out.masked_fill(empty.view(batch, 1, 1), 0.0)
            init = state if state is not None else self.init_state(batch, x.device, out.dtype)
            final = _where(empty.view(1, batch, 1), _map_state(init, lambda s: s.to(out.dtype)), final)
        return out, final

    def _run_fused(self, inp, state: State | None):
        """Call the fused module. Under CUDA bf16 autocast, torch would run cuDNN RNNs in fp16 (its
        autocast rule for ``_cudnn_rnn`` hard-codes half precision), which needs a GradScaler this
        project does not use; so there the fused layer runs in its parameters' precision instead."""
        if (
            self.rnn.weight_ih_l0.is_cuda
            and torch.is_autocast_enabled("cuda")
            and torch.get_autocast_dtype("cuda") == torch.bfloat16
        ):
            dtype = self.rnn.weight_ih_l0.dtype
            with torch.autocast("cuda", enabled=False):
                if state is not None:
                    state = _map_state(state, lambda s: s.to(dtype))
                return self.rnn(inp.to(dtype), state)
        return self.rnn(inp, state)

    def _forward_loop(self, x: Tensor, lengths: Tensor | None, state: State | None) -> tuple[Tensor, State]:
        batch, steps = x.shape[:2]
        mask = rev = None
        if lengths is not None:
            run = max(int(lengths.max()), 1)  # steps past every sequence's end are all padding
            x = x[:, :run]
            t = torch.arange(run, device=x.device)
            lens = lengths.to(x.device)
            mask = t.unsqueeze(0) < lens.unsqueeze(1)  # (B, run) True at valid steps
            rev = torch.where(mask, lens.unsqueeze(1) - 1 - t, t)  # (B, run) reverses each valid part
        if state is None:
            state = self.init_state(batch, x.device, x.dtype)
        finals: list[State] = []
        layer_in = x  # (B, run, I)
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                cell = self.cells[k]
                s0 = _map_state(state, lambda s, k=k: s[k])
                inp = layer_in if direction == 0 else self._reverse(layer_in, rev)
                out, final = self._scan(cell, inp, s0, mask)
                outs.append(out if direction == 0 else self._reverse(out, rev))
                finals.append(final)
            layer_in = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]  # (B, run, H*D)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, training=True)
        out = layer_in
        if out.shape[1] < steps:
            out = F.pad(out, (0, 0, 0, steps - out.shape[1]))  # (B, T, H*D)
        return out, _stack(finals)

    @staticmethod
    def _reverse(seq: Tensor, rev: Tensor | None) -> Tensor:
        """Reverse each sequence's valid part in time; padding stays where it is. (B, T, F)."""
        if rev is None:
            return seq.flip(1)
        return seq.gather(1, rev.unsqueeze(-1).expand(-1, -1, seq.shape[-1]))

    @staticmethod
    def _scan(cell: Cell, inp: Tensor, state: State, mask: Tensor | None) -> tuple[Tensor, State]:
        """Run one cell over (B, T, I) from state; mask (B, T) or None -> (outputs (B, T, H), final state)."""
        xp = cell.project_input(inp)  # (B, T, G*H): the input half of every step in one product
        step_masks = mask.t().unsqueeze(-1).unbind(0) if mask is not None else None  # T x (B, 1)
        # under autocast the gate maths comes back in bf16/fp16: keep the carried state in its own dtype
        dtype = cell.output(state).dtype if torch.is_autocast_enabled(inp.device.type) else None
        hs = []
        for t, xp_t in enumerate(xp.unbind(1)):
            new = cell.recur(xp_t, state)
            if dtype is not None:
                new = _map_state(new, lambda s: s.to(dtype))
            state = new if step_masks is None else _where(step_masks[t], new, state)
            hs.append(cell.output(state))
        out = torch.stack(hs, dim=1)  # (B, T, H)
        if mask is not None:
            out = out.masked_fill(~mask.unsqueeze(-1), 0.0)
        return out, state

    # ------------------------------------------------------------------ decoding

    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One time step for decoders: x_t (B, I), state (L, B, H) [pair] or None -> (out (B, H), state)."""
        if self.bidirectional:
            raise ValueError("step() runs one direction only; this Recurrent is bidirectional")
        if x_t.dim() != 2 or x_t.shape[-1] != self.input_size:
            raise ValueError(f"expected x_t of shape (B, {self.input_size}), got {tuple(x_t.shape)}")
        batch = x_t.shape[0]
        self._check_state(state, batch)
        if self.fused:
            out, state = self._run_fused(x_t.unsqueeze(1), state)  # (B, 1, H)
            return out[:, 0], state
        if state is None:
            state = self.init_state(batch, x_t.device, x_t.dtype)
        finals: list[State] = []
        inp = x_t  # (B, I)
        keep = _map_state(state, lambda s: s.dtype) if torch.is_autocast_enabled(x_t.device.type) else None
        for layer, cell in enumerate(self.cells):
            s = cell(inp, _map_state(state, lambda s, k=layer: s[k]))
            if keep is not None:  # as in _scan: the carried state keeps its dtype under autocast
                s = tuple(p.to(d) for p, d in zip(s, keep)) if isinstance(s, tuple) else s.to(keep)
            finals.append(s)
            inp = cell.output(s)  # (B, H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                inp = F.dropout(inp, self.dropout, training=True)
        return inp, _stack(finals)

    def extra_repr(self) -> str:
        return (
            f"cell={self.cell_name!r}, layers={self.num_layers}, bidirectional={self.bidirectional}, "
            f"fused={self.fused}"
        )
