"""Blocking: the approximate index finds what exact k-NN finds; name keys pair acronyms and partial names."""

from __future__ import annotations

import numpy as np

from kgbuild.fusion import block
from kgbuild.names import blocking_keys
from kgbuild.fusion.items import ItemTable


def _clustered(n: int, clusters: int, dim: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # low-rank structure like real sentence embeddings, so PCA-64 keeps the neighbourhoods
    centres = rng.standard_normal((clusters, 48)).astype(np.float32) @ rng.standard_normal((48, dim)).astype(np.float32)
    label = rng.integers(0, clusters, n)
    x = centres[label] + 0.5 * np.linalg.norm(centres, axis=1).mean() / np.sqrt(dim) * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), label


def test_faiss_ivf_neighbours_are_as_good_as_exact() -> None:
    x, label = _clustered(4000, 400)
    exact = block.knn(x, 5, "exact")
    approx = block.knn(x, 5, "faiss")
    assert approx.shape == exact.shape == (4000, 5)
    assert not (approx == np.arange(4000)[:, None]).any(), "a point is never its own neighbour"
    same = lambda found: float((label[found] == label[:, None]).mean())  # noqa: E731
    assert same(approx) >= same(exact) - 0.02


def test_tiny_inputs() -> None:
    assert block.knn(np.ones((1, 8), np.float32), 5).shape == (1, 0)
    two = block.knn(np.eye(2, dtype=np.float32), 5)
    assert two.tolist() == [[1], [0]]


def test_name_keys_pair_within_a_type_and_respect_the_cap() -> None:
    names = [["IBM"], ["International Business Machines"], ["IBM"], ["Holmes"], ["Sherlock Holmes"], ["Paris"]]
    types = ["Organization", "Organization", "Person", "Person", "Person", "Location"]
    items = ItemTable.build([str(i) for i in range(6)], types, names, np.eye(6, dtype=np.float32), [0, 1, 2, 3, 4, 5], [-1] * 6)
    a, b = block.key_pairs(items, cap=64)
    pairs = set(zip(a.tolist(), b.tolist()))
    assert (0, 1) in pairs, "acronym meets its expansion"
    assert (3, 4) in pairs, "a surname meets the full name"
    assert (0, 2) not in pairs, "never across types"
    # over the cap a block is not paired exhaustively: each member meets its next WINDOW members only
    capped = {(min(p), max(p)) for p in zip(*(x.tolist() for x in block.key_pairs(items, cap=1)))}
    assert capped <= pairs and (3, 4) in capped


def test_a_block_over_the_cap_stays_connected_in_linear_pairs() -> None:
    # a popular entity at scale: 500 units under one name, more than block_cap; before, such a block gave no pair
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = 500
    x, _ = _clustered(n, 1)
    items = ItemTable.build([str(i) for i in range(n)], ["Person"] * n, [["Nahol Vuhe"]] * n, x, np.arange(n), np.full(n, -1))
    a, b = block.key_pairs(items, cap=64)
    assert len(a) <= block.WINDOW * n * len(blocking_keys("Nahol Vuhe"))  # linear: WINDOW per member and key
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    assert connected_components(graph, directed=False)[0] == 1


def test_candidates_skip_cannot_link_pairs() -> None:
    items = ItemTable.build(["a", "b", "c"], ["Person"] * 3, [["Ann Lee"], ["Ann Lee"], ["Ann Lee"]],
                            np.ones((3, 4), np.float32), [0, 0, 1], [0, 0, 1])
    a, b = block.candidate_pairs(items, k=5, cap=64)
    assert set(zip(a.tolist(), b.tolist())) == {(0, 2), (1, 2)}
