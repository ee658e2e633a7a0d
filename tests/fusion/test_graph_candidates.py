"""Graph candidates in one round trip per type (issue 15): the same neighbours as the per-entity search, on a real
build of Re-DocRED documents, in the embedded store and in a real Neo4j."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.api import build, open_graph
from kgbuild.datasets import read_annotations
from kgbuild.resources import REPO_ROOT
from kgbuild.schema.load import load_schema
from tests.datafiles import dataset
from tests.fixtures.neo4j import wipe_neo4j

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_one_round_trip_finds_the_neighbours_of_the_per_entity_search(kind: str, tmp_path: Path, request: pytest.FixtureRequest,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    schema = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    for i, doc in enumerate(read_annotations(dataset("re-docred/dev_100.json"), schema)[:8]):
        (corpus / f"doc{i:03d}.txt").write_text(doc.text, encoding="utf-8")
    if kind == "neo4j":
        graph = request.getfixturevalue("neo4j_uri")
        wipe_neo4j(graph)
        monkeypatch.setenv("KGBUILD_CACHE_DIR", str(tmp_path / "cache"))  # a fresh ledger for this server
    else:
        graph = str(tmp_path / "kg")
    summary = build([corpus], graph=graph, batch_size=4, show_progress=False, min_confidence=0.0)
    assert summary.processed == 8 and not summary.failed
    store = open_graph(graph)
    try:
        store.ensure_schema(schema)
        entities = store.fetch_entities()
        types = sorted({e.type for e in entities})
        assert len(entities) > 50 and len(types) >= 3
        compared = 0
        for type_name in types:
            vectors = [list(e.embedding) for e in entities if e.type == type_name and e.embedding is not None]
            batched = store.similar_entity_ids(type_name, vectors, k=10)
            one_by_one = store.similar_entities(type_name, vectors, k=10)
            assert len(batched) == len(one_by_one) == len(vectors)
            for got, want in zip(batched, one_by_one):
                assert sorted(i for i, _ in got) == sorted(e.id for e, _ in want)
                assert sorted(s for _, s in got) == pytest.approx(sorted(s for _, s in want), abs=1e-5)
                compared += len(want)
        assert compared > 100
        assert store.similar_entity_ids(types[0], [], k=3) == []
    finally:
        store.close()
