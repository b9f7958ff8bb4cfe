"""Look inside a recurrent network: gradient flow through time, gate activations, embeddings.

* :func:`gradient_flow` runs a :class:`~engine.nn.recurrent.Recurrent` cell by cell, one step at a
  time, and returns ``||dLoss/dh_t||`` for every layer and step — the lecture's vanishing /
  exploding gradient picture. (A fused GRU/LSTM is probed through step cells holding a copy of its
  weights: same maths, same layout.)
* :func:`gate_activations` returns each gate's activation over time, ``(T, H)`` per gate, for
  heat maps: GRU ``reset``/``update``, LSTM ``input``/``forget``/``output`` (and the candidate and
  cell), an Elman cell's ``pre_activation``.
* :func:`nearest_rows`, :func:`pca_2d`: nearest neighbours by cosine similarity in an embedding
  matrix, and a 2-D PCA projection (numpy SVD).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from engine.nn.cells import Cell, make_cell
from engine.nn.recurrent import Recurrent

State = Tensor | tuple[Tensor, Tensor]


def step_cells(rnn: Recurrent) -> list[Cell]:
    """One cell per layer that runs ``rnn`` step by step (forward direction only).

    The step-loop runner's own cells are returned as they are (gradients reach its parameters);
    for the fused path, new cells get a copy of the fused weights. A one-layer bidirectional RNN
    (the chat model's utterance encoder) gives its forward direction, which reads the input as
    a person does; deeper bidirectional stacks mix both directions between layers and are refused.
    """
    if rnn.bidirectional and rnn.num_layers > 1:
        raise ValueError("probes follow one direction in time; this bidirectional stack mixes both")
    if not rnn.fused:
        return list(rnn.cells)[:: rnn.num_directions]
    ref = rnn.rnn.weight_ih_l0
    cells = []
    for layer in range(rnn.num_layers):
        in_size = rnn.input_size if layer == 0 else rnn.hidden_size
        cell = make_cell(rnn.cell_name, in_size, rnn.hidden_size).to(ref.device, ref.dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(rnn.rnn, f"{name}_l{layer}"))
        cells.append(cell)
    return cells


def _layer_states(rnn: Recurrent, cells: list[Cell], state: State | None, batch: int, x: Tensor) -> list:
    if state is None:
        return [c.init_state(batch, x.device, x.dtype) for c in cells]
    if isinstance(state, tuple):
        return [(state[0][k], state[1][k]) for k in range(len(cells))]
    return [state[k] for k in range(len(cells))]


def gradient_flow(
    rnn: Recurrent,
    x: Tensor,
    loss_fn: Callable[[Tensor], Tensor],
    state: State | None = None,
) -> dict:
    """Gradient norms of ``loss_fn(outputs)`` with respect to every hidden state.

    ``x`` (B, T, I); ``loss_fn`` maps the last layer's outputs (B, T, H) to a scalar; ``state`` as
    ``Recurrent.forward`` takes it ((L, B, H) or a pair), zeros when None. Returns
    ``{"h": (L, T) array, "c": (L, T) array or None, "loss": float}``: entry ``[l, t]`` is the mean
    over the batch of ``||dLoss/dh_t||`` at layer ``l`` (``c``: the LSTM memory cell's).
    """
    if x.dim() != 3:
        raise ValueError(f"expected x of shape (B, T, I), got {tuple(x.shape)}")
    cells = step_cells(rnn)
    batch, steps = x.shape[:2]
    with torch.enable_grad():
        states = _layer_states(rnn, cells, state, batch, x)
        hs: list[list[Tensor]] = [[] for _ in cells]
        cs: list[list[Tensor]] = [[] for _ in cells]
        outs = []
        for t in range(steps):
            inp = x[:, t]  # (B, I)
            for layer, cell in enumerate(cells):
                states[layer] = cell(inp, states[layer])
                s = states[layer]
                inp = cell.output(s)  # (B, H)
                hs[layer].append(inp)
                if isinstance(s, tuple):
                    cs[layer].append(s[1])
            outs.append(inp)
        out = torch.stack(outs, dim=1)  # (B, T, H)
        loss = loss_fn(out)
        wanted = [h for layer in hs for h in layer] + [c for layer in cs for c in layer]
        grads = torch.autograd.grad(loss, wanted, allow_unused=True)

    def norms(part: Sequence) -> np.ndarray:
        vals = [0.0 if g is None else float(g.detach().float().norm(dim=-1).mean()) for g in part]
        return np.asarray(vals, dtype=np.float64).reshape(len(cells), steps)  # (L, T)

    n_h = len(cells) * steps
    return {
        "h": norms(grads[:n_h]),
        "c": norms(grads[n_h:]) if cs[0] else None,
        "loss": float(loss.detach()),
    }


def gate_activations(rnn: Recurrent, x: Tensor, row: int = 0) -> list[dict[str, np.ndarray]]:
    """Per layer, each gate's activations over time for batch row ``row``: ``{name: (T, H)}``.

    ``x`` (B, T, I). Values of sigmoid gates lie in [0, 1]; the candidate and the Elman
    pre-activation are unbounded (tanh candidates in [-1, 1]).
    """
    if x.dim() != 3:
        raise ValueError(f"expected x of shape (B, T, I), got {tuple(x.shape)}")
    cells = step_cells(rnn)
    per_layer: list[dict[str, list[Tensor]]] = [{} for _ in cells]
    with torch.no_grad():
        states = _layer_states(rnn, cells, None, x.shape[0], x)
        for t in range(x.shape[1]):
            inp = x[:, t]
            for layer, cell in enumerate(cells):
                states[layer], gates = cell.forward_with_gates(inp, states[layer])
                inp = cell.output(states[layer])
                for name, g in gates.items():
                    per_layer[layer].setdefault(name, []).append(g[row])
    return [
        {name: torch.stack(vals).float().cpu().numpy() for name, vals in layer.items()}  # (T, H)
        for layer in per_layer
    ]


# -- embeddings ---------------------------------------------------------------------------------


def nearest_rows(
    matrix: np.ndarray, query: np.ndarray, k: int = 10, exclude: Sequence[int] = ()
) -> list[tuple[int, float]]:
    """The ``k`` rows of ``matrix`` (N, D) most cosine-similar to ``query`` (D,), best first."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    m = np.asarray(matrix, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    if m.ndim != 2 or q.shape != (m.shape[1],):
        raise ValueError(f"matrix must be (N, D) and query (D,), got {m.shape} and {q.shape}")
    sims = m @ q / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-12)  # (N,)
    sims[list(exclude)] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(int(i), float(sims[i])) for i in order if np.isfinite(sims[i])]


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """Project (N, D) vectors on their first two principal components -> (N, 2)."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2:
        raise ValueError(f"PCA needs at least two vectors as an (N, D) array, got shape {v.shape}")
    centred = v - v.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    out = centred @ comps.T  # (N, <=2)
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out
