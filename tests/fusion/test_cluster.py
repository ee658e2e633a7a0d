"""Constrained clustering: cannot-link groups hold, and the result does not depend on input order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.fusion.cluster import constrained_clusters


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def test_components_without_conflict() -> None:
    a, b = np.array([0, 1, 3]), np.array([1, 2, 4])
    labels = constrained_clusters(6, a, b, np.array([0.9, 0.8, 0.7]), np.full(6, -1), np.arange(6))
    assert _partition(labels) == {frozenset({0, 1, 2}), frozenset({3, 4}), frozenset({5})}


def test_must_not_link_keeps_the_strongest_merge() -> None:
    # 0 and 2 are apart in one document (group 7); 1 links to both, more strongly to 2
    a, b = np.array([0, 1]), np.array([1, 2])
    groups = np.array([7, -1, 7])
    labels = constrained_clusters(3, a, b, np.array([0.6, 0.9]), groups, np.arange(3))
    assert _partition(labels) == {frozenset({0}), frozenset({1, 2})}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 12),
    data=st.data(),
)
def test_partition_is_independent_of_item_order(n: int, data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))
    pairs = sorted({(min(x, y), max(x, y)) for x, y in pairs if x != y})
    scores = data.draw(st.lists(st.sampled_from([0.5, 0.6, 0.7, 0.8]), min_size=len(pairs), max_size=len(pairs)))
    groups = np.array(data.draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)))
    perm = np.array(data.draw(st.permutations(list(range(n)))))
    a = np.array([p[0] for p in pairs], np.int64)
    b = np.array([p[1] for p in pairs], np.int64)
    s = np.array(scores, float)
    rank = np.arange(n)
    base = constrained_clusters(n, a, b, s, groups, rank)
    # the same items under new positions: item i moves to position inv[i]; its rank travels with it
    inv = np.argsort(perm)
    moved = constrained_clusters(n, inv[a], inv[b], s, groups[perm], rank[perm])
    assert _partition(base) == {frozenset(int(perm[i]) for i in g) for g in _partition(moved)}
    for members in _partition(base):
        held = [groups[i] for i in members if groups[i] >= 0]
        assert len(held) == len(set(held))
