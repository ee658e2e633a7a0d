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
from kgbuild.fusion.aliases import PERSON, name_kind, person_tokens, persons_compatible
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
    links = cannot_links(ordered, a, b, conflict | (scores < config.veto), kinds)
    accepted = (scores >= limits[ordered.types[a], same_doc]) & ~links.scored if len(a) else np.zeros(0, bool)
    labels = link(ordered, a, b, scores, accepted, links)
    seconds["cluster"] = time.perf_counter() - clock
    out = np.empty(len(items), np.int64)
    out[order] = labels
    return Resolution(out, int(len(a)), int(accepted.sum()), seconds)


@dataclass
class CannotLinks:
    """Every cannot-link of one table of items: what the clustering must respect, computed once."""

    scored: np.ndarray  # per candidate pair: vetoed (its names cannot name one thing, or it scored below `veto`)
    veto: tuple[np.ndarray, np.ndarray]  # item pairs that may never share a cluster
    checks: dict  # person-name checks between clusters (see person_checks)


def cannot_links(items: ItemTable, a: np.ndarray, b: np.ndarray, vetoed: np.ndarray, kinds: np.ndarray) -> CannotLinks:
    """The scored vetoes, the ambiguous lone names of each document and the person-name checks.

    A scored pair of people whose names differ is never merged directly, and the clusters it would join are
    checked name against name (``watch``) rather than vetoed item against item: at scale an entity's one-off
    typos differ from each other, and an item veto between two of them would split the entity for good.
    """
    person = (kinds == PERSON)[items.types[a]] if len(a) else np.zeros(0, bool)
    hard = vetoed & ~person
    la, lb = ambiguous_lone_names(items, kinds == PERSON)
    veto = (np.concatenate([a[hard], la]), np.concatenate([b[hard], lb]))
    watch = (a[vetoed & person], b[vetoed & person])
    return CannotLinks(vetoed, veto, {**person_checks(items, kinds == PERSON), "watch": watch})


def link(items: ItemTable, a: np.ndarray, b: np.ndarray, scores: np.ndarray, accepted: np.ndarray, links: CannotLinks) -> np.ndarray:
    """The linkage every path shares (fusion, calibration, evaluation): accepted pairs merged in descending
    score under every cannot-link; a cluster label per item (the smallest rank in its cluster)."""
    rank = np.arange(len(items), dtype=np.int64)
    return constrained_clusters(
        len(items), a[accepted], b[accepted], scores[accepted], items.groups, rank, veto=links.veto, **links.checks
    )


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

    def name_class(x: int) -> int:
        return 1 if names.n_words[x] > 1 else 0

    return {"family": family, "compatible": compatible, "name_ids": name_ids, "name_class": name_class}


def ambiguous_lone_names(items: ItemTable, person_types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cannot-links for a lone name that, in its document, two different people carry: "Mumba" beside
    "Samantha Mumba" and "Omero James Mumba" may be either, so it joins neither (precision first).

    Returns pairs (lone item, full-name item) of one document; items without a document take no part.
    """
    person = person_types[items.types] & (items.docs >= 0)
    lone: dict[tuple[int, str], list[int]] = {}
    full: dict[tuple[int, str], list[int]] = {}
    for i in np.flatnonzero(person).tolist():
        tokens = [person_tokens(s) for s in items.item_names(i)]
        doc = int(items.docs[i])
        if all(len(t) == 1 for t in tokens if t):
            for word in {t[0] for t in tokens if t}:
                lone.setdefault((doc, word), []).append(i)
        else:
            for word in {w for t in tokens if len(t) > 1 for w in t}:
                full.setdefault((doc, word), []).append(i)
    left: list[int] = []
    right: list[int] = []
    for key, singles in lone.items():
        holders = full.get(key, [])
        if len(holders) < 2:
            continue
        names = [items.names.surfaces[items.name_ids[items.name_ptr[h]]] for h in holders]
        if all(persons_compatible(x, y) for k, x in enumerate(names) for y in names[k + 1 :]):
            continue
        for single in singles:
            left += [single] * len(holders)
            right += holders
    return np.asarray(left, np.int64), np.asarray(right, np.int64)
