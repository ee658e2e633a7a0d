"""The resolver: block, score, threshold and cluster a table of items; the core every fusion path shares.

The Fuser (documents in a batch, entities already in the graph), the evaluation and the scale benchmark
all call :func:`resolve`, so what is measured is what runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from kgbuild.fusion.block import candidate_pairs
from kgbuild.fusion.cluster import constrained_clusters
from kgbuild.fusion.config import FusionConfig
from kgbuild.fusion.items import ItemTable, take
from kgbuild.fusion.aliases import PERSON, name_kind, persons_compatible
from kgbuild.fusion.score import probabilities, same_document, score_pairs


@dataclass
class Resolution:
    """Cluster labels in input order (equal label: same entity) and what it took to get them."""

    labels: np.ndarray
    candidates: int
    accepted: int
    seconds: dict[str, float] = field(default_factory=dict)


def thresholds_for(items: ItemTable, config: FusionConfig, type_labels: Mapping[str, tuple[str, ...]]) -> np.ndarray:
    """(n_types, 2) merge thresholds: column 0 across documents, column 1 within one document."""
    return np.array(
        [
            [config.threshold(scope, name, tuple(type_labels.get(name, ()))) for scope in ("cross_document", "same_document")]
            for name in items.type_names
        ],
        np.float64,
    ).reshape(len(items.type_names), 2)


def resolve(
    items: ItemTable,
    config: FusionConfig,
    type_labels: Mapping[str, tuple[str, ...]] | None = None,
    backend: str = "auto",
) -> Resolution:
    """Cluster the items; the result does not depend on their order (work happens in stable-key order)."""
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    order = np.array(sorted(range(len(items)), key=items.keys.__getitem__), np.int64)
    ordered = take(items, order)
    a, b = candidate_pairs(ordered, config.neighbours, config.block_cap, backend)
    seconds["block"] = time.perf_counter() - clock
    clock = time.perf_counter()
    kinds = np.array([name_kind(t, tuple((type_labels or {}).get(t, ()))) for t in ordered.type_names], np.int64)
    features, conflict = score_pairs(ordered, a, b, kinds)
    scores = probabilities(features, config)
    seconds["score"] = time.perf_counter() - clock
    clock = time.perf_counter()
    limits = thresholds_for(ordered, config, type_labels or {})
    same_doc = same_document(ordered, a, b)
    vetoed = conflict | (scores < config.veto)
    accepted = (scores >= limits[ordered.types[a], same_doc]) & ~vetoed if len(a) else np.zeros(0, bool)
    rank = np.arange(len(ordered), dtype=np.int64)
    labels = constrained_clusters(
        len(ordered), a[accepted], b[accepted], scores[accepted], ordered.groups, rank,
        veto=(a[vetoed], b[vetoed]), **person_checks(ordered, kinds == PERSON),
    )
    seconds["cluster"] = time.perf_counter() - clock
    out = np.empty(len(items), np.int64)
    out[order] = labels
    return Resolution(out, int(len(a)), int(accepted.sum()), seconds)


def person_checks(items: ItemTable, person_types: np.ndarray) -> dict:
    """What the clustering needs to keep people apart whose names differ, even through pairs never scored:
    a family-name key per person item (-1 for other types), its name ids, and the name test."""
    names = items.names
    first_name = items.name_ids[items.name_ptr[:-1]]
    family = np.where(person_types[items.types], names.last_id[first_name], -1).astype(np.int64)
    family[family < 0] = -1

    def name_ids(i: int) -> tuple[int, ...]:
        return tuple(items.name_ids[items.name_ptr[i] : items.name_ptr[i + 1]].tolist())

    def compatible(x: int, y: int) -> bool:
        return persons_compatible(names.surfaces[x], names.surfaces[y])

    return {"family": family, "compatible": compatible, "name_ids": name_ids}
