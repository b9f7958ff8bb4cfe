"""PageRank by power iteration, as in the lecture (and Page et al. 1998), in pure numpy.

The graph is given as a non-negative weight matrix ``W`` (dense ``ndarray`` or ``scipy.sparse``):
``W[i, j]`` is the weight of the edge from node ``i`` to node ``j``. Each row is normalised into
transition probabilities; a row with no weight (a *dangling* node: a web page without links, a
sentence similar to no other) links uniformly to all ``N`` nodes, the lecture's ``1/N`` rule.

With ``personalization`` the random surfer teleports to node ``i`` with probability ``v[i]``
instead of ``1/N`` (personalised PageRank, used for the lead and title biases of TextRank);
dangling rows still link uniformly.

    r  <-  (1 - d) * v  +  d * (P^T r  +  (sum of r over dangling nodes) / N)

iterated from ``r = v`` until the L1 change is below ``tol`` or ``max_iter`` is reached. The
result sums to 1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def pagerank(
    weights,
    damping: float = 0.85,
    tol: float = 1e-8,
    max_iter: int = 200,
    personalization: np.ndarray | None = None,
) -> np.ndarray:
    """Return the PageRank vector (N,) of the graph with weight matrix ``weights`` (N, N).

    ``weights`` must be square and non-negative. ``damping`` is the probability of following an
    edge (0.85 in the lecture). ``personalization`` (N,) non-negative, not all zero, is the
    teleport distribution (normalised here); ``None`` means uniform.
    """
    if not 0.0 <= damping <= 1.0:
        raise ValueError(f"damping must be in [0, 1], got {damping}")
    if tol <= 0 or max_iter < 1:
        raise ValueError("tol must be > 0 and max_iter >= 1")
    is_sparse = sp.issparse(weights)
    w = sp.csr_matrix(weights, dtype=np.float64) if is_sparse else np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"weights must be a square matrix, got shape {w.shape}")
    n = w.shape[0]
    if n == 0:
        return np.zeros(0)
    if (w.data if is_sparse else w).min(initial=0.0) < 0:
        raise ValueError("weights must be non-negative")

    if personalization is None:
        v = np.full(n, 1.0 / n)
    else:
        v = np.asarray(personalization, dtype=np.float64).reshape(-1)
        if v.shape != (n,) or v.min() < 0 or v.sum() <= 0:
            raise ValueError("personalization must be a non-negative vector of length N, not all zero")
        v = v / v.sum()

    out_weight = np.asarray(w.sum(axis=1)).reshape(-1)  # (N,)
    dangling = out_weight <= 0
    inv_out = np.zeros(n)
    inv_out[~dangling] = 1.0 / out_weight[~dangling]
    wt = w.T.tocsr() if is_sparse else w.T  # (N, N): P^T r == W^T (r / out_weight)

    r = v.copy()
    for _ in range(max_iter):
        spread = wt @ (r * inv_out)  # mass following edges
        r_new = (1.0 - damping) * v + damping * (spread + r[dangling].sum() / n)
        r_new /= r_new.sum()  # guards against drift in float arithmetic
        delta = np.abs(r_new - r).sum()
        r = r_new
        if delta < tol:
            break
    return r
