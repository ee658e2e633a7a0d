"""The write step: a fused batch goes to the graph store through its upsert methods."""

from __future__ import annotations

from kgbuild.errors import KgbuildError, StoreError
from kgbuild.graph.falkor_params import UnstorableValue, string_problem
from kgbuild.graph.store import GraphStore
from kgbuild.records import FusedBatch


class WriteStage:
    """Writes a :class:`FusedBatch`: documents and chunks, entities, mentions, then facts.

    Every upsert is idempotent, so a batch written twice (after a crash between the store's
    commit and the ledger's) leaves the graph as it was: ``mention_count`` is recounted from the
    MENTIONED_IN edges after they are merged, never added to. A value no store can hold (a NUL
    character, a lone surrogate) is refused before anything is written, as :class:`UnstorableValue`,
    so the runner fails that document alone and leaves no half-written node. Any failure of the
    store itself is raised as one-line :class:`StoreError`, which stops the build.
    """

    name = "write"

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def __call__(self, batch: FusedBatch) -> dict[str, int]:
        check_storable(batch)
        try:
            self.store.upsert_documents(batch.documents)
            self.store.upsert_entities(batch.entities)
            self.store.upsert_mentions(batch.mentions)
            self.store.recount_mentions(sorted({e.id for e in batch.entities} | {m.entity_id for m in batch.mentions}))
            self.store.upsert_facts(batch.facts)
        except (StoreError, UnstorableValue):
            raise  # UnstorableValue: one document's value (e.g. a NaN score); the runner fails it alone
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


def check_storable(batch: FusedBatch) -> None:
    """Raise :class:`UnstorableValue` naming the first string of ``batch`` a graph store cannot hold."""
    for segmented in batch.documents:
        doc = segmented.document
        for what, text in (("source", doc.source), ("title", doc.title), ("text", doc.text)):
            _check(f"its {what}", text)
    for entity in batch.entities:
        for text in (entity.name, *entity.aliases):
            _check(f"entity name {text!r}", text)
    for mention in batch.mentions:
        _check(f"mention {mention.text!r}", mention.text)


def _check(what: str, text: str) -> None:
    problem = string_problem(text)
    if problem is not None:
        raise UnstorableValue(f"{what} holds {problem}; no graph store can keep it")
