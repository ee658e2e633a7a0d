"""The resume ledger: SQLite next to the graph, keyed by content hash, schema and model fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.pipeline.ledger import LEDGER_NAME, Ledger, ledger_path


def test_done_depends_on_hash_schema_and_model_and_survives_reopening(tmp_path: Path) -> None:
    with Ledger.for_graph(tmp_path / "kg") as ledger:
        ledger.mark_done([("doc_a", "a.txt"), ("doc_b", "b.txt")], "s1", "m1")
        ledger.mark_failed("doc_c", "c.txt", "extract: ValueError: boom", "s1", "m1")
    assert (tmp_path / "kg" / LEDGER_NAME).is_file()
    with Ledger.for_graph(tmp_path / "kg") as ledger:
        assert ledger.done(["doc_a", "doc_b", "doc_c", "doc_x"], "s1", "m1") == {"doc_a", "doc_b"}
        assert ledger.done(["doc_a"], "s2", "m1") == set()
        assert ledger.done(["doc_a"], "s1", "m2") == set()
        assert ledger.counts() == {"done": 2, "failed": 1}
        assert ledger.failures() == [("doc_c", "c.txt", "extract: ValueError: boom")]
        ledger.mark_done([("doc_c", "c.txt")], "s1", "m1")  # a retry that worked
        assert ledger.counts() == {"done": 3}
        ledger.reset()
        assert ledger.counts() == {}


def test_many_ids_at_once(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ids = [f"doc_{i}" for i in range(1500)]
        ledger.mark_done(((i, "x") for i in ids[::2]), "s", "m")
        assert ledger.done(ids, "s", "m") == set(ids[::2])


def test_neo4j_ledgers_live_in_the_cache_one_per_uri_and_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGBUILD_CACHE_DIR", str(tmp_path / "cache"))
    a = ledger_path("neo4j://localhost:7687")
    assert a.parent == tmp_path / "cache" / "ledgers"
    assert a == ledger_path("neo4j://localhost:7687") != ledger_path("neo4j://localhost:7687", "other")
    assert ledger_path("bolt://db:7687") != a
    assert ledger_path("./kg") == Path("kg") / LEDGER_NAME
