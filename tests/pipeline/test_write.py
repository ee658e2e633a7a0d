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
