"""Clustering under constraints that cannot chain: a merge is checked against every member of both clusters.

Accepted pairs (score above the type's threshold) are merged in descending score, ties broken by the
items' stable keys, and a merge of two clusters is refused when any member of one and any member of the
other

* sit in one cannot-link group (two entities the extractor kept apart in one document, or two entities
  already in the graph),
* form a vetoed pair (the scorer found them clearly different, or their person names differ in a given or
  family name: "Boris Yeltsin" / "Naina Yeltsin"), or
* fail ``compatible`` (checked for watched items, e.g. people: "Lebed" / "Yeltsin" even when that pair was
  never scored): every name of the smaller cluster against the core names of the larger. A cluster's core
  names are those a good share of its items carry, so in an entity of hundreds of mentions two one-off
  typos of its name ("Vuha" / "Vhue") do not read as two people and split it.

So "Yeltsin" may join "Boris Yeltsin" or "Naina Yeltsin" but never both, whatever the order. Components of
the accepted pairs that hold no conflict (the great majority) are taken as they are (scipy, in C); only the
others go through the greedy merge. The result depends only on the set of items, pairs and scores.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from kgbuild.fusion.arrays import unique_counts, unique_sorted

Compatible = Callable[[int, int], bool]


def constrained_clusters(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    rank: np.ndarray,
    veto: tuple[np.ndarray, np.ndarray] | None = None,
    family: np.ndarray | None = None,
    compatible: Compatible | None = None,
    name_ids: Callable[[int], tuple[int, ...]] | None = None,
    watch: tuple[np.ndarray, np.ndarray] | None = None,
    name_class: Callable[[int], int] = lambda _: 0,
) -> np.ndarray:
    """Cluster label per item (labels are the smallest ``rank`` in each cluster).

    ``a, b, scores``: the accepted pairs; ``groups``: cannot-link group per item (-1: none);
    ``rank``: a stable total order of the items used to break ties and to name clusters;
    ``veto``: pairs that may never end in one cluster; ``family``: per item a name key (-1: not watched),
    a component whose watched items carry two keys, or that holds a ``watch`` pair (two people whose names
    differ), is checked merge by merge: every name (``name_ids`` of an item) of the smaller cluster's watched
    items against every core name (see :func:`_core`, ``name_class``) of the larger's, with ``compatible``.
    """
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    va, vb = veto if veto is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    conflicted = [_conflicted_components(labels, groups), labels[va[labels[va] == labels[vb]]]]
    if family is not None and compatible is not None and name_ids is not None:
        conflicted.append(_conflicted_components(labels, family, distinct=True))
        if watch is not None:
            wa, wb = watch
            conflicted.append(labels[wa[labels[wa] == labels[wb]]])
    conflicted_all = unique_sorted(np.concatenate(conflicted).astype(np.int64))
    if len(conflicted_all):
        in_conflict = np.isin(labels, conflicted_all)
        edge_mask = in_conflict[a]
        keep_veto = in_conflict[va] & in_conflict[vb]
        fixed = _greedy(
            n, a[edge_mask], b[edge_mask], scores[edge_mask], groups, rank, np.flatnonzero(in_conflict),
            (va[keep_veto], vb[keep_veto]), family, compatible, name_ids, name_class,
        )
        offset = labels.max() + 1
        labels[in_conflict] = offset + fixed[in_conflict]
    return _relabel_by_rank(labels, rank)


def _conflicted_components(labels: np.ndarray, groups: np.ndarray, distinct: bool = False) -> np.ndarray:
    """Components holding two items of one cannot-link group (or, with ``distinct``, two different keys)."""
    grouped = groups >= 0
    if not grouped.any():
        return np.zeros(0, np.int64)
    width = int(groups.max()) + 1
    codes, counts = unique_counts(labels[grouped] * width + groups[grouped])
    if not distinct:
        return unique_sorted(codes[counts > 1] // width)
    comps, per_comp = unique_counts(codes // width)
    return comps[per_comp > 1]


def _greedy(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    rank: np.ndarray,
    members: np.ndarray,
    veto: tuple[np.ndarray, np.ndarray],
    family: np.ndarray | None,
    compatible: Compatible | None,
    name_ids: Callable[[int], tuple[int, ...]] | None,
    name_class: Callable[[int], int],
) -> np.ndarray:
    """Merges in descending score, each checked against every member of both clusters; a root per item."""
    parent = np.arange(n)
    held: dict[int, set[int]] = {int(i): ({int(groups[i])} if groups[i] >= 0 else set()) for i in members}
    vetoed: dict[int, set[int]] = {}
    for x, y in zip(veto[0].tolist(), veto[1].tolist()):
        vetoed.setdefault(x, set()).add(y)
        vetoed.setdefault(y, set()).add(x)
    watched = family is not None and compatible is not None and name_ids is not None
    body: dict[int, list[int]] = {int(i): [int(i)] for i in members}
    named: dict[int, Counter[int]] = {
        int(i): (Counter(set(name_ids(int(i)))) if watched and family[i] >= 0 else Counter()) for i in members  # type: ignore[index,misc]
    }

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def allowed(ra: int, rb: int) -> bool:
        if held[ra] & held[rb]:
            return False
        small, large = (body[ra], rb) if len(body[ra]) <= len(body[rb]) else (body[rb], ra)
        for x in small:
            for y in vetoed.get(x, ()):
                if find(y) == large:
                    return False
        if watched:
            small_names, large_names = (named[ra], named[rb]) if len(body[ra]) <= len(body[rb]) else (named[rb], named[ra])
            core = _core(large_names, name_class)
            return all(compatible(x, y) for x in small_names for y in core)  # type: ignore[misc]
        return True

    lo = np.minimum(rank[a], rank[b])
    hi = np.maximum(rank[a], rank[b])
    for e in np.lexsort((hi, lo, -scores)):
        ra, rb = find(int(a[e])), find(int(b[e]))
        if ra == rb or not allowed(ra, rb):
            continue
        if len(body[ra]) < len(body[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        held[ra] |= held.pop(rb)
        body[ra].extend(body.pop(rb))
        named[ra].update(named.pop(rb))
    roots = np.arange(n)
    for i in members:
        roots[i] = find(int(i))
    return roots


def _core(names: Counter[int], name_class: Callable[[int], int]) -> list[int]:
    """The names a cluster is known by: of each class of names (one word, several: "Yeltsin", "Boris
    Yeltsin"), those carried by at least a quarter as many of its items as the class's most common name. In a
    small cluster that is every name; in one of hundreds of mentions a one-off typo ("Nahol Vihe" among
    "Nahol Vuhe") is left out, since two typos of one name may look like two names."""
    top: dict[int, int] = {}
    for name, count in names.items():
        kind = name_class(name)
        top[kind] = max(top.get(kind, 0), count)
    return [name for name, count in names.items() if 4 * count >= top[name_class(name)]]


def _relabel_by_rank(labels: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Name each cluster by the smallest rank among its items, so labels do not depend on input order."""
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(smallest, labels, rank)
    return smallest[labels]
