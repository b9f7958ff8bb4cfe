"""PageRank by power iteration: the lecture's example by hand, a dense eigenvector, networkx."""

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp

from engine.summarize.pagerank import pagerank

# The lecture's four pages: w1 -> [w4, w2], w2 -> [w3, w1], w3 -> [] (dangling), w4 -> [w1].
LECTURE_LINKS = np.array(
    [
        [0, 1, 0, 1],
        [1, 0, 1, 0],
        [0, 0, 0, 0],
        [1, 0, 0, 0],
    ],
    dtype=float,
)


def hand_computed_lecture_ranks() -> list[Fraction]:
    """The stationary ranks of the lecture's matrix M with damping d = 0.85, solved by hand.

    M (rows: from) = [[0, .5, 0, .5], [.5, 0, .5, 0], [.25]*4 (dangling w3), [1, 0, 0, 0]].
    With a = (1 - d) / 4, r = a + d * M^T r reads
        r1 = a + d (r2/2 + r3/4 + r4)
        r2 = a + d (r1/2 + r3/4)
        r3 = a + d (r2/2 + r3/4)
        r4 = a + d (r1/2 + r3/4)      -> r4 = r2
    so r1 = a + d (3 r2 / 2 + r3 / 4), r3 = (a + d r2 / 2) / (1 - d/4), and with r1 + 2 r2 + r3 = 1
    the exact solution is r = (1820, 1140, 851, 1140) / 4951.
    """
    d = Fraction(85, 100)
    a = (1 - d) / 4
    # Substitute r3 and r1 into r2 = a + d (r1/2 + r3/4): linear in r2.
    # r3 = c0 + c1 r2 with c0 = a / (1 - d/4), c1 = (d/2) / (1 - d/4)
    c0, c1 = a / (1 - d / 4), (d / 2) / (1 - d / 4)
    # r1 = a + d (3/2 r2 + (c0 + c1 r2)/4) = e0 + e1 r2
    e0, e1 = a + d * c0 / 4, d * (Fraction(3, 2) + c1 / 4)
    # r2 = a + d ((e0 + e1 r2)/2 + (c0 + c1 r2)/4)  ->  r2 (1 - d e1/2 - d c1/4) = a + d e0/2 + d c0/4
    r2_unnormalised = (a + d * e0 / 2 + d * c0 / 4) / (1 - d * e1 / 2 - d * c1 / 4)
    r = [e0 + e1 * r2_unnormalised, r2_unnormalised, c0 + c1 * r2_unnormalised, r2_unnormalised]
    return [x / sum(r) for x in r]


def test_lecture_example_matches_hand_computation():
    expected = hand_computed_lecture_ranks()
    assert expected == [Fraction(1820, 4951), Fraction(1140, 4951), Fraction(851, 4951), Fraction(1140, 4951)]
    ranks = pagerank(LECTURE_LINKS, damping=0.85, tol=1e-12, max_iter=1000)
    np.testing.assert_allclose(ranks, [float(x) for x in expected], atol=1e-10)
    assert ranks.sum() == pytest.approx(1.0)
    assert np.argmax(ranks) == 0  # w1 has the most in-links


def google_matrix(weights, damping, teleport=None):
    """Dense Google matrix G (rows: from), dangling rows uniform, for the eigenvector reference."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    v = np.full(n, 1 / n) if teleport is None else np.asarray(teleport) / np.sum(teleport)
    out = w.sum(axis=1, keepdims=True)
    p = np.where(out > 0, w / np.where(out > 0, out, 1), 1 / n)
    return damping * p + (1 - damping) * v[None, :]


def dominant_left_eigenvector(g):
    vals, vecs = np.linalg.eig(g.T)
    v = np.real(vecs[:, np.argmax(np.real(vals))])
    return v / v.sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_dense_eigenvector_on_random_weighted_graphs(seed):
    rng = np.random.default_rng(seed)
    w = rng.random((12, 12)) * (rng.random((12, 12)) < 0.4)
    w[3] = 0  # a dangling row
    np.fill_diagonal(w, 0)
    expected = dominant_left_eigenvector(google_matrix(w, 0.85))
    np.testing.assert_allclose(pagerank(w, tol=1e-13, max_iter=2000), expected, atol=1e-9)


def test_personalised_matches_eigenvector():
    rng = np.random.default_rng(5)
    w = rng.random((9, 9))
    np.fill_diagonal(w, 0)
    teleport = 1.0 / np.arange(1, 10) ** 2
    expected = dominant_left_eigenvector(google_matrix(w, 0.85, teleport))
    np.testing.assert_allclose(
        pagerank(w, personalization=teleport, tol=1e-13, max_iter=2000), expected, atol=1e-9
    )


def test_matches_networkx():
    nx = pytest.importorskip("networkx")
    rng = np.random.default_rng(3)
    w = rng.random((15, 15)) * (rng.random((15, 15)) < 0.3)
    np.fill_diagonal(w, 0)
    w[7] = 0  # dangling
    graph = nx.DiGraph()
    graph.add_nodes_from(range(15))
    for i, j in zip(*np.nonzero(w)):
        graph.add_edge(int(i), int(j), weight=float(w[i, j]))
    teleport = {i: 1.0 / (i + 1) for i in range(15)}
    uniform = dict.fromkeys(range(15), 1.0)
    for pers in (None, teleport):
        ref = nx.pagerank(graph, alpha=0.85, personalization=pers, dangling=uniform, tol=1e-13, max_iter=2000)
        ours = pagerank(
            w, personalization=None if pers is None else np.array([pers[i] for i in range(15)]), tol=1e-13
        )
        np.testing.assert_allclose(ours, [ref[i] for i in range(15)], atol=1e-9)


def test_sparse_equals_dense():
    rng = np.random.default_rng(4)
    w = rng.random((30, 30)) * (rng.random((30, 30)) < 0.2)
    w[[2, 11]] = 0
    np.testing.assert_allclose(pagerank(sp.csr_matrix(w)), pagerank(w), atol=1e-12)


def test_all_dangling_is_uniform_and_isolated_node_gets_teleport_share():
    np.testing.assert_allclose(pagerank(np.zeros((5, 5))), np.full(5, 0.2))
    # A node with no links in or out keeps only what teleporting and dangling rows give it.
    w = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)
    r = pagerank(w, tol=1e-13, max_iter=2000)
    assert r.sum() == pytest.approx(1.0)
    assert r[0] == pytest.approx(r[1]) and r[2] < r[0]


def test_edge_cases_and_errors():
    assert pagerank(np.zeros((0, 0))).shape == (0,)
    np.testing.assert_allclose(pagerank(np.zeros((1, 1))), [1.0])
    with pytest.raises(ValueError, match="square"):
        pagerank(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        pagerank(np.array([[0, -1], [1, 0]], dtype=float))
    with pytest.raises(ValueError, match="damping"):
        pagerank(np.ones((2, 2)), damping=1.5)
    with pytest.raises(ValueError, match="personalization"):
        pagerank(np.ones((2, 2)), personalization=np.zeros(2))


def test_max_iter_bounds_the_work():
    # One iteration from the uniform start on the lecture graph is the hand-computed first step.
    r1 = pagerank(LECTURE_LINKS, max_iter=1)
    m = google_matrix(LECTURE_LINKS, 0.85)
    np.testing.assert_allclose(r1, np.full(4, 0.25) @ m, atol=1e-12)
