"""From extractions to units: one unit per in-document entity (a cluster of mentions), typed by the schema.

Also finds each mention's sentence: the chunk its provenance points to, and the context it is embedded with.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from kgbuild.errors import InputError
from kgbuild.fusion.canonical import canonical_name, mention_key
from kgbuild.records import Extraction, Mention, SegmentedDocument, Sentence
from kgbuild.schema.models import Schema

CONTEXT_CHARS = 300  # context around a mention when the document has no sentence containing it


@dataclass(frozen=True, slots=True)
class Unit:
    """An in-document entity: mentions of one cluster of one document, with one schema type."""

    doc: int  # index of the document in the batch
    cluster: int  # index into Extraction.clusters (-1 - i for a mention left out of every cluster)
    type: str
    mentions: tuple[int, ...]  # indices into Extraction.mentions, by offset
    key: str  # mention_key of its first mention: a stable, order-free identity

    def names(self, extraction: Extraction) -> list[str]:
        """Its distinct surface names, the canonical one first."""
        surfaces = [extraction.mentions[m].text for m in self.mentions]
        best = canonical_name(surfaces)
        return [best, *sorted(set(surfaces) - {best})]


def schema_type(schema: Schema, label: str) -> str | None:
    """The schema's type name for an extractor label or type name; None when the schema lacks it."""
    try:
        return schema.entity_for_label(label)
    except KeyError:
        return None


def collect_units(
    batch: Sequence[tuple[SegmentedDocument, Extraction]], schema: Schema, dropped: Counter[str]
) -> list[Unit]:
    """Every in-document entity of the batch, in batch order; untyped ones are counted in ``dropped``."""
    units: list[Unit] = []
    for d, (doc, extraction) in enumerate(batch):
        if extraction.doc_id != doc.document.id:
            raise InputError(
                f"document {doc.document.id!r}: its extraction is for document {extraction.doc_id!r}; "
                "pair each SegmentedDocument with its own Extraction"
            )
        seen: set[int] = set()
        groups: list[tuple[int, tuple[int, ...]]] = []
        for c, cluster in enumerate(extraction.clusters):
            members = tuple(m for m in dict.fromkeys(cluster) if 0 <= m < len(extraction.mentions) and m not in seen)
            seen.update(members)
            if members:
                groups.append((c, members))
        for m in range(len(extraction.mentions)):
            if m not in seen:  # the contract says every mention is in a cluster; keep strays as entities of their own
                groups.append((-1 - m, (m,)))
        for c, members in groups:
            ordered = tuple(sorted(members, key=lambda m: (extraction.mentions[m].start, extraction.mentions[m].end)))
            labels = [extraction.mentions[m].type for m in ordered]
            majority = max(dict.fromkeys(labels), key=labels.count)
            type_name = schema_type(schema, majority)
            if type_name is None:
                dropped["entity type not in schema"] += 1
                continue
            first = extraction.mentions[ordered[0]]
            units.append(Unit(d, c, type_name, ordered, mention_key(doc.document.id, first.start, first.end)))
    return units


class SentenceFinder:
    """The sentence holding a character offset (sentences sorted by start)."""

    def __init__(self, doc: SegmentedDocument) -> None:
        self.doc = doc
        self.sentences: list[Sentence] = sorted(doc.sentences, key=lambda s: s.start)
        self.starts = [s.start for s in self.sentences]

    def find(self, offset: int) -> Sentence | None:
        i = bisect.bisect_right(self.starts, offset) - 1
        if i < 0:
            return self.sentences[0] if self.sentences else None
        return self.sentences[i]

    def context(self, mention: Mention) -> str:
        """The mention's sentence, or a window of text around it when no sentence holds it."""
        sentence = self.find(mention.start)
        if sentence is not None and sentence.start <= mention.start < sentence.end:
            return sentence.text
        text = self.doc.document.text
        return text[max(0, mention.start - CONTEXT_CHARS // 2) : mention.end + CONTEXT_CHARS // 2]
