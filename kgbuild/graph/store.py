"""The small contract every graph store implements, and the contract tests check."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Iterable, Mapping, Protocol, runtime_checkable

from kgbuild.records import Entity, Fact, MentionLink, SegmentedDocument
from kgbuild.schema.models import Schema


@runtime_checkable
class GraphStore(Protocol):
    """A property graph with provenance.

    Graph model: ``(:Document {id, source, title, hash})-[:HAS_CHUNK]->(:Chunk {id, doc_id, start, end, text})``,
    ``(:Entity:<Type> {id, name, aliases, type, mention_count, embedding})``,
    ``(entity)-[:MENTIONED_IN {doc_id, start, end, text, score}]->(chunk)`` and
    ``(head)-[:<RELATION> {score, doc_ids, evidence_chunk_ids}]->(tail)``.
    Every upsert is idempotent: writing the same records twice leaves the counts unchanged.
    """

    def open(self) -> None: ...

    def close(self) -> None: ...

    def build_lock(self) -> AbstractContextManager[None]:
        """Held while a build writes: a second concurrent build on the same graph is refused with one line."""

    def ensure_schema(self, schema: Schema) -> None:
        """Create constraints and indexes; remember the schema to validate labels and types."""

    def upsert_documents(self, documents: Iterable[SegmentedDocument]) -> int:
        """Write Document and Chunk (one per sentence) nodes with HAS_CHUNK edges."""

    def upsert_entities(self, entities: Iterable[Entity]) -> int:
        """Write or update Entity nodes (aliases and mention counts are replaced by the given values)."""

    def upsert_mentions(self, mentions: Iterable[MentionLink]) -> int:
        """Write MENTIONED_IN edges, keyed by (entity, chunk, start, end)."""

    def recount_mentions(self, entity_ids: Iterable[str]) -> int:
        """Set each entity's ``mention_count`` to its number of MENTIONED_IN edges (idempotent, never added to)."""

    def upsert_facts(self, facts: Iterable[Fact]) -> int:
        """Write relation edges, keyed by (head, type, tail); doc_ids and evidence are unioned."""

    def delete_document(self, doc_id: str) -> None:
        """Remove a document, its chunks and mentions, and the facts and entities only it supported."""

    def fetch_entities(self, types: Iterable[str] | None = None) -> list[Entity]:
        """Entities already in the graph (with embeddings), for fusion against the graph."""

    def similar_entities(
        self, type_name: str, embeddings: list[list[float]], k: int = 10
    ) -> list[list[tuple[Entity, float]]]:
        """For each embedding, the ``k`` most cosine-similar entities of ``type_name`` already in the graph
        (Neo4j: its vector index; embedded store: its own index). Used by incremental fusion."""

    def similar_entity_ids(self, type_name: str, embeddings: list[list[float]], k: int = 10) -> list[list[tuple[str, float]]]:
        """:meth:`similar_entities` as ids and cosines only, every embedding in one round trip: fusion already holds
        the entities, so shipping their embeddings back cost more than the search (issue 15)."""

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, read_only: bool = True) -> list[dict[str, Any]]:
        """Run Cypher with parameters; refuse writes unless ``read_only`` is False."""

    def stats(self) -> dict[str, int]:
        """Counts: documents, chunks, entities, mentions, facts."""
