"""From cluster labels to the records the writer takes: entities, mention links and facts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from kgbuild.fusion.canonical import aliases, canonical_name, entity_id
from kgbuild.fusion.units import SentenceFinder, Unit
from kgbuild.records import Entity, Extraction, Fact, MentionLink, SegmentedDocument
from kgbuild.schema.models import Schema


@dataclass
class Cluster:
    """The units (and at most one graph entity) that became one entity."""

    units: list[int] = field(default_factory=list)
    existing: Entity | None = None


def build_entities(
    batch: Sequence[tuple[SegmentedDocument, Extraction]],
    units: Sequence[Unit],
    mention_vectors: Sequence[np.ndarray],
    clusters: Sequence[Cluster],
) -> tuple[list[Entity], list[str], int]:
    """One Entity per cluster holding new units; returns entities, the entity id of each unit, new-entity count.

    A cluster with a graph entity keeps that entity's id and adds to its names, count and embedding;
    otherwise the id comes from the type and the smallest mention key, so it is the same in every run.
    """
    unit_entity = [""] * len(units)
    entities: list[Entity] = []
    created = 0
    for cluster in clusters:
        if not cluster.units:
            continue
        first = units[cluster.units[0]]
        surfaces = [batch[units[u].doc][1].mentions[m].text for u in cluster.units for m in units[u].mentions]
        vector = np.sum([mention_vectors[u].sum(axis=0) for u in cluster.units], axis=0, dtype=np.float64)
        count = len(surfaces)
        if cluster.existing is not None:
            old = cluster.existing
            surfaces += [old.name, *old.aliases]
            if old.embedding is not None:
                vector = vector + np.asarray(old.embedding, np.float64) * max(old.mention_count, 1)
            count += old.mention_count
            ident = old.id
        else:
            ident = entity_id(first.type, min(units[u].key for u in cluster.units))
            created += 1
        name = canonical_name(surfaces)
        norm = float(np.linalg.norm(vector))
        embedding = tuple(float(x) for x in (vector / norm if norm > 0 else vector).astype(np.float32))
        entities.append(Entity(ident, first.type, name, aliases(surfaces, name), embedding, count))
        for u in cluster.units:
            unit_entity[u] = ident
    return entities, unit_entity, created


def build_mentions(
    batch: Sequence[tuple[SegmentedDocument, Extraction]], units: Sequence[Unit], unit_entity: Sequence[str]
) -> list[MentionLink]:
    """A MENTIONED_IN link per mention: its entity, the sentence chunk holding it, its offsets and score."""
    finders: dict[int, SentenceFinder] = {}
    links: list[MentionLink] = []
    for u, unit in enumerate(units):
        doc, extraction = batch[unit.doc]
        finder = finders.setdefault(unit.doc, SentenceFinder(doc))
        for m in unit.mentions:
            mention = extraction.mentions[m]
            sentence = finder.find(mention.start)
            if sentence is None:
                continue  # a document without sentences has no chunk to point to
            links.append(
                MentionLink(unit_entity[u], sentence.chunk_id, doc.document.id, mention.start, mention.end, mention.text, mention.score)
            )
    return links


def build_facts(
    batch: Sequence[tuple[SegmentedDocument, Extraction]],
    units: Sequence[Unit],
    unit_entity: Sequence[str],
    schema: Schema,
    dropped: Counter[str],
) -> list[Fact]:
    """Relations between clusters become facts between entities, aggregated by (head, type, tail).

    Score is the maximum, documents and evidence chunks are unioned. A relation the schema does not allow
    for the fused entities' types, or whose end was dropped, is counted in ``dropped`` with its reason.
    """
    by_cluster = {(unit.doc, c): u for u, unit in enumerate(units) for c in unit.clusters}
    merged: dict[tuple[str, str, str], tuple[float, set[str], set[str]]] = {}
    for d, (doc, extraction) in enumerate(batch):
        sentences = doc.sentences
        for relation in extraction.relations:
            head, tail = by_cluster.get((d, relation.head)), by_cluster.get((d, relation.tail))
            if head is None or tail is None:
                dropped["relation end not an entity"] += 1
                continue
            try:
                type_name = schema.relation_for_label(relation.type)
            except KeyError:
                dropped["relation type not in schema"] += 1
                continue
            if not schema.allows(type_name, units[head].type, units[tail].type):
                dropped["relation not allowed for these entity types"] += 1
                continue
            key = (unit_entity[head], type_name, unit_entity[tail])
            if key[0] == key[2]:
                dropped["relation between an entity and itself"] += 1
                continue
            score, docs, evidence = merged.get(key, (float("-inf"), set(), set()))
            docs.add(doc.document.id)
            evidence.update(sentences[i].chunk_id for i in relation.evidence if 0 <= i < len(sentences))
            merged[key] = (max(score, relation.score), docs, evidence)
    return [
        Fact(head, type_name, tail, score, tuple(sorted(docs)), tuple(sorted(evidence)))
        for (head, type_name, tail), (score, docs, evidence) in sorted(merged.items())
    ]


def group_clusters(labels: np.ndarray, n_units: int, existing: Sequence[Entity]) -> list[Cluster]:
    """Clusters from resolver labels over [units..., existing entities...], in label order."""
    table: dict[int, Cluster] = defaultdict(Cluster)
    for i, label in enumerate(labels.tolist()):
        if i < n_units:
            table[label].units.append(i)
        else:
            table[label].existing = existing[i - n_units]
    return [table[label] for label in sorted(table)]
