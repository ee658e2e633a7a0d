"""Clustering under constraints: single linkage over accepted pairs, never joining a cannot-link group twice.

Without conflicts the clusters are the connected components of the accepted pairs (scipy, in C). A
component that would hold two items of one cannot-link group (two entities the extractor kept apart in
one document, or two entities already in the graph) is rebuilt by Kruskal's algorithm: pairs in
descending score, ties broken by the items' stable keys, a merge refused when it would join such a pair.
The result depends only on the set of items and scores, never on input order.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from kgbuild.fusion.arrays import unique_counts, unique_sorted


def constrained_clusters(
    n: int, a: np.ndarray, b: np.ndarray, scores: np.ndarray, groups: np.ndarray, rank: np.ndarray
) -> np.ndarray:
    """Cluster label per item (labels are the smallest ``rank`` in each cluster).

    ``a, b, scores``: the accepted pairs; ``groups``: cannot-link group per item (-1: none);
    ``rank``: a stable total order of the items used to break ties and to name clusters.
    """
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    conflicted = _conflicted_components(labels, groups)
    if len(conflicted):
        in_conflict = np.isin(labels, conflicted)
        edge_mask = in_conflict[a]
        fixed = _kruskal(n, a[edge_mask], b[edge_mask], scores[edge_mask], groups, rank, np.flatnonzero(in_conflict))
        offset = labels.max() + 1
        labels[in_conflict] = offset + fixed[in_conflict]
    return _relabel_by_rank(labels, rank)


def _conflicted_components(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Components that contain two items of the same cannot-link group."""
    grouped = groups >= 0
    if not grouped.any():
        return np.zeros(0, np.int64)
    width = int(groups.max()) + 1
    codes, counts = unique_counts(labels[grouped] * width + groups[grouped])
    return unique_sorted(codes[counts > 1] // width)


def _kruskal(
    n: int, a: np.ndarray, b: np.ndarray, scores: np.ndarray, groups: np.ndarray, rank: np.ndarray, members: np.ndarray
) -> np.ndarray:
    """Greedy constrained single linkage over the given pairs; returns a root per item (only ``members`` used)."""
    parent = np.arange(n)
    held: dict[int, set[int]] = {int(i): ({int(groups[i])} if groups[i] >= 0 else set()) for i in members}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    lo = np.minimum(rank[a], rank[b])
    hi = np.maximum(rank[a], rank[b])
    for e in np.lexsort((hi, lo, -scores)):
        ra, rb = find(int(a[e])), find(int(b[e]))
        if ra == rb or held[ra] & held[rb]:
            continue
        if len(held[ra]) < len(held[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        held[ra] |= held.pop(rb)
    roots = np.arange(n)
    for i in members:
        roots[i] = find(int(i))
    return roots


def _relabel_by_rank(labels: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Name each cluster by the smallest rank among its items, so labels do not depend on input order."""
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(smallest, labels, rank)
    return smallest[labels]
