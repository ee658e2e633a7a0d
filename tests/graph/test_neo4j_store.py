"""Neo4j-only behaviour: constraints and indexes, a server that dies mid-write, and a server that is not there."""

from __future__ import annotations

import logging
import random
import socket
import threading
from pathlib import Path

import pytest

from kgbuild.errors import StoreError
from kgbuild.graph.errors import StoreUnavailable
from kgbuild.graph.neo4j_store import Neo4jStore
from kgbuild.records import Entity, Fact
from kgbuild.schema.models import Schema
from kgbuild.testing.neo4j_server import Neo4jServer
from tests.fixtures.neo4j import wipe_neo4j

pytestmark = pytest.mark.neo4j


def test_constraints_and_vector_indexes_from_the_schema(neo4j_uri: str, schema: Schema) -> None:
    with Neo4jStore(neo4j_uri) as store:
        store.ensure_schema(schema)
        store.ensure_schema(schema)  # idempotent
        constraints = {r["name"]: r for r in store.query("SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties, type")}
        indexes = {r["name"]: r for r in store.query("SHOW INDEXES YIELD name, type, labelsOrTypes, properties")}
    for name, label in [("document_id", "Document"), ("chunk_id", "Chunk"), ("entity_id", "Entity")]:
        assert constraints[name]["labelsOrTypes"] == [label] and constraints[name]["type"] == "UNIQUENESS"
    for entity_type in schema.entity_names:
        assert constraints[f"entity_id_{entity_type}"]["labelsOrTypes"] == [entity_type]
        vector = indexes[f"entity_embedding_{entity_type}"]
        assert vector["type"] == "VECTOR" and vector["properties"] == ["embedding"]


def test_unreachable_server_is_one_line_store_error() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = Neo4jStore(f"bolt://127.0.0.1:{port}", max_retry_time=1)
    with pytest.raises(StoreError) as info:
        store.open()
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "connecting" in message


@pytest.mark.slow  # starts two more Neo4j servers on one data directory
def test_server_killed_mid_write_keeps_committed_batches_and_resumes(tmp_path: Path, schema: Schema) -> None:
    """Kill Neo4j after 3 committed batches: a one-line error, the 3 batches survive a restart, a rerun completes."""
    entities = [Entity(f"p{i}", "Person", f"Person {i}") for i in range(400)]
    facts = [Fact(f"p{i}", "SPOUSE", f"p{(i * 7 + 1) % 400}", 0.5, ("doc_x",), ()) for i in range(400)]
    server = Neo4jServer(tmp_path / "db")
    server.start()
    try:
        # One stream, so the kill falls between two commits (concurrent streams are tested below).
        store = Neo4jStore(server.uri or "", batch_size=50, workers=1, max_retry_time=2)
        store.open()
        store.ensure_schema(schema)
        store.upsert_entities(entities)
        batches = 0

        def crash_after_three(action: str, rows: int) -> None:
            nonlocal batches
            batches += 1
            if batches == 3:
                server.kill()

        store.on_batch = crash_after_three
        with pytest.raises(StoreUnavailable) as info:
            store.upsert_facts(facts)
        store.close()
        message = str(info.value)
        assert "\n" not in message and (server.uri or "") in message and "SPOUSE facts" in message
        assert info.value.committed == 150 and "150 rows committed" in message
    finally:
        server.stop()

    restarted = Neo4jServer(tmp_path / "db")
    restarted.start()
    try:
        with Neo4jStore(restarted.uri or "") as store:
            store.ensure_schema(schema)
            assert store.stats()["entities"] == 400
            assert store.stats()["facts"] == 150  # the three committed batches, nothing else
            store.upsert_facts(facts)  # the next run resumes: idempotent rewrite
            assert store.stats()["facts"] == 400
    finally:
        restarted.stop()


def test_large_fact_writes_run_in_concurrent_streams_without_deadlock(
    neo4j_uri: str, schema: Schema, caplog: pytest.LogCaptureFixture
) -> None:
    """Two streams over node-disjoint cells write exactly what one stream writes, and what the per-type statements
    for servers before 5.26 write, idempotently, with no deadlock."""
    rng = random.Random(3)
    entities = [Entity(f"p{i}", "Person", f"Person {i}") for i in range(200)]
    types = ["SPOUSE", "SIBLING", "FATHER", "MOTHER"]
    facts = [Fact(f"p{rng.randrange(200)}", rng.choice(types), f"p{rng.randrange(200)}", round(rng.random(), 3),
                  (f"doc_{rng.randrange(5)}",), (f"chunk_{rng.randrange(9)}",)) for _ in range(2_000)]
    dump = "MATCH (h:Entity)-[r]->(t:Entity) RETURN h.id, type(r), t.id, r.score, r.doc_ids, r.evidence_chunk_ids ORDER BY h.id, type(r), t.id"
    graphs: dict[tuple[int, bool], list[dict[str, object]]] = {}
    for workers, dynamic_types in ((1, True), (2, True), (1, False)):
        wipe_neo4j(neo4j_uri)
        with Neo4jStore(neo4j_uri, batch_size=100, workers=workers) as store:
            store._dynamic_types = dynamic_types
            store.ensure_schema(schema)
            store.upsert_entities(entities)
            threads: set[str] = set()
            store.on_batch = lambda action, rows: threads.add(threading.current_thread().name)
            with caplog.at_level(logging.INFO, logger="neo4j"):
                store.upsert_facts(facts)
                store.upsert_facts(facts[::-1])  # a rewrite in another order changes nothing
            graphs[workers, dynamic_types] = store.query(dump)
            assert len(threads) == workers
    assert "Deadlock" not in caplog.text
    assert graphs[2, True] == graphs[1, True] == graphs[1, False]
    assert len(graphs[1, True]) == len({(f.head_id, f.type, f.tail_id) for f in facts})


@pytest.mark.parametrize(
    ("agent", "dynamic"),
    [("Neo4j/5.26.0", True), ("Neo4j/5.27-aura", True), ("Neo4j/2025.01.0", True), ("Neo4j/5.25.1", False),
     ("Neo4j/4.4.30", False), ("something else", False), (None, False)],
)
def test_dynamic_relationship_types_only_from_neo4j_5_26(agent: str | None, dynamic: bool) -> None:
    from kgbuild.graph.neo4j_store import _at_least

    assert _at_least(agent, (5, 26)) is dynamic
