"""Evaluation data for fusion: files with gold mentions, gold in-document clusters and, where annotated, identity.

Two sources:
* DocRED / Re-DocRED JSON: no cross-document annotation, so two units of one type share a cross-document gold
  label when they share a mention text (without case, periods, extra spaces or a leading "the"), transitively;
* kgbuild JSONL whose entity ``id`` names the real entity across documents (the hand-checked CoNLL-2003 news
  set in ``tests/data/fusion/``): the cross-document gold is that identity, not shared strings.

(a) in-document: every gold mention is its own unit; gold = the document's entity clusters.
(b) cross-document: every gold in-document entity is a unit; gold = identity, or the shared-string chain.
See docs/fusion.md for how each is built and where the string chain is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from kgbuild.records import Extraction, Mention, RelationMention, SegmentedDocument
from kgbuild.schema.models import Schema
from kgbuild.datasets import read_docred, read_jsonl, to_segmented
from kgbuild.datasets.records import AnnotatedDocument


@dataclass(frozen=True)
class GoldDocument:
    """A document as the fuser sees it, with the gold mentions and the gold in-document clusters."""

    doc: SegmentedDocument
    extraction: Extraction
    identities: tuple[str, ...] = ()  # per gold cluster, the real entity it names across documents (if annotated)

    def singletons(self) -> Extraction:
        """The same mentions, each its own cluster: what in-document resolution starts from."""
        ex = self.extraction
        return Extraction(ex.doc_id, ex.mentions, tuple((i,) for i in range(len(ex.mentions))), (), ex.states)


def load_gold(path: str | Path, schema: Schema, limit: int | None = None) -> list[GoldDocument]:
    """Read a DocRED / Re-DocRED file: gold mentions, clusters and relations, tags mapped to the schema's types."""
    path = Path(path)
    jsonl = path.suffix == ".jsonl"
    annotated_docs = (read_jsonl(path, schema) if jsonl else read_docred(path, schema))[:limit]
    identities = _jsonl_identities(path)[:limit] if jsonl else [()] * len(annotated_docs)
    out = []
    for annotated, ids in zip(annotated_docs, identities):
        segmented = to_segmented(annotated, len, 1 << 30)
        doc_id = segmented.document.id
        mentions = tuple(
            Mention(doc_id, m.start, m.end, annotated.text[m.start : m.end], m.type) for m in annotated.mentions
        )
        relations = tuple(RelationMention(doc_id, r.head, r.tail, r.type, 1.0, r.evidence) for r in annotated.relations)
        out.append(GoldDocument(segmented, Extraction(doc_id, mentions, annotated.clusters, relations), ids))
    return out


def annotated_documents(path: str | Path, schema: Schema, limit: int | None = None) -> list[AnnotatedDocument]:
    """The same documents as :func:`load_gold`, as the readers give them (for running the extractor on them)."""
    path = Path(path)
    return (read_jsonl(path, schema) if path.suffix == ".jsonl" else read_docred(path, schema))[:limit]


def _jsonl_identities(path: Path) -> list[tuple[str, ...]]:
    """Per document, the entity ``id`` of each cluster, in the order :func:`read_jsonl` makes clusters."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            ids = [str(e["id"]) if e.get("id") is not None else "" for e in json.loads(line).get("entities", ())]
            out.append(tuple(dict.fromkeys(ids)) if all(ids) else ())
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
    if docs and all(len(d.identities) == len(d.extraction.clusters) for d in docs):
        index: dict[str, int] = {}
        labels = [index.setdefault(docs[d].identities[c], len(index)) for d, c in units]
        return units, labels, 0
    from networkx.utils import UnionFind

    chained = UnionFind(range(len(units)))
    holder: dict[tuple[str, str], int] = {}
    for u, (d, c) in enumerate(units):
        extraction = docs[d].extraction
        type_name = cluster_type(extraction, extraction.clusters[c])
        for m in extraction.clusters[c]:
            other = holder.setdefault((type_name, light_normalize(extraction.mentions[m].text)), u)
            chained.union(u, other)
    labels = [chained[u] for u in range(len(units))]
    seen: set[tuple[int, int]] = set()
    conflicts = 0
    for u, (d, _) in enumerate(units):
        if (d, labels[u]) in seen:
            conflicts += 1
        seen.add((d, labels[u]))
    return units, labels, conflicts


def unit_labels(docs: Sequence[GoldDocument], units: Sequence[object], order: Sequence[tuple[int, int]], labels: Sequence[int]) -> list[int]:
    """The gold cross-document label of each fusion unit: that of the gold cluster holding its first mention.

    Units are the fuser's (``kgbuild.fusion.units.Unit``): gold clusters, possibly split or joined by the
    fuser's in-document rules, so they are matched through their mentions, not their cluster ids.
    """
    label_of = dict(zip(order, labels))
    cluster_of: dict[tuple[int, int], int] = {}
    for d, document in enumerate(docs):
        for c, cluster in enumerate(document.extraction.clusters):
            for m in cluster:
                cluster_of.setdefault((d, m), c)
    return [label_of[(u.doc, cluster_of[(u.doc, u.mentions[0])])] for u in units]  # type: ignore[attr-defined]
