"""The Neo4j store: the official driver over Bolt, batched parameterised UNWIND writes in managed transactions.

Each batch is its own transaction (``execute_write``, retried by the driver on transient errors), so a
database that goes away mid-write loses nothing already committed; the store then raises a one-line
:class:`StoreUnavailable` saying where, what, and how many rows were committed. Rewriting is idempotent.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

from kgbuild.errors import QueryError, StoreError
from kgbuild.graph import cypher as q
from kgbuild.graph.errors import StoreUnavailable
from kgbuild.graph.partition import disjoint_rounds
from kgbuild.graph.rows import Row, chunked, document_rows, entity_rows, fact_rows, mention_rows, require_schema
from kgbuild.graph.values import plain, row_to_entity
from kgbuild.records import Entity, Fact, MentionLink, SegmentedDocument
from kgbuild.schema.graph import entity_label
from kgbuild.schema.models import Schema

DEFAULT_BATCH_SIZE = 10_000  # rows per transaction; see benchmarks/graph_write.py and docs/stores.md
DEFAULT_WORKERS = 2  # concurrent fact and mention transactions on node-disjoint cells (kgbuild/graph/partition.py)
# The driver's own log lines ("Unable to retrieve routing information") repeat what kgbuild's one-line errors say;
# they reach stderr only through logging's last-resort handler, which a NullHandler turns off (configure the
# "neo4j" logger to see them).
logging.getLogger("neo4j").addHandler(logging.NullHandler())
EMBEDDING_DIM = 384  # all-MiniLM-L6-v2
LOCK_HEARTBEAT_S = 30.0  # a build refreshes its lock this often
LOCK_STALE_S = 300.0  # a lock not refreshed for this long belongs to a dead build and is taken over


class Neo4jStore:
    """A :class:`~kgbuild.graph.store.GraphStore` on a Neo4j 5 server."""

    def __init__(
        self,
        uri: str,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        workers: int = DEFAULT_WORKERS,
        embedding_dim: int = EMBEDDING_DIM,
        max_retry_time: float = 15.0,
    ) -> None:
        self.uri = uri
        self.user = user if user is not None else os.environ.get("NEO4J_USER")
        self.password = password if password is not None else os.environ.get("NEO4J_PASSWORD")
        self.database = database if database is not None else os.environ.get("NEO4J_DATABASE") or None
        self.batch_size = max(1, batch_size)
        self.workers = max(1, workers)
        self.embedding_dim = embedding_dim
        self.max_retry_time = max_retry_time
        self.schema: Schema | None = None
        self.on_batch: Callable[[str, int], None] | None = None  # (action, rows) after each committed batch
        self._driver: Any = None
        self._dynamic_types = False  # MERGE (a)-[:$(type)]->(b) needs Neo4j 5.26+; known once open
        self.retries = 0  # write transactions the driver ran again after a transient error (deadlock, lock timeout)
        self._retries_lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        if self._driver is not None:
            return
        import neo4j

        auth = (self.user or "neo4j", self.password) if self.password is not None else None
        with self._errors("connecting"):
            self._driver = neo4j.GraphDatabase.driver(
                self.uri,
                auth=auth,
                max_transaction_retry_time=self.max_retry_time,
                connection_acquisition_timeout=30.0,
                connection_timeout=5.0,  # an unreachable server is reported in seconds, not after the default 30
                notifications_min_severity="OFF",
            )
            self._driver.verify_connectivity()
            self._dynamic_types = _at_least(self._driver.get_server_info().agent, (5, 26))

    def close(self) -> None:
        if self._driver is not None:
            try:
                self._driver.close()
            finally:
                self._driver = None

    def __enter__(self) -> "Neo4jStore":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ errors

    @contextmanager
    def _errors(self, action: str, committed: Callable[[], int] | None = None) -> Iterator[None]:
        """Driver errors -> one-line kgbuild errors naming the server and the action."""
        import neo4j.exceptions as nx

        try:
            yield
        except (StoreError, QueryError):
            raise
        except nx.AuthError as exc:
            raise StoreError(
                f"Neo4j at {self.uri} refused the login of user {self.user or 'neo4j'!r} while {action}: "
                "check --user/--password or NEO4J_USER/NEO4J_PASSWORD"
            ) from exc
        except (nx.ServiceUnavailable, nx.SessionExpired, nx.DriverError, OSError) as exc:
            done = f"; {committed()} rows committed before the failure stay in the graph" if committed else ""
            raise StoreUnavailable(
                f"Neo4j at {self.uri} is unreachable or went away while {action} ({type(exc).__name__}: {_first_line(exc)}){done}",
                committed=committed() if committed else 0,
            ) from exc
        except nx.Neo4jError as exc:
            raise StoreError(f"Neo4j at {self.uri} failed while {action}: {exc.code}: {_first_line(exc)}") from exc

    def _write(self, session: Any, work: Callable[..., Any], *args: Any) -> Any:
        """``session.execute_write(work, *args)``, counting the driver's retries in :attr:`retries`.

        The concurrent streams write node-disjoint cells, yet Neo4j still reported DeadlockDetected under load
        (issue 15: both rounds of benchmarks/graph_write.py, and at 300k facts); the driver retries such transient
        errors, and the build summary shows how many times."""
        attempts = 0

        def counted(tx: Any, *a: Any) -> Any:
            nonlocal attempts
            attempts += 1
            return work(tx, *a)

        try:
            return session.execute_write(counted, *args)
        finally:
            if attempts > 1:
                with self._retries_lock:
                    self.retries += attempts - 1

    def _session(self, **kwargs: Any) -> Any:
        if self._driver is None:
            raise StoreError(f"the Neo4j store {self.uri} is not open; call open() first")
        return self._driver.session(database=self.database, **kwargs)

    # ------------------------------------------------------------ writes

    def _write_batches(self, cypher: str, rows: list[Row], action: str) -> int:
        """Write ``rows`` with one statement; see :meth:`_write_grouped`."""
        return self._write_grouped({"rows": (cypher, rows)}, action)

    def _write_grouped(self, groups: Mapping[str, tuple[str, list[Row]]], action: str) -> int:
        """Write several statements' rows (e.g. one per relation type) in transactions of ``batch_size`` rows
        in all, one after the other; returns rows written.

        A transaction holds the rows of every statement in its slice, so the number of commits depends on
        the rows, not on how many types they have: a commit costs ~0.1 s of fsync here, and one transaction
        per relation type made small writes 4x slower (docs/stores.md). Sequential: it writes nodes, and facts on
        servers older than 5.26 (no dynamic types); :meth:`_write_columns` is the fast path for facts.
        """
        flat = [(key, row) for key, (_, rows) in groups.items() for row in rows]
        statements = {key: q.NEO4J_REUSE_PLAN + cypher for key, (cypher, _) in groups.items()}
        committed = 0

        def work(tx: Any, batch: list[tuple[str, Row]]) -> None:
            by_key: dict[str, list[Row]] = {}
            for key, row in batch:
                by_key.setdefault(key, []).append(row)
            for key, rows in by_key.items():
                tx.run(statements[key], rows=rows).consume()

        with self._errors(action, committed=lambda: committed), self._session() as session:
            for batch in chunked(flat, self.batch_size):
                self._write(session, work, batch)
                committed += len(batch)
                if self.on_batch is not None:
                    self.on_batch(action, len(batch))
        return committed

    def ensure_schema(self, schema: Schema) -> None:
        self.schema = schema
        statements = list(q.NEO4J_UNIQUE.values())
        for name in schema.entity_names:
            label = entity_label(schema, name)
            statements.append(q.neo4j_unique_per_label(label))
        with self._errors("creating constraints and indexes"), self._session() as session:
            for statement in statements:
                session.run(statement).consume()
            for name in schema.entity_names:
                session.run(q.neo4j_vector_index(entity_label(schema, name)), {"dims": self.embedding_dim}).consume()
            session.run(q.NEO4J_AWAIT_INDEXES, {"seconds": 300}).consume()

    def upsert_documents(self, documents: Iterable[SegmentedDocument]) -> int:
        docs, chunks = document_rows(documents)
        n = self._write_batches(q.MERGE_DOCUMENTS, docs, "writing documents")
        self._write_batches(q.MERGE_CHUNKS, chunks, "writing chunks")
        return n

    def upsert_entities(self, entities: Iterable[Entity]) -> int:
        schema = require_schema(self.schema, f"Neo4j at {self.uri}")
        groups = {label: (q.merge_entities(label), rows) for label, rows in entity_rows(schema, entities).items()}
        return self._write_grouped(groups, f"writing {_names(groups)} entities")

    def upsert_mentions(self, mentions: Iterable[MentionLink]) -> int:
        rows = sorted(mention_rows(mentions), key=lambda row: (row["entity_id"], row["chunk_id"]))
        return self._write_columns(q.NEO4J_MERGE_MENTIONS, q.NEO4J_MENTION_COLUMNS, rows, "writing mentions",
                                   ends=("entity_id", "chunk_id"))

    def recount_mentions(self, entity_ids: Iterable[str]) -> int:
        ids = list(entity_ids)

        def work(tx: Any, batch: list[str]) -> None:
            tx.run(q.NEO4J_REUSE_PLAN + q.RECOUNT_MENTIONS, ids=batch).consume()

        with self._errors("counting mentions"), self._session() as session:
            for batch in chunked(ids, self.batch_size):
                self._write(session, work, batch)
        return len(ids)

    def upsert_facts(self, facts: Iterable[Fact]) -> int:
        schema = require_schema(self.schema, f"Neo4j at {self.uri}")
        by_type = fact_rows(schema, facts)
        action = f"writing {_names(by_type)} facts"
        if not self._dynamic_types:
            return self._write_grouped({rel: (q.merge_facts(rel), rows) for rel, rows in by_type.items()}, action)
        rows = [{**row, "type": rel} for rel, typed in by_type.items() for row in typed]
        rows.sort(key=lambda row: (row["h"], row["t"]))
        return self._write_columns(q.NEO4J_MERGE_FACTS, q.NEO4J_FACT_COLUMNS, rows, action, ends=("h", "t"))

    def _write_columns(self, cypher: str, columns: tuple[str, ...], rows: list[Row], action: str,
                       ends: tuple[str, str]) -> int:
        """Relationship rows sent as one list per column, ``batch_size`` rows per transaction; returns rows written.

        A write of at least ``workers`` full batches runs as ``workers`` concurrent streams over node-disjoint
        cells (:func:`~kgbuild.graph.partition.disjoint_rounds`), so they never deadlock; smaller writes stay one
        stream, since every extra transaction costs a commit.
        """
        statement = q.NEO4J_REUSE_PLAN + cypher
        committed = 0
        lock = threading.Lock()

        def stream(cell: list[Row]) -> None:
            nonlocal committed
            with self._session() as session:
                for batch in chunked(cell, self.batch_size):
                    params = {column: [row[column] for row in batch] for column in columns}
                    self._write(session, lambda tx, p=params: tx.run(statement, p).consume())
                    with lock:
                        committed += len(batch)
                        if self.on_batch is not None:
                            self.on_batch(action, len(batch))

        with self._errors(action, committed=lambda: committed):
            if self.workers < 2 or len(rows) < self.workers * self.batch_size:
                stream(rows)
            else:
                with ThreadPoolExecutor(self.workers, thread_name_prefix="kgbuild-neo4j") as pool:
                    for cells in disjoint_rounds(rows, 2 * self.workers, ends):
                        for future in [pool.submit(stream, cell) for cell in cells]:
                            future.result()
        return committed

    def delete_document(self, doc_id: str) -> None:
        def work(tx: Any) -> None:
            chunk_ids = [r["id"] for r in tx.run(q.DOCUMENT_CHUNK_IDS, doc_id=doc_id)]
            tx.run(q.DELETE_FACTS_ONLY_FROM, doc_id=doc_id).consume()
            tx.run(q.UNLINK_FACTS_FROM, doc_id=doc_id, chunk_ids=chunk_ids).consume()
            touched = [r["id"] for r in tx.run(q.MENTIONING_ENTITIES_OF, doc_id=doc_id)]
            tx.run(q.DELETE_MENTIONS_OF, doc_id=doc_id).consume()
            tx.run(q.RECOUNT_MENTIONS, ids=touched).consume()
            tx.run(q.DELETE_UNSUPPORTED_ENTITIES, ids=touched).consume()
            tx.run(q.DELETE_DOCUMENT_NODES, doc_id=doc_id).consume()

        with self._errors(f"deleting document {doc_id}"), self._session() as session:
            self._write(session, work)

    # ------------------------------------------------------------ the build lock

    @contextmanager
    def build_lock(self, stale_s: float = LOCK_STALE_S, heartbeat_s: float = LOCK_HEARTBEAT_S) -> Iterator[None]:
        """Hold the database's build lock (a ``:KgbuildLock`` node) while a build writes; refuse a second build.

        The lock lives in the database, so builds on two machines see each other. A heartbeat thread refreshes
        it; a lock whose heartbeat stopped ``stale_s`` ago (a build that was killed) is taken over.
        """
        import socket
        import uuid

        owner = uuid.uuid4().hex
        host, pid = socket.gethostname(), os.getpid()

        def take(session: Any, dead_owner: str) -> bool:
            params = {"owner": owner, "holder": f"{host} pid {pid}", "host": host, "pid": pid,
                      "stale_ms": int(stale_s * 1000), "dead_owner": dead_owner}
            return bool(session.execute_write(lambda tx: tx.run(q.NEO4J_TAKE_LOCK, params).data()))

        with self._errors("taking the build lock"), self._session() as session:
            session.run(q.NEO4J_LOCK_CONSTRAINT).consume()
            if not take(session, ""):
                info = session.execute_read(lambda tx: tx.run(q.NEO4J_LOCK_HOLDER).data())
                who = info[0] if info else {"owner": "", "holder": "another build", "host": None, "pid": None, "held_s": 0}
                # A build killed on this machine: its process is gone, so its lock is taken over at once.
                dead = who.get("host") == host and isinstance(who.get("pid"), int) and not _alive(who["pid"])
                if not (dead and take(session, str(who["owner"]))):
                    raise StoreError(
                        f"another kgbuild build ({who['holder']}, for {int(who['held_s'] or 0)} s) is writing to Neo4j at {self.uri}"
                        f"{f' database {self.database}' if self.database else ''}; wait for it to finish (a lock whose build "
                        f"died is taken over after {int(stale_s)} s without a heartbeat, at once on the same machine)"
                    )
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(heartbeat_s):
                try:
                    with self._session() as beat_session:
                        beat_session.execute_write(lambda tx: tx.run(q.NEO4J_BEAT_LOCK, owner=owner).consume())
                except Exception:  # noqa: BLE001 - the build itself reports a lost server
                    pass

        thread = threading.Thread(target=beat, name="kgbuild-neo4j-lock", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)
            try:
                with self._session() as session:
                    session.execute_write(lambda tx: tx.run(q.NEO4J_RELEASE_LOCK, owner=owner).consume())
            except Exception:  # noqa: BLE001 - a server that went away: the lock goes stale and is taken over
                pass

    # ------------------------------------------------------------ reads

    def _read(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        def work(tx: Any) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(cypher, dict(params or {}))]

        with self._session() as session:
            return session.execute_read(work)

    def fetch_entities(self, types: Iterable[str] | None = None) -> list[Entity]:
        with self._errors("reading entities"):
            if types is None:
                rows = self._read(q.FETCH_ALL_ENTITIES)
            else:
                schema = require_schema(self.schema, f"Neo4j at {self.uri}")
                rows = [r for t in types for r in self._read(q.fetch_entities(entity_label(schema, t)))]
        return [row_to_entity(r) for r in rows]

    def similar_entities(
        self, type_name: str, embeddings: list[list[float]], k: int = 10
    ) -> list[list[tuple[Entity, float]]]:
        return self._nearest(type_name, embeddings, k, q.NEO4J_SIMILAR, row_to_entity)

    def similar_entity_ids(self, type_name: str, embeddings: list[list[float]], k: int = 10) -> list[list[tuple[str, float]]]:
        return self._nearest(type_name, embeddings, k, q.NEO4J_SIMILAR_IDS, lambda row: str(row["id"]))

    def _nearest(self, type_name: str, embeddings: list[list[float]], k: int, cypher: str,
                 value: Callable[[Mapping[str, Any]], Any]) -> list[list[tuple[Any, float]]]:
        """Per embedding, ``(value(row), similarity)`` of its ``k`` nearest entities of the type: one query over the
        type's vector index for all of them (``cypher`` returns each row's embedding index ``i``)."""
        schema = require_schema(self.schema, f"Neo4j at {self.uri}")
        index = q.neo4j_vector_index_name(entity_label(schema, type_name))
        out: list[list[tuple[Any, float]]] = [[] for _ in embeddings]
        if not embeddings:
            return out
        with self._errors(f"searching similar {type_name} entities"):
            params = {"vectors": [[float(x) for x in v] for v in embeddings], "k": int(k), "index": index}
            for row in self._read(cypher, params):
                out[int(row["i"])].append((value(row), float(row["similarity"])))
        return out

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, read_only: bool = True) -> list[dict[str, Any]]:
        import neo4j.exceptions as nx

        if read_only and q.loads_external_data(cypher):
            raise QueryError(q.LOAD_CSV_REFUSED)

        def work(tx: Any) -> list[dict[str, Any]]:
            return [{key: plain(value) for key, value in record.items()} for record in tx.run(cypher, dict(params or {}))]

        try:
            with self._errors("running a query"), self._session() as session:
                return session.execute_read(work) if read_only else session.execute_write(work)
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, nx.ClientError):
                if read_only and "AccessMode" in (cause.code or ""):
                    raise QueryError(
                        "the query writes to the graph but it runs read-only; pass --write (read_only=False) to allow writes"
                    ) from cause
                raise QueryError(f"Neo4j refused the query: {cause.code}: {_first_line(cause)}") from cause
            raise

    def stats(self) -> dict[str, int]:
        with self._errors("counting"):
            counts = {
                name: int(self._read(cypher)[0]["n"])
                for name, cypher in (
                    ("documents", q.COUNT_DOCUMENTS),
                    ("chunks", q.COUNT_CHUNKS),
                    ("entities", q.COUNT_ENTITIES),
                    ("mentions", q.COUNT_MENTIONS),
                    ("has_chunk", q.COUNT_HAS_CHUNK),
                    ("relationships", q.COUNT_RELATIONSHIPS),
                )
            }
        counts["facts"] = counts.pop("relationships") - counts["mentions"] - counts.pop("has_chunk")
        return counts


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _names(groups: Mapping[str, object]) -> str:
    names = sorted(groups)
    return ", ".join(names) if len(names) <= 3 else f"{len(names)} types of"


def _at_least(agent: str | None, version: tuple[int, int]) -> bool:
    """Whether a server agent string such as ``Neo4j/5.26.0`` (or ``Neo4j/2025.01.0``) is at least ``version``."""
    found = re.search(r"/(\d+)\.(\d+)", agent or "")
    return found is not None and (int(found.group(1)), int(found.group(2))) >= version


def _first_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return (str(message).strip().splitlines() or [""])[0]
