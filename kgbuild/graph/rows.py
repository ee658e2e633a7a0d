"""Records -> parameter rows for the stores' UNWIND statements, and labels/types checked against the schema.

Both stores share this so they write exactly the same properties; values only ever travel as parameters.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from kgbuild.errors import StoreError
from kgbuild.records import Entity, Fact, MentionLink, SegmentedDocument
from kgbuild.schema.graph import entity_label, relation_type
from kgbuild.schema.models import Schema

T = TypeVar("T")
Row = dict[str, Any]


def require_schema(schema: Schema | None, where: str) -> Schema:
    """Writes of labelled nodes and typed edges need the schema that validates them."""
    if schema is None:
        raise StoreError(f"{where}: no schema; call ensure_schema(schema) on the store before writing entities or facts")
    return schema


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def document_rows(documents: Iterable[SegmentedDocument]) -> tuple[list[Row], list[Row]]:
    """Document rows and chunk rows (one chunk per sentence, keyed by ``Sentence.chunk_id``)."""
    docs: list[Row] = []
    chunks: list[Row] = []
    for segmented in documents:
        doc = segmented.document
        docs.append(
            {
                "id": doc.id,
                "source": doc.source,
                "title": doc.title,
                "hash": hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
            }
        )
        for sentence in segmented.sentences:
            chunks.append(
                {
                    "id": sentence.chunk_id,
                    "doc_id": doc.id,
                    "index": sentence.index,
                    "start": sentence.start,
                    "end": sentence.end,
                    "text": sentence.text,
                }
            )
    return docs, chunks


def entity_rows(schema: Schema, entities: Iterable[Entity]) -> dict[str, list[Row]]:
    """Entity rows grouped by their (validated) label; the last row for an id wins."""
    by_label: dict[str, dict[str, Row]] = defaultdict(dict)
    labels: dict[str, str] = {}  # each type validated once per call, not once per entity
    for entity in entities:
        label = labels.get(entity.type) or labels.setdefault(entity.type, entity_label(schema, entity.type))
        row: Row = {
            "id": entity.id,
            "name": entity.name,
            "aliases": list(entity.aliases),
            "type": entity.type,
            "mention_count": int(entity.mention_count),
            "embedding": [float(x) for x in entity.embedding] if entity.embedding is not None else None,
        }
        by_label[label][entity.id] = row
    return {label: list(rows.values()) for label, rows in by_label.items()}


def mention_rows(mentions: Iterable[MentionLink]) -> list[Row]:
    """Mention rows, unique per (entity, chunk, start, end)."""
    rows: dict[tuple[str, str, int, int], Row] = {}
    for m in mentions:
        rows[(m.entity_id, m.chunk_id, m.start, m.end)] = {
            "entity_id": m.entity_id,
            "chunk_id": m.chunk_id,
            "doc_id": m.doc_id,
            "start": int(m.start),
            "end": int(m.end),
            "text": m.text,
            "score": float(m.score),
        }
    return list(rows.values())


def fact_rows(schema: Schema, facts: Iterable[Fact]) -> dict[str, list[Row]]:
    """Fact rows grouped by their (validated) relation type; rows with the same key are merged here
    (max score, union of doc ids and evidence) so that each edge is written once per batch."""
    by_type: dict[str, dict[tuple[str, str], Row]] = defaultdict(dict)
    types: dict[str, str] = {}  # each type validated once per call, not once per fact (it was 60% of the time)
    for fact in facts:
        rel = types.get(fact.type) or types.setdefault(fact.type, relation_type(schema, fact.type))
        key = (fact.head_id, fact.tail_id)
        row = by_type[rel].get(key)
        if row is None:
            by_type[rel][key] = {
                "h": fact.head_id,
                "t": fact.tail_id,
                "score": float(fact.score),
                "doc_ids": _unique(fact.doc_ids),
                "evidence": _unique(fact.evidence_chunk_ids),
            }
        else:
            row["score"] = max(row["score"], float(fact.score))
            row["doc_ids"] = list(dict.fromkeys([*row["doc_ids"], *fact.doc_ids]))
            row["evidence"] = list(dict.fromkeys([*row["evidence"], *fact.evidence_chunk_ids]))
    # Sorted by head then tail: a batch then touches each node's relationship chain in one run.
    return {rel: [rows[key] for key in sorted(rows)] for rel, rows in by_type.items()}


def _unique(values: tuple[str, ...]) -> list[str]:
    return list(values) if len(values) < 2 else list(dict.fromkeys(values))
