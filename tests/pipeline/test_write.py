"""The write step and the runner against the real embedded store (documents and chunks, no extraction)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.api import open_graph
from kgbuild.errors import StoreError
from kgbuild.ingest import read_inputs
from kgbuild.pipeline import Ledger, Runner
from kgbuild.pipeline.stages import ProvenanceOnly
from kgbuild.graph.writer import WriteStage
from kgbuild.records import Document, FusedBatch
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from kgbuild.segment import Segmenter
from tests.fixtures.pipeline import MIXED_GOOD_JSONL_LINES, MIXED_GOOD_SOURCES

GOOD = len(MIXED_GOOD_SOURCES) + len(MIXED_GOOD_JSONL_LINES)


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    graph = open_graph(tmp_path / "kg")
    graph.ensure_schema(load_schema(REPO_ROOT / "schemas" / "conll04.yaml"))
    yield graph
    graph.close()


def test_runner_writes_documents_and_chunks_once(store, mixed_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    segmenter = Segmenter()
    with Ledger.for_graph(tmp_path / "kg") as ledger:
        runner = Runner([segmenter], [ProvenanceOnly(), WriteStage(store)], ledger=ledger, batch_size=3, show_progress=False)
        summary = runner.run(read_inputs([mixed_dir]))
        assert summary.processed == GOOD
        sentences = sum(len(seg.sentences) for seg in segmenter([d for d in read_inputs([mixed_dir]) if isinstance(d, Document)]))
        stats = store.stats()
        assert (stats["documents"], stats["chunks"]) == (GOOD, sentences)
        again = runner.run(read_inputs([mixed_dir]))
        assert again.nothing_to_do and store.stats() == stats


def test_write_is_idempotent_and_a_closed_store_is_a_store_error(store, mixed_dir: Path) -> None:  # type: ignore[no-untyped-def]
    docs = [d for d in read_inputs([mixed_dir / "curie.txt", mixed_dir / "turing.md"])]
    batch = FusedBatch(tuple(Segmenter()(docs)), (), (), ())
    write = WriteStage(store)
    assert write(batch) == {"documents": 2, "entities": 0, "mentions": 0, "relations": 0}
    stats = store.stats()
    write(batch)
    assert store.stats() == stats
    store.close()
    with pytest.raises(StoreError):
        write(batch)


def test_a_value_no_store_can_hold_fails_its_document_alone_and_its_batch_mates_are_written(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: a NUL in one document aborted the whole batch on the embedded store and left an orphan Document.

    ``Document.from_text`` replaces NUL and lone surrogates (docs/reliability.md); a document built directly
    (the API allows it) still reaches the writer, which must refuse it before writing anything.
    """
    good = [Document.from_text(f"Ada Lovelace met Charles Babbage in London, year {i}.", f"good{i}.txt") for i in range(2)]
    bad = Document("doc_nul", "Ada \x00 Lovelace lived in London.", "bad\nnul.txt")
    surrogate = Document("doc_sur", "Ada \udc80 Lovelace lived in London.", "bad-surrogate.txt")
    docs = [good[0], bad, surrogate, good[1]]
    with Ledger.for_graph(tmp_path / "kg") as ledger:
        runner = Runner([Segmenter()], [ProvenanceOnly(), WriteStage(store)], ledger=ledger, batch_size=4, show_progress=False)
        summary = runner.run(docs)
    assert summary.processed == 2
    failed = {f.source: f for f in summary.failed}
    assert set(failed) == {"bad-surrogate.txt", "bad\nnul.txt"}
    assert (failed["bad\nnul.txt"].stage, failed["bad\nnul.txt"].reason) == (
        "write", "UnstorableValue: its text holds a NUL character (U+0000) at character 4; no graph store can keep it"
    )
    assert str(summary.failed[0]).count("\n") == 0  # the file name's newline is printed escaped
    ids = {r["id"] for r in store.query("MATCH (d:Document) RETURN d.id AS id")}
    assert ids == {good[0].id, good[1].id}  # no orphan Document of the refused ones
    assert store.query("MATCH (c:Chunk) WHERE NOT (:Document)-[:HAS_CHUNK]->(c) RETURN count(c) AS n") == [{"n": 0}]


def test_from_text_normalises_nul_and_lone_surrogates_keeping_offsets() -> None:
    doc = Document.from_text("a\x00b\udc80c", "x\x00.txt")
    assert doc.text == "a\ufffdb\ufffdc" and doc.source == "x\ufffd.txt"
