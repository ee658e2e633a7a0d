"""Calibration: fit the pair-scoring weights and the per-type merge thresholds on annotated training data.

Pairs come from the same blocking the fuser uses, in both scopes: inside documents (gold mentions, gold
coreference clusters) and across documents (gold in-document entities linked by type and gold name; see
:mod:`kgbuild.datasets.fusion_gold`). A logistic regression (scikit-learn) learns the weights; then, per scope and
entity type, a grid search picks the threshold with the best mean of pairwise and B-cubed F0.5 (precision
first) after clustering with the fuser's own linkage and cannot-links. The mix of name and context in the embedding is chosen the same way.
Calibrate on training data only; evaluate on held-out data (``kgbuild eval fusion``).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from kgbuild.fusion.aliases import name_kind
from kgbuild.fusion.block import candidate_pairs
from kgbuild.fusion.config import FusionConfig, default_config
from kgbuild.datasets.fusion_gold import GoldDocument, cross_document_gold, in_document_gold, load_gold, unit_labels
from kgbuild.fusion.embed import ExtractorStates, MentionEmbedder
from kgbuild.fusion.fuser import mention_vectors, split_by_unit, unit_table
from kgbuild.fusion.items import ItemTable
from kgbuild.evaluation.clustering import cluster_scores
from kgbuild.fusion.resolve import CannotLinks, cannot_links, link
from kgbuild.fusion.score import FEATURES, probabilities, score_pairs
from kgbuild.fusion.units import Unit, collect_units
from kgbuild.schema.models import Schema

TOLERANCE = 0.002
GRID = tuple(round(x, 2) for x in np.arange(0.04, 0.99, 0.02))
SCOPES = {"same_document": "in-document", "cross_document": "cross-document"}


@dataclass
class Setting:
    """One scope's calibration material: items, candidate pairs, their features and gold."""

    scope: str
    items: ItemTable
    a: np.ndarray
    b: np.ndarray
    features: np.ndarray
    gold: np.ndarray  # gold cluster per item
    type_of: list[str]  # type name per item
    links: CannotLinks  # the cannot-links the fuser applies to these items (names, lone names, groups)

    @property
    def targets(self) -> np.ndarray:
        return (self.gold[self.a] == self.gold[self.b]).astype(np.int64)


def _in_document_units(docs: Sequence[GoldDocument], schema: Schema) -> tuple[list, list[Unit], np.ndarray]:
    batch = [(d.doc, d.singletons()) for d in docs]
    units = collect_units(batch, schema, dropped=Counter())
    gold_per_doc = in_document_gold(docs)
    gold = np.array([hash((u.doc, gold_per_doc[u.doc][u.mentions[0]])) for u in units], np.int64)
    return batch, units, gold


def _cross_document_units(docs: Sequence[GoldDocument], schema: Schema) -> tuple[list, list[Unit], np.ndarray]:
    batch = [(d.doc, d.extraction) for d in docs]
    units = collect_units(batch, schema, dropped=Counter())
    order, labels, _ = cross_document_gold(docs)
    gold = np.array(unit_labels(docs, units, order, labels), np.int64)
    return batch, units, gold


def _blocking_view(items: ItemTable, per_document: bool) -> ItemTable:
    """For in-document pairs, block per (type, document): what the fuser does one document at a time."""
    if not per_document:
        return items
    n_docs = int(items.docs.max()) + 1 if len(items) else 1
    composite = items.types * n_docs + items.docs
    codes, types = np.unique(composite, return_inverse=True)
    return dataclasses.replace(items, types=types.astype(np.int64), type_names=[str(c) for c in codes])


def build_setting(
    scope: str, batch: list, units: list[Unit], gold: np.ndarray, vectors: list[np.ndarray], config: FusionConfig
) -> Setting:
    """Items, candidate pairs (the fuser's blocking) and their features for one scope."""
    unit_vectors = np.stack([v.mean(axis=0) for v in vectors])
    items = unit_table(batch, units, unit_vectors, [], must_not_link=scope == "cross_document")
    a, b = candidate_pairs(_blocking_view(items, scope == "same_document"), config.neighbours, config.block_cap)
    kinds = np.array([name_kind(t) for t in items.type_names], np.int64)
    features, conflict = score_pairs(items, a, b, kinds)
    return Setting(scope, items, a, b, features, gold, [u.type for u in units], cannot_links(items, a, b, conflict, kinds))


def fit_weights(settings: Sequence[Setting]) -> tuple[dict[str, float], float]:
    """Logistic regression over the pooled pairs of both scopes (the same-document interactions tell them apart)."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([s.features for s in settings])
    y = np.concatenate([s.targets for s in settings])
    model = LogisticRegression(C=1.0, max_iter=5000)
    model.fit(x, y)
    weights = {name: round(float(w), 4) for name, w in zip(FEATURES, model.coef_[0])}
    return weights, round(float(model.intercept_[0]), 4)


BETA = 0.5  # precision first (issue 14): a wrong merge invents facts, a missed one only leaves two nodes


def _f_beta(scores: dict[str, float]) -> float:
    p, r = scores["precision"], scores["recall"]
    return (1 + BETA**2) * p * r / (BETA**2 * p + r) if p + r else 0.0


def _objective(predicted: np.ndarray, gold: np.ndarray) -> float:
    """The mean of pairwise and B-cubed F-beta (beta 0.5: precision weighs twice as much as recall), 0-1."""
    scores = cluster_scores(predicted, gold)
    return (_f_beta(scores["pairwise"]) + _f_beta(scores["b_cubed"])) / 200


def fit_thresholds(setting: Setting, probs: np.ndarray) -> dict[str, float]:
    """Per type, the grid threshold with the best (pairwise F0.5 + B-cubed F0.5) / 2 on that type's items, under
    the linkage the fuser runs: merges checked against every member, with every cannot-link."""
    types = np.array(setting.type_of)
    allowed = ~setting.links.scored
    chosen: dict[str, float] = {}
    for type_name in sorted(set(setting.type_of)):
        members = types == type_name
        pair_mask = members[setting.a] & allowed
        scores = []
        for threshold in GRID:
            labels = link(setting.items, setting.a, setting.b, probs, pair_mask & (probs >= threshold), setting.links)
            scores.append(_objective(labels[members], setting.gold[members]))
        # the middle of the best plateau: a flat objective (few pairs of this type) should not pick an extreme
        top = max(scores)
        plateau = [t for t, score in zip(GRID, scores) if score >= top - 1e-4]
        chosen[type_name] = float(plateau[len(plateau) // 2])
    return chosen


def evaluate_setting(setting: Setting, config: FusionConfig) -> float:
    """The objective of one scope under a full config, with the fuser's linkage and cannot-links."""
    probs = probabilities(setting.features, config)
    limits = np.array([config.threshold(setting.scope, t) for t in setting.type_of])
    accepted = (probs >= limits[setting.a]) & ~setting.links.scored
    return _objective(link(setting.items, setting.a, setting.b, probs, accepted, setting.links), setting.gold)


def calibrate(
    data: str | Path,
    schema: Schema,
    embedder: MentionEmbedder | ExtractorStates,
    context_weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75),
    limit: int | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[FusionConfig, dict]:
    """Fit weights and thresholds on ``data`` for each context weight; keep the best. Returns config and a report."""
    started = time.perf_counter()
    docs = load_gold(data, schema, limit)
    if isinstance(embedder, ExtractorStates):
        docs = embedder.attach(docs)  # the gold mentions' pooled states, one pass of the extractor's encoder
    base = default_config()
    scopes = {
        "same_document": _in_document_units(docs, schema),
        "cross_document": _cross_document_units(docs, schema),
    }
    encoded = {scope: mention_vectors(embedder, batch, units) for scope, (batch, units, _) in scopes.items()}
    log(f"embedded {sum(len(v[0]) for v in encoded.values())} mentions of {len(docs)} documents ({embedder.name})")
    top = -1.0
    chosen: tuple[FusionConfig, dict] | None = None
    for weight in sorted(context_weights):
        trial = dataclasses.replace(base, context_weight=float(weight))
        settings = []
        for scope, (batch, units, gold) in scopes.items():
            name_vec, context_vec = encoded[scope]
            mixed = (1 - weight) * name_vec + weight * context_vec
            mixed /= np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)
            settings.append(build_setting(scope, batch, units, gold, split_by_unit(mixed, units), trial))
        weights, intercept = fit_weights(settings)
        trial = dataclasses.replace(trial, weights=weights, intercept=intercept)
        thresholds = {s.scope: fit_thresholds(s, probabilities(s.features, trial)) for s in settings}
        trial = dataclasses.replace(trial, thresholds=thresholds)
        per_scope = {s.scope: round(evaluate_setting(s, trial), 4) for s in settings}
        score = sum(per_scope.values()) / len(per_scope)
        log(f"context weight {weight}: objective {score:.4f} {per_scope}")
        # The name-linked gold cannot reward context (it joins homonyms of different documents), so of
        # weights within TOLERANCE of the best objective, the one with the most context is kept.
        if score > top - TOLERANCE:
            chosen = (trial, {"objective": round(score, 4), "per_scope": per_scope, "pairs": {s.scope: len(s.a) for s in settings}})
        top = max(top, score)
    if chosen is None:
        raise ValueError("no context weight to try")
    config, summary = chosen
    report = {
        "data": str(data),
        "documents": len(docs),
        "context_weight": config.context_weight,
        "seconds": round(time.perf_counter() - started, 1),
        **summary,
    }
    meta = {"calibrated_on": Path(data).name, "documents": len(docs), "model": Path(embedder.name).name, "report": report}
    if isinstance(embedder, ExtractorStates) and embedder.extractor is not None and embedder.extractor.path is not None:
        meta["embeddings"] = "extractor"
        meta["state_names"] = embedder.names
        meta["extractor"] = Path(embedder.extractor.path).name
    return dataclasses.replace(config, meta=meta), report
