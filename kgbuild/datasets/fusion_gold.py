"""Evaluation data for fusion, built from DocRED-style files with gold mentions and gold clusters.

(a) in-document: every gold mention is its own unit; gold = the document's entity clusters.
(b) cross-document: every gold in-document entity is a unit; two units of one type share a gold label when
    they share a mention text (without case, periods, extra spaces or a leading "the"), transitively.
See docs/fusion.md for how (b) is built and where it is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from kgbuild.records import Extraction, Mention, RelationMention, SegmentedDocument
from kgbuild.schema.models import Schema
from kgbuild.datasets import read_docred, to_segmented


@dataclass(frozen=True)
class GoldDocument:
    """A document as the fuser sees it, with the gold mentions and the gold in-document clusters."""

    doc: SegmentedDocument
    extraction: Extraction

    def singletons(self) -> Extraction:
        """The same mentions, each its own cluster: what in-document resolution starts from."""
        ex = self.extraction
        return Extraction(ex.doc_id, ex.mentions, tuple((i,) for i in range(len(ex.mentions))), ())


def load_gold(path: str | Path, schema: Schema, limit: int | None = None) -> list[GoldDocument]:
    """Read a DocRED / Re-DocRED file: gold mentions, clusters and relations, tags mapped to the schema's types."""
    out = []
    for annotated in read_docred(path, schema)[:limit]:
        segmented = to_segmented(annotated, len, 1 << 30)
        doc_id = segmented.document.id
        mentions = tuple(
            Mention(doc_id, m.start, m.end, annotated.text[m.start : m.end], m.type) for m in annotated.mentions
        )
        relations = tuple(RelationMention(doc_id, r.head, r.tail, r.type, 1.0, r.evidence) for r in annotated.relations)
        out.append(GoldDocument(segmented, Extraction(doc_id, mentions, annotated.clusters, relations)))
    return out


def in_document_gold(docs: Sequence[GoldDocument]) -> list[list[int]]:
    """Per document, the gold cluster index of each mention."""
    gold = []
    for document in docs:
        label = [0] * len(document.extraction.mentions)
        for c, cluster in enumerate(document.extraction.clusters):
            for m in cluster:
                label[m] = c
        gold.append(label)
    return gold


def cluster_type(extraction: Extraction, cluster: Sequence[int]) -> str:
    """Majority mention type of a cluster (first seen wins ties), as the fuser types units."""
    types = [extraction.mentions[m].type for m in cluster]
    return max(dict.fromkeys(types), key=types.count)


def light_normalize(text: str) -> str:
    """Case, periods, spacing and a leading "the" set aside ("the U.S." ~ "U.S" ~ "us"), nothing more."""
    text = re.sub(r"\s+", " ", text.casefold().replace(".", "")).strip()
    return text[4:] if text.startswith("the ") else text


def cross_document_gold(docs: Sequence[GoldDocument]) -> tuple[list[tuple[int, int]], list[int], int]:
    """Units (document, cluster) in order, their gold cross-document label, and the number of in-document
    conflicts (two entities of one document joined through a shared name, which the gold then merges).

    Two units share a gold label when they have the same type and share a mention text (compared with
    :func:`light_normalize`), directly or through a chain of such links: the annotators' own in-document
    clusters ("U.S." with "United States") then carry over across documents.
    """
    units = [(d, c) for d, document in enumerate(docs) for c in range(len(document.extraction.clusters))]
    parent = list(range(len(units)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    holder: dict[tuple[str, str], int] = {}
    for u, (d, c) in enumerate(units):
        extraction = docs[d].extraction
        type_name = cluster_type(extraction, extraction.clusters[c])
        for m in extraction.clusters[c]:
            other = holder.setdefault((type_name, light_normalize(extraction.mentions[m].text)), u)
            parent[find(u)] = find(other)
    labels = [find(u) for u in range(len(units))]
    seen: set[tuple[int, int]] = set()
    conflicts = 0
    for u, (d, _) in enumerate(units):
        if (d, labels[u]) in seen:
            conflicts += 1
        seen.add((d, labels[u]))
    return units, labels, conflicts
