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
from kgbuild.fusion.score import pair_features, probabilities, same_document


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
    features = pair_features(ordered, a, b)
    scores = probabilities(features, config)
    seconds["score"] = time.perf_counter() - clock
    clock = time.perf_counter()
    limits = thresholds_for(ordered, config, type_labels or {})
    same_doc = same_document(ordered, a, b)
    accepted = scores >= limits[ordered.types[a], same_doc] if len(a) else np.zeros(0, bool)
    rank = np.arange(len(ordered), dtype=np.int64)
    labels = constrained_clusters(len(ordered), a[accepted], b[accepted], scores[accepted], ordered.groups, rank)
    seconds["cluster"] = time.perf_counter() - clock
    out = np.empty(len(items), np.int64)
    out[order] = labels
    return Resolution(out, int(len(a)), int(accepted.sum()), seconds)
