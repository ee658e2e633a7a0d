"""The embedded store: a graph directory served by FalkorDB (Cypher, multi-labels, vector indexes), no server to run.

FalkorDB runs as a private child process on a unix socket (see :mod:`kgbuild.graph.falkor_server`) and
persists to an fsync'd append-only file in the directory. Each UNWIND batch is one atomic query, so a
crash loses nothing already written. The Cypher is the same as Neo4j's except where FalkorDB needs its
own form (``vecf32`` embeddings, its index syntax); all of it lives in :mod:`kgbuild.graph.cypher`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
import contextlib
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from kgbuild.errors import QueryError, StoreError
from kgbuild.graph import cypher as q
from kgbuild.graph.errors import StoreUnavailable
from kgbuild.graph.falkor_params import UnstorableValue, header
from kgbuild.graph.falkor_server import FalkorServer
from kgbuild.graph.rows import Row, chunked, document_rows, entity_rows, fact_rows, mention_rows, require_schema
from kgbuild.graph.values import plain, row_to_entity
from kgbuild.records import Entity, Fact, MentionLink, SegmentedDocument
from kgbuild.schema.graph import entity_label
from kgbuild.schema.models import Schema

DEFAULT_BATCH_SIZE = 5_000  # rows per query; see benchmarks/graph_write.py and docs/stores.md
EMBEDDING_DIM = 384


class EmbeddedStore:
    """A :class:`~kgbuild.graph.store.GraphStore` kept in a directory (default ``./kg``)."""

    def __init__(
        self, path: str | Path = "./kg", *, batch_size: int = DEFAULT_BATCH_SIZE, embedding_dim: int = EMBEDDING_DIM,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only  # for readers only: a read-only directory is then served from a private copy
        self.uri = str(self.path)
        self.batch_size = max(1, batch_size)
        self.embedding_dim = embedding_dim
        self.schema: Schema | None = None
        self.on_batch: Callable[[str, int], None] | None = None  # (action, rows) after each committed batch
        self._server: FalkorServer | None = None
        self._graph: Any = None
        self._db: Any = None
        self._wrote = False  # a write query ran since open(): close() compacts the log

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        if self._graph is not None:
            return
        server = FalkorServer(self.path, read_only=self.read_only)
        server.start()
        self._server = server
        self._db = server.client()
        self._graph = self._db.select_graph(q.GRAPH_NAME)
        with self._errors("opening"):
            if not self._db.connection.exists(q.GRAPH_NAME):  # FalkorDB refuses reads of a graph never written
                self._graph.query("RETURN 1")  # creates it, empty, so that every query answers as on an empty graph

    def close(self) -> None:
        """Compact the append-only log if this store wrote (see :meth:`FalkorServer.compact`), then stop the server."""
        if self._wrote and self._server is not None:
            self._wrote = False
            try:
                self._server.compact()
            except Exception:  # noqa: BLE001 - the log stays as it is, complete; only the next open is slower
                pass
        if self._db is not None:
            try:
                self._db.connection.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        self._db = None
        self._graph = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "EmbeddedStore":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _errors(self, action: str, committed: int = 0) -> Iterator[None]:
        import redis.exceptions as rx

        try:
            yield
        except (StoreError, QueryError):
            raise
        except (rx.ConnectionError, rx.TimeoutError, OSError) as exc:
            if self._disk_full():
                raise StoreUnavailable(
                    f"disk full while {action} to the graph directory {self.path} (the embedded store could not append "
                    f"to its file); free some space and run the same command again: {committed} rows committed before "
                    "the failure stay in the graph and the build resumes after them",
                    committed=committed,
                ) from exc
            raise StoreUnavailable(
                f"the embedded graph store {self.path} went away while {action} ({type(exc).__name__}: {_first_line(exc)}); "
                f"{committed} rows committed before the failure stay in the graph",
                committed=committed,
            ) from exc
        except rx.RedisError as exc:
            if self._disk_full():
                raise StoreError(f"disk full while {action} to the graph directory {self.path}; free some space and run again") from exc
            raise StoreError(f"the embedded graph store {self.path} failed while {action}: {_first_line(exc)}") from exc

    def _disk_full(self) -> bool:
        """Whether the server stopped because its disk is full (its log says so, or the disk has no room left)."""
        server = self._server
        log = server.log_text() if server is not None else ""
        if "No space left on device" in log or "Disk quota exceeded" in log:
            return True
        try:
            return shutil.disk_usage(self.path).free < 64 * 1024
        except OSError:
            return False

    def _require_open(self) -> Any:
        if self._graph is None:
            raise StoreError(f"the embedded graph store {self.path} is not open; call open() first")
        return self._graph

    def _run(self, cypher: str, params: Mapping[str, Any] | None = None, read_only: bool = False) -> list[dict[str, Any]]:
        graph = self._require_open()
        # Values go in kgbuild's own parameter header (falkor_params), never through the client's pasting.
        statement = header(params) + cypher
        self._wrote = self._wrote or not read_only
        result = graph.ro_query(statement) if read_only else graph.query(statement)
        names = [_decode(column[1]) for column in result.header]
        return [dict(zip(names, row)) for row in result.result_set]

    def _write_batches(self, cypher: str, rows: list[Row], action: str) -> int:
        committed = 0
        for batch in chunked(rows, self.batch_size):
            with self._errors(action, committed):
                self._run(cypher, {"rows": batch})
            committed += len(batch)
            if self.on_batch is not None:
                self.on_batch(action, len(batch))
        return committed

    def build_lock(self) -> contextlib.AbstractContextManager[None]:
        """Nothing more to take: the directory's flock (falkor_server) already keeps a second process out."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------ schema

    def ensure_schema(self, schema: Schema) -> None:
        self.schema = schema
        labels = ["Document", "Chunk", "Entity", *(entity_label(schema, name) for name in schema.entity_names)]
        with self._errors("creating indexes and constraints"):
            existing = self._existing_indexes()
            for label in labels:
                if (label, "id") not in existing:
                    self._run(q.falkor_range_index(label))
                try:
                    self._db.connection.execute_command(*q.falkor_unique_constraint(label))
                except Exception as exc:  # noqa: BLE001 - "constraint already exists" is fine
                    if "already exists" not in str(exc).lower():
                        raise
            for name in schema.entity_names:
                label = entity_label(schema, name)
                if (label, "embedding") not in existing:
                    self._run(q.falkor_vector_index(label), {"dims": self.embedding_dim})

    def _existing_indexes(self) -> set[tuple[str, str]]:
        import redis.exceptions as rx

        found: set[tuple[str, str]] = set()
        try:
            rows = self._run(q.FALKOR_LIST_INDEXES, read_only=True)
        except rx.ResponseError as exc:
            if "empty key" in str(exc):  # a graph nothing was written to yet
                return found
            raise
        for row in rows:
            for prop in row["properties"] or []:
                found.add((str(row["label"]), str(prop)))
        return found

    # ------------------------------------------------------------ writes

    def upsert_documents(self, documents: Iterable[SegmentedDocument]) -> int:
        docs, chunks = document_rows(documents)
        n = self._write_batches(q.MERGE_DOCUMENTS, docs, "writing documents")
        self._write_batches(q.MERGE_CHUNKS, chunks, "writing chunks")
        return n

    def upsert_entities(self, entities: Iterable[Entity]) -> int:
        schema = require_schema(self.schema, f"embedded graph store {self.path}")
        total = 0
        for label, rows in entity_rows(schema, entities).items():
            total += self._write_batches(q.falkor_merge_entities(label), rows, f"writing {label} entities")
        return total

    def upsert_mentions(self, mentions: Iterable[MentionLink]) -> int:
        return self._write_batches(q.MERGE_MENTIONS, mention_rows(mentions), "writing mentions")

    def recount_mentions(self, entity_ids: Iterable[str]) -> int:
        ids = list(entity_ids)
        for batch in chunked(ids, self.batch_size):
            with self._errors("counting mentions"):
                self._run(q.RECOUNT_MENTIONS, {"ids": batch})
        return len(ids)

    def upsert_facts(self, facts: Iterable[Fact]) -> int:
        schema = require_schema(self.schema, f"embedded graph store {self.path}")
        total = 0
        for rel, rows in fact_rows(schema, facts).items():
            total += self._write_batches(q.merge_facts(rel), rows, f"writing {rel} facts")
        return total

    def delete_document(self, doc_id: str) -> None:
        """Each step is one atomic query and safe to repeat, so a delete cut short is finished by the next call."""
        with self._errors(f"deleting document {doc_id}"):
            chunk_ids = [r["id"] for r in self._run(q.DOCUMENT_CHUNK_IDS, {"doc_id": doc_id})]
            self._run(q.DELETE_FACTS_ONLY_FROM, {"doc_id": doc_id})
            self._run(q.UNLINK_FACTS_FROM, {"doc_id": doc_id, "chunk_ids": chunk_ids})
            touched = [r["id"] for r in self._run(q.MENTIONING_ENTITIES_OF, {"doc_id": doc_id})]
            self._run(q.DELETE_MENTIONS_OF, {"doc_id": doc_id})
            if touched:
                self._run(q.RECOUNT_MENTIONS, {"ids": touched})
                self._run(q.DELETE_UNSUPPORTED_ENTITIES, {"ids": touched})
            self._run(q.DELETE_DOCUMENT_NODES, {"doc_id": doc_id})

    # ------------------------------------------------------------ reads

    def fetch_entities(self, types: Iterable[str] | None = None) -> list[Entity]:
        with self._errors("reading entities"):
            if types is None:
                rows = self._run(q.FETCH_ALL_ENTITIES, read_only=True)
            else:
                schema = require_schema(self.schema, f"embedded graph store {self.path}")
                rows = [r for t in types for r in self._run(q.fetch_entities(entity_label(schema, t)), read_only=True)]
        return [row_to_entity(r) for r in rows]

    def similar_entities(
        self, type_name: str, embeddings: list[list[float]], k: int = 10
    ) -> list[list[tuple[Entity, float]]]:
        schema = require_schema(self.schema, f"embedded graph store {self.path}")
        label = entity_label(schema, type_name)
        out: list[list[tuple[Entity, float]]] = []
        with self._errors(f"searching similar {type_name} entities"):
            for vector in embeddings:
                params = {"label": label, "k": int(k), "vector": [float(x) for x in vector]}
                rows = self._run(q.FALKOR_SIMILAR, params, read_only=True)
                out.append([(row_to_entity(r), float(r["similarity"])) for r in rows])
        return out

    def similar_entity_ids(self, type_name: str, embeddings: list[list[float]], k: int = 10) -> list[list[tuple[str, float]]]:
        schema = require_schema(self.schema, f"embedded graph store {self.path}")
        label = entity_label(schema, type_name)
        out: list[list[tuple[str, float]]] = [[] for _ in embeddings]
        if not embeddings:
            return out
        with self._errors(f"searching similar {type_name} entities"):
            params = {"label": label, "k": int(k), "vectors": [[float(x) for x in v] for v in embeddings]}
            for row in self._run(q.FALKOR_SIMILAR_IDS, params, read_only=True):
                out[int(row["i"])].append((_decode(row["id"]), float(row["similarity"])))
        return out

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, read_only: bool = True) -> list[dict[str, Any]]:
        import redis.exceptions as rx

        if read_only and q.loads_external_data(cypher):
            raise QueryError(q.LOAD_CSV_REFUSED)
        try:
            with self._errors("running a query"):
                rows = self._run(cypher, params, read_only=read_only)
        except UnstorableValue as exc:
            raise QueryError(f"a query parameter cannot be sent to the embedded store: {exc}") from None
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, rx.ResponseError):
                text = _first_line(cause)
                if read_only and "read-only" in text.lower():
                    raise QueryError(
                        "the query writes to the graph but it runs read-only; pass --write (read_only=False) to allow writes"
                    ) from cause
                raise QueryError(f"the embedded store refused the query: {text}") from cause
            raise
        return [{key: plain(value) for key, value in row.items()} for row in rows]

    def stats(self) -> dict[str, int]:
        with self._errors("counting"):
            count = lambda cypher: int(self._run(cypher, read_only=True)[0]["n"])  # noqa: E731
            documents, chunks, entities = count(q.COUNT_DOCUMENTS), count(q.COUNT_CHUNKS), count(q.COUNT_ENTITIES)
            mentions, has_chunk, total = count(q.COUNT_MENTIONS), count(q.COUNT_HAS_CHUNK), count(q.COUNT_RELATIONSHIPS)
        return {
            "documents": documents,
            "chunks": chunks,
            "entities": entities,
            "mentions": mentions,
            "facts": total - mentions - has_chunk,
        }


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
