"""The write step: a fused batch goes to the graph store through its upsert methods."""

from __future__ import annotations

from kgbuild.errors import KgbuildError, StoreError
from kgbuild.graph.store import GraphStore
from kgbuild.records import FusedBatch


class WriteStage:
    """Writes a :class:`FusedBatch`: documents and chunks, entities, mentions, then facts.

    Every upsert is idempotent, so a batch written twice (after a crash between the store's
    commit and the ledger's) leaves the graph as it was. Any failure of the store is raised
    as one-line :class:`StoreError`, which stops the build.
    """

    name = "write"

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def __call__(self, batch: FusedBatch) -> dict[str, int]:
        try:
            self.store.upsert_documents(batch.documents)
            self.store.upsert_entities(batch.entities)
            self.store.upsert_mentions(batch.mentions)
            self.store.upsert_facts(batch.facts)
        except StoreError:
            raise
        except KgbuildError:
            raise  # e.g. QueryError: a label outside the schema; a bug, not a flaky store
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise StoreError(f"graph store write failed: {type(exc).__name__}: {first}") from exc
        return {
            "documents": len(batch.documents),
            "entities": len(batch.entities),
            "mentions": len(batch.mentions),
            "relations": len(batch.facts),
        }
