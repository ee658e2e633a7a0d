"""How predictions meet the gold data, shared by the scorers (kgbuild.evaluation.extraction) and the calibration
metrics (kgbuild.evaluation.calibration): the keys a gold or predicted relation is matched by."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from kgbuild.datasets import AnnotatedDocument
from kgbuild.records import Extraction, Mention, RelationMention

# predicted type -> the type it is scored as against one data set's gold (None: that data does not annotate it)
ScoringTypes = dict[str, "str | None"]


def scoring_types(schema: Any, docs: Sequence[AnnotatedDocument]) -> ScoringTypes | None:
    """How a model's predicted types meet this data's gold: each schema type is scored as the type of the first of
    its name and labels that the data's own tags use, and is not scored at all when the data uses none of them.

    Data annotate different things: CoNLL-2003 tags no dates or amounts, so a predicted date is neither right nor
    wrong there (it is not scored; it counted as a false MISC before 2026-11-30 evening), while CoNLL04's Other
    holds dates and names alike, so a model that types values apart (``conll04``'s Value, whose labels hold CoNLL04's
    "Other") is scored as Other there. With every type's tags in the data, as in the data a model was trained on,
    every type is scored as itself. None when the data carries no tags of its own (the identity)."""
    tags = {m.label for d in docs for m in d.mentions if m.label}
    if schema is None or not tags:
        return None
    out: ScoringTypes = {}
    for entity in schema.entities:
        tag = next((t for t in (entity.name, *entity.labels) if t in tags), None)
        out[entity.name] = schema.entity_for_label(tag) if tag is not None else None
    return out


def scored_mentions(predictions: Sequence[Extraction], types: ScoringTypes | None) -> Iterator[tuple[int, Mention, str]]:
    """``(document index, mention, type it is scored as)`` for every predicted mention the data can judge."""
    for i, p in enumerate(predictions):
        for m in p.mentions:
            scored = m.type if types is None else types.get(m.type, m.type)
            if scored is not None:
                yield i, m, scored


def cluster_key(spans: Iterable[tuple[int, int]], type_: str) -> tuple[frozenset, str]:
    return frozenset(spans), type_


def gold_relations(docs: Sequence[AnnotatedDocument], docred: bool) -> set[tuple[Any, ...]]:
    out = set()
    for i, d in enumerate(docs):
        for r in d.relations:
            if docred:
                h = cluster_key(((d.mentions[m].start, d.mentions[m].end) for m in d.clusters[r.head]), d.cluster_type(r.head))
                t = cluster_key(((d.mentions[m].start, d.mentions[m].end) for m in d.clusters[r.tail]), d.cluster_type(r.tail))
                out.add((i, h, t, r.type))
            else:
                for hm in d.clusters[r.head]:
                    for tm in d.clusters[r.tail]:
                        a, b = d.mentions[hm], d.mentions[tm]
                        out.add((i, (a.start, a.end, a.type), (b.start, b.end, b.type), r.type))
    return out


def expand_relation(i: int, p: Extraction, relation: RelationMention, docred: bool) -> set[tuple[Any, ...]]:
    """The keys one predicted relation of document ``i`` is scored as: one entity-level key (document-level data),
    or one per pair of the two entities' mentions (sentence-level data)."""
    if docred:
        hk = cluster_key(((p.mentions[m].start, p.mentions[m].end) for m in p.clusters[relation.head]), p.cluster_type(relation.head))
        tk = cluster_key(((p.mentions[m].start, p.mentions[m].end) for m in p.clusters[relation.tail]), p.cluster_type(relation.tail))
        return {(i, hk, tk, relation.type)}
    mentions = p.mentions
    return {(i, (mentions[hm].start, mentions[hm].end, mentions[hm].type), (mentions[tm].start, mentions[tm].end, mentions[tm].type),
             relation.type) for hm in p.clusters[relation.head] for tm in p.clusters[relation.tail]}
