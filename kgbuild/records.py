"""The frozen records that flow between pipeline stages.

Offsets are always character offsets into ``Document.text`` and the invariant
``doc.text[x.start:x.end] == x.text`` holds for every span-carrying record.
Ids are content-derived so that re-running a build never creates duplicates.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple


def content_id(*parts: str, prefix: str = "", length: int = 24) -> str:
    """A stable id from content: the same inputs give the same id in every run."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]
    return f"{prefix}{digest}"


@dataclass(frozen=True, slots=True)
class Document:
    """One input document; ``id`` is the hash of its text."""

    id: str
    text: str
    source: str
    title: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_text(text: str, source: str, title: str = "", metadata: Mapping[str, Any] | None = None) -> "Document":
        """A document whose id is the hash of ``text``; see :func:`storable` for the one normalisation."""
        text, source, title = storable(text), storable(source), storable(title)
        return Document(content_id(text, prefix="doc_"), text, source, title, dict(metadata or {}))


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with each NUL character and lone surrogate replaced by U+FFFD (same length, so offsets hold).

    The embedded store cannot hold a NUL (FalkorDB strings are C strings) and no store can hold a lone
    surrogate (not valid Unicode), so both stores get the same text; docs/reliability.md.
    """
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


@dataclass(frozen=True, slots=True)
class Token:
    """A word token (spaCy) with its character span."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence span; sentences become the graph's provenance chunks."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str

    @property
    def chunk_id(self) -> str:
        return content_id(self.doc_id, str(self.start), str(self.end), prefix="chunk_")


@dataclass(frozen=True, slots=True)
class Window:
    """A stretch of whole sentences that fits the encoder; windows overlap."""

    doc_id: str
    index: int
    start: int
    end: int
    sentence_indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SegmentedDocument:
    """A document with its sentences, word tokens and encoder windows."""

    document: Document
    sentences: tuple[Sentence, ...]
    tokens: tuple[Token, ...]
    windows: tuple[Window, ...]


@dataclass(frozen=True, slots=True)
class Mention:
    """A typed span found by the entity head."""

    doc_id: str
    start: int
    end: int
    text: str
    type: str
    score: float = 1.0


@dataclass(frozen=True, slots=True)
class RelationMention:
    """A relation between two in-document entity clusters (indices into ``Extraction.clusters``)."""

    doc_id: str
    head: int
    tail: int
    type: str
    score: float
    evidence: tuple[int, ...] = ()  # sentence indices


@dataclass(frozen=True, slots=True)
class MentionStates:
    """Per mention, vectors pooled from the extractor's own encoder pass: ``names[i]`` the mean of mention i's
    subword states, ``contexts[i]`` the mean of the states around it, ``words[i]`` the mean of its subwords' input
    embeddings (the same for the same name anywhere). Fusion embeds mentions from these instead of encoding their
    text a second time (``--fusion-embeddings extractor``). All float32 ``(mentions, hidden)``."""

    names: Any  # numpy.ndarray
    contexts: Any  # numpy.ndarray
    words: Any = None  # numpy.ndarray

    def take(self, rows: list[int]) -> "MentionStates":
        """The states of the mentions ``rows``, in that order."""
        return MentionStates(self.names[rows], self.contexts[rows], None if self.words is None else self.words[rows])


@dataclass(frozen=True, slots=True)
class Extraction:
    """What the extractor found in one document.

    ``clusters`` groups mention indices into in-document entities (coreference);
    every mention belongs to exactly one cluster. ``states`` (not compared): the encoder's pooled vectors per
    mention, when the extractor was asked for them.
    """

    doc_id: str
    mentions: tuple[Mention, ...]
    clusters: tuple[tuple[int, ...], ...]
    relations: tuple[RelationMention, ...]
    states: MentionStates | None = field(default=None, compare=False, repr=False)

    def cluster_type(self, index: int) -> str:
        """The majority type of a cluster's mentions (the first seen wins ties), the type its entity gets."""
        types = [self.mentions[m].type for m in self.clusters[index]]
        return max(dict.fromkeys(types), key=types.count)


class ExtractedDocument(NamedTuple):
    """What the extract stage hands to fusion: the segmented document and what was found in it (a named pair, so
    ``for doc, extraction in batch`` reads both)."""

    document: SegmentedDocument
    extraction: Extraction


@dataclass(frozen=True, slots=True)
class Entity:
    """A canonical graph node after fusion."""

    id: str
    type: str
    name: str
    aliases: tuple[str, ...] = ()
    embedding: tuple[float, ...] | None = None
    mention_count: int = 0


@dataclass(frozen=True, slots=True)
class MentionLink:
    """Provenance of an entity: ``(entity)-[:MENTIONED_IN]->(chunk)`` with document offsets."""

    entity_id: str
    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Fact:
    """An edge to write: ``(head)-[:TYPE {score, doc_ids, evidence_chunk_ids}]->(tail)``."""

    head_id: str
    type: str
    tail_id: str
    score: float
    doc_ids: tuple[str, ...]
    evidence_chunk_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FusedBatch:
    """What the fusion stage hands to the writer for a batch of documents."""

    documents: tuple[SegmentedDocument, ...]
    entities: tuple[Entity, ...]
    mentions: tuple[MentionLink, ...]
    facts: tuple[Fact, ...]
