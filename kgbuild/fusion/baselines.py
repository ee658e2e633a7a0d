"""The resolvers the anchor tools ship, reimplemented for a side-by-side measurement.

- exact: same type and identical name (microsoft/graphrag merges entities by title; neo4j-graphrag's
  default ``SinglePropertyExactMatchResolver`` merges nodes of one label with an equal ``name``).
- fuzzy_wratio_0.8: neo4j-graphrag's ``FuzzyMatchResolver``: RapidFuzz ``WRatio`` on the default-processed
  names (lower case, alphanumerics) >= 0.8 (80 on RapidFuzz's 0-100 scale), within one label; the
  overlapping similar pairs are then consolidated into sets, i.e. connected components.
- cosine_0.97: llm-graph-builder's duplicate detection: cosine >= 0.97 between entity embeddings, here the
  same all-MiniLM-L6-v2 (its default embedding model) over the entity name, within one label.
Each returns a cluster label per item; like the originals, none knows about documents. :func:`per_unit`
runs one over every name of units that carry several names (an in-document entity's mentions) and links two
units when any of their names fell in one cluster: what "same names for every resolver" means in evaluation.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz, utils
from rapidfuzz.process import cdist
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from kgbuild.fusion.block import THREADS

BASELINES = ("exact", "fuzzy_wratio_0.8", "cosine_0.97")


def exact_match(names: Sequence[str], types: Sequence[str]) -> np.ndarray:
    """One cluster per distinct (type, name)."""
    index: dict[tuple[str, str], int] = {}
    return np.fromiter((index.setdefault((t, n), len(index)) for n, t in zip(names, types)), np.int64, len(names))


def _components_per_type(types: Sequence[str], linked: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Connected components of the pairs ``linked(members)`` returns for each type's members."""
    labels = np.zeros(len(types), np.int64)
    offset = 0
    type_array = np.asarray(types, dtype=object)
    for type_name in sorted(set(types)):
        members = np.flatnonzero(type_array == type_name)
        rows, cols = linked(members)
        graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(len(members), len(members)))
        count, local = connected_components(graph, directed=False)
        labels[members] = local + offset
        offset += count
    return labels


def fuzzy_match(names: Sequence[str], types: Sequence[str], threshold: float = 0.8) -> np.ndarray:
    """neo4j-graphrag FuzzyMatchResolver: WRatio(default_process) / 100 >= threshold, connected components."""

    def linked(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        subset = [names[i] for i in members]
        scores = cdist(subset, subset, scorer=fuzz.WRatio, processor=utils.default_process, workers=THREADS, dtype=np.uint8)
        rows, cols = np.nonzero(scores >= threshold * 100)
        return rows, cols

    return _components_per_type(types, linked)


def cosine_match(embeddings: np.ndarray, types: Sequence[str], threshold: float = 0.97) -> np.ndarray:
    """llm-graph-builder: cosine of unit-norm name embeddings >= threshold, connected components."""

    def linked(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = embeddings[members]
        rows, cols = np.nonzero(x @ x.T >= threshold)
        return rows, cols

    return _components_per_type(types, linked)


def per_unit(
    names: Sequence[Sequence[str]], types: Sequence[str], resolver: Callable[[Sequence[str], Sequence[str]], np.ndarray]
) -> np.ndarray:
    """Cluster units by their names: ``resolver`` over all (unit, name) rows, units joined through shared clusters."""
    owner = np.repeat(np.arange(len(names)), [len(n) for n in names])
    flat = [n for unit in names for n in unit]
    row_labels = np.asarray(resolver(flat, [types[u] for u in owner]), np.int64)
    n_units = len(names)
    graph = coo_matrix(
        (np.ones(len(flat), np.int8), (owner, n_units + row_labels)), shape=(n_units + int(row_labels.max(initial=-1)) + 1,) * 2
    )
    _, labels = connected_components(graph, directed=False)
    return labels[:n_units].astype(np.int64)
