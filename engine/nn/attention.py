"""Attention over a padded set of keys (Luong et al. 2015; Bahdanau et al. 2015).

``α_ts = softmax_s score(h_t, h̄_s)`` over the valid keys only, ``c_t = Σ_s α_ts h̄_s``, and the
Luong attentional hidden state ``h~_t = tanh(W_c [c_t; h_t])``. Weights are exactly zero on
padding; a query whose keys are all padding gets zero weights and a zero context, never NaN.

Scores (registry ``SCORES``), each mapping queries (B, T, Hq) and keys (B, S, Hk) to (B, T, S):

* ``dot``      ``h_tᵀ h̄_s``                       (Luong; needs Hq == Hk)
* ``general``  ``h_tᵀ W_a h̄_s``                   (Luong)
* ``concat``   ``v_aᵀ tanh(W_a [h_t; h̄_s])``      (Luong; one matrix over the concatenation)
* ``additive`` ``v_aᵀ tanh(W_q h_t + W_k h̄_s + b)`` (Bahdanau; separate query/key maps, a bias)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DotScore(nn.Module):
    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        if query_dim != key_dim:
            raise ValueError(f"'dot' attention needs query_dim == key_dim, got {query_dim} and {key_dim}")

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(queries, keys.transpose(1, 2))  # (B, T, S)


class GeneralScore(nn.Module):
    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.W_a = nn.Linear(query_dim, key_dim, bias=False)  # qᵀ W_a, computed on the (fewer) queries

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(self.W_a(queries), keys.transpose(1, 2))  # (B, T, S)


class ConcatScore(nn.Module):
    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.query_dim = query_dim
        self.W_a = nn.Linear(query_dim + key_dim, attn_dim, bias=False)  # acts on [q; k]
        self.v_a = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        # W [q; k] = W[:, :Hq] q + W[:, Hq:] k: same maths, without materialising every pair's concat
        w_q, w_k = self.W_a.weight[:, : self.query_dim], self.W_a.weight[:, self.query_dim :]
        q = F.linear(queries, w_q).unsqueeze(2)  # (B, T, 1, A)
        k = F.linear(keys, w_k).unsqueeze(1)  # (B, 1, S, A)
        return self.v_a(torch.tanh(q + k)).squeeze(-1)  # (B, T, S)


class AdditiveScore(nn.Module):
    def __init__(self, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.W_q = nn.Linear(query_dim, attn_dim, bias=False)
        self.W_k = nn.Linear(key_dim, attn_dim, bias=True)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        q = self.W_q(queries).unsqueeze(2)  # (B, T, 1, A)
        k = self.W_k(keys).unsqueeze(1)  # (B, 1, S, A)
        return self.v(torch.tanh(q + k)).squeeze(-1)  # (B, T, S)


# score name -> module class (query_dim, key_dim, attn_dim)
SCORES: dict[str, type[nn.Module]] = {
    "dot": DotScore,
    "general": GeneralScore,
    "concat": ConcatScore,
    "additive": AdditiveScore,
}


def masked_softmax(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the last axis of scores (..., S) restricted to mask (..., S) True=valid.

    Padding gets exactly 0; a row with no valid position gets all zeros.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1) * mask.to(scores.dtype)  # exp underflows to 0 on padding


class Attention(nn.Module):
    """Masked attention of queries over keys with a registered score function.

    ``attn_dim`` is the hidden size of the ``concat`` / ``additive`` scorers (default: key_dim).
    """

    def __init__(self, query_dim: int, key_dim: int, score: str = "general", attn_dim: int | None = None):
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"unknown attention score {score!r}; known: {', '.join(SCORES)}")
        self.query_dim = query_dim
        self.key_dim = key_dim
        self.score_name = score
        self.scorer = SCORES[score](query_dim, key_dim, attn_dim or key_dim)

    def _check(self, queries: Tensor, keys: Tensor, mask: Tensor | None) -> None:
        if queries.dim() != 3 or queries.shape[-1] != self.query_dim:
            raise ValueError(f"expected queries (B, T, {self.query_dim}), got {tuple(queries.shape)}")
        if keys.dim() != 3 or keys.shape[-1] != self.key_dim or keys.shape[0] != queries.shape[0]:
            raise ValueError(f"expected keys (B, S, {self.key_dim}), got {tuple(keys.shape)}")
        if mask is not None and (mask.dtype != torch.bool or tuple(mask.shape) != tuple(keys.shape[:2])):
            raise ValueError(
                f"mask must be bool (B, S) = {tuple(keys.shape[:2])}, got {mask.dtype} {tuple(mask.shape)}"
            )

    def forward_seq(self, queries: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """queries (B, T, Hq), keys (B, S, Hk), mask (B, S) bool -> contexts (B, T, Hk), weights (B, T, S)."""
        self._check(queries, keys, mask)
        scores = self.scorer(queries, keys)  # (B, T, S)
        weights = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))  # (B, T, S)
        contexts = torch.bmm(weights.to(keys.dtype), keys)  # (B, T, Hk)
        return contexts, weights

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """query (B, Hq), keys (B, S, Hk), mask (B, S) bool True=valid -> context (B, Hk), weights (B, S)."""
        if query.dim() != 2:
            raise ValueError(f"expected query (B, {self.query_dim}), got {tuple(query.shape)}")
        contexts, weights = self.forward_seq(query.unsqueeze(1), keys, mask)
        return contexts[:, 0], weights[:, 0]

    def extra_repr(self) -> str:
        return f"{self.query_dim}, {self.key_dim}, score={self.score_name!r}"


class LuongOutput(nn.Module):
    """The attentional hidden state ``h~_t = tanh(W_c [c_t; h_t])``; any leading shape."""

    def __init__(self, context_dim: int, hidden_dim: int, out_dim: int | None = None):
        super().__init__()
        self.W_c = nn.Linear(context_dim + hidden_dim, out_dim or hidden_dim, bias=False)

    def forward(self, context: Tensor, hidden: Tensor) -> Tensor:
        """context (..., Hc), hidden (..., H) -> (..., out_dim)."""
        return torch.tanh(self.W_c(torch.cat([context, hidden], dim=-1)))
