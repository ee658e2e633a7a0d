"""How predictions meet the gold data, shared by the scorers (kgbuild.evaluation.extraction) and the calibration
metrics (kgbuild.evaluation.calibration): the keys a gold or predicted relation is matched by."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from kgbuild.datasets import AnnotatedDocument
from kgbuild.records import Extraction, RelationMention


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
