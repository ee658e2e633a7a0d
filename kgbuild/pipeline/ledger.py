"""Per-document build state persisted next to the graph, so a build resumes and a re-run is a no-op.

A document is ``done`` for a graph only when its write to the store committed; it stays done as
long as its content hash (the document id), the schema fingerprint and the model fingerprint are
the same. The ledger is an SQLite file: in the graph's directory for the embedded store, under
``~/.cache/kgbuild/ledgers/`` for a Neo4j URI.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Iterable, Iterator

from kgbuild.resources import cache_dir
from kgbuild.errors import StoreError

LEDGER_NAME = "kgbuild-ledger.sqlite"
REMOTE_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    content_hash TEXT PRIMARY KEY,  -- Document.id, the hash of its text
    source TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    schema_fp TEXT NOT NULL,
    model_fp TEXT NOT NULL,
    reason TEXT,
    updated REAL NOT NULL
)
"""


def is_remote(uri: str) -> bool:
    return uri.lower().startswith(REMOTE_SCHEMES)


def ledger_path(graph: str | Path, database: str | None = None) -> Path:
    """Where the ledger of ``graph`` lives: inside an embedded graph's directory, else in the cache."""
    uri = str(graph)
    if not is_remote(uri):
        return Path(uri) / LEDGER_NAME
    cache = cache_dir()
    key = hashlib.sha256(f"{uri}|{database or ''}".encode()).hexdigest()[:16]
    return cache / "ledgers" / f"{key}.sqlite"


class Ledger:
    """The done/failed state of each document for one graph."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions below
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the build ledger: {exc}; check the graph directory is writable") from None

    @classmethod
    def for_graph(cls, graph: str | Path, database: str | None = None) -> "Ledger":
        return cls(ledger_path(graph, database))

    def done(self, doc_ids: Iterable[str], schema_fp: str, model_fp: str) -> set[str]:
        """Which of ``doc_ids`` are already in the graph with this schema and model."""
        ids = list(doc_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            rows = self._db.execute(
                f"SELECT content_hash FROM documents WHERE status = 'done' AND schema_fp = ? AND model_fp = ? "
                f"AND content_hash IN ({','.join('?' * len(chunk))})",
                [schema_fp, model_fp, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    def mark_done(self, docs: Iterable[tuple[str, str]], schema_fp: str, model_fp: str) -> None:
        """Record ``(doc_id, source)`` pairs as committed, in one transaction (call after the store commit)."""
        self._upsert([(doc_id, source, "done", schema_fp, model_fp, None) for doc_id, source in docs])

    def mark_failed(self, doc_id: str, source: str, reason: str, schema_fp: str, model_fp: str) -> None:
        """Record a document that a stage could not process; the next build tries it again."""
        self._upsert([(doc_id, source, "failed", schema_fp, model_fp, reason)])

    def _upsert(self, rows: list[tuple[str, str, str, str, str, str | None]]) -> None:
        if not rows:
            return
        now = time.time()
        with self._disk_errors("recording progress"), self._transaction():
            self._db.executemany(
                "INSERT INTO documents (content_hash, source, status, schema_fp, model_fp, reason, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (content_hash) DO UPDATE SET source = excluded.source, "
                "status = excluded.status, schema_fp = excluded.schema_fp, model_fp = excluded.model_fp, "
                "reason = excluded.reason, updated = excluded.updated",
                [(*row, now) for row in rows],
            )

    @contextmanager
    def _disk_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "full" in str(exc).lower():
                raise StoreError(f"disk full while {action} in the build ledger {self.path}; free some space and run again") from None
            raise StoreError(f"{self.path}: the build ledger failed while {action}: {exc}") from None

    def replaced(self, current: dict[str, str]) -> list[tuple[str, str]]:
        """``(doc_id, source)`` of recorded documents whose source now holds another text.

        ``current`` maps each source read in this run to its document id; a recorded document
        whose id is still read from any source is not replaced.
        """
        sources = list(current)
        still_read = set(current.values())
        found: list[tuple[str, str]] = []
        for start in range(0, len(sources), 500):
            chunk = sources[start : start + 500]
            rows = self._db.execute(
                f"SELECT content_hash, source FROM documents WHERE source IN ({','.join('?' * len(chunk))})", chunk
            )
            found.extend((doc_id, source) for doc_id, source in rows if current[source] != doc_id and doc_id not in still_read)
        return found

    def forget(self, doc_ids: list[str]) -> None:
        """Drop documents from the ledger (after they were removed from the graph)."""
        with self._transaction():
            self._db.executemany("DELETE FROM documents WHERE content_hash = ?", [(doc_id,) for doc_id in doc_ids])

    def counts(self) -> dict[str, int]:
        """Documents per status, e.g. ``{"done": 12, "failed": 1}``."""
        return dict(self._db.execute("SELECT status, COUNT(*) FROM documents GROUP BY status").fetchall())

    def failures(self) -> list[tuple[str, str, str]]:
        """``(doc_id, source, reason)`` of the documents that failed last time."""
        return self._db.execute("SELECT content_hash, source, reason FROM documents WHERE status = 'failed'").fetchall()

    def reset(self) -> None:
        """Forget every document (the graph was emptied or replaced)."""
        with self._transaction():
            self._db.execute("DELETE FROM documents")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): one durable step."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")
