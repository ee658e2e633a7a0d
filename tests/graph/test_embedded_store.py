"""Embedded-store behaviour: data survive close, a crash and a dead owner; one owner per directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgbuild.errors import StoreError
from kgbuild.graph import open_graph
from kgbuild.graph.embedded_store import EmbeddedStore
from kgbuild.graph.errors import StoreUnavailable
from kgbuild.graph.falkor_server import alive
from kgbuild.records import Entity, Fact
from kgbuild.schema.models import Schema
from tests.graph.corpus import corpus, write

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_open_graph_picks_the_store(tmp_path: Path) -> None:
    from kgbuild.graph.neo4j_store import Neo4jStore

    assert isinstance(open_graph(str(tmp_path / "kg")), EmbeddedStore)
    for uri in ("neo4j://localhost:7687", "bolt://127.0.0.1:7687", "neo4j+s://example.org", "BOLT://h:1"):
        assert isinstance(open_graph(uri), Neo4jStore)


def test_graph_survives_close_and_reopen(tmp_path: Path, schema: Schema) -> None:
    path = tmp_path / "kg"
    path.mkdir()
    (path / "ledger.sqlite").write_text("other tools keep files here too")
    with EmbeddedStore(path) as store:
        store.ensure_schema(schema)
        write(store, corpus())
        before = store.stats()
    with EmbeddedStore(path) as store:
        assert store.stats() == before
        store.ensure_schema(schema)  # idempotent on an existing graph
        assert store.stats() == before
    assert (path / "ledger.sqlite").read_text() == "other tools keep files here too"


def test_one_owner_per_directory(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path / "kg"):
        with pytest.raises(StoreError, match="is open in another kgbuild process") as info:
            EmbeddedStore(tmp_path / "kg").open()
        assert "\n" not in str(info.value)


def test_a_file_is_not_a_graph_directory(tmp_path: Path) -> None:
    target = tmp_path / "kg.txt"
    target.write_text("x")
    with pytest.raises(StoreError, match="kg.txt"):
        EmbeddedStore(target).open()


def test_crash_mid_write_keeps_committed_batches_and_resumes(tmp_path: Path, schema: Schema) -> None:
    entities = [Entity(f"p{i}", "Person", f"Person {i}") for i in range(300)]
    facts = [Fact(f"p{i}", "SPOUSE", f"p{(i * 7 + 1) % 300}", 0.5, ("doc_x",), ()) for i in range(300)]
    store = EmbeddedStore(tmp_path / "kg", batch_size=40)
    store.open()
    store.ensure_schema(schema)
    store.upsert_entities(entities)
    batches = 0

    def crash_after_three(action: str, rows: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            assert store._server is not None and store._server.process is not None
            store._server.process.kill()  # SIGKILL: no shutdown, no flush beyond fsync'd writes
            store._server.process.wait()

    store.on_batch = crash_after_three
    with pytest.raises(StoreUnavailable) as info:
        store.upsert_facts(facts)
    store.close()
    assert "\n" not in str(info.value) and str(tmp_path / "kg") in str(info.value)
    assert info.value.committed == 120
    with EmbeddedStore(tmp_path / "kg") as again:
        again.ensure_schema(schema)
        assert again.stats()["entities"] == 300 and again.stats()["facts"] == 120
        again.upsert_facts(facts)
        assert again.stats()["facts"] == 300


def test_a_graph_never_written_answers_queries_as_an_empty_graph(tmp_path: Path) -> None:
    """`open_graph(new_dir).query(...)` from the API: FalkorDB refuses reads of a key never written."""
    with open_graph(tmp_path / "new") as store:
        assert store.query("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
        assert store.query("MATCH (e:Entity) RETURN e.name AS name") == []


def test_a_server_that_stops_answering_ends_the_call_with_a_clear_error(tmp_path: Path, schema: Schema,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A wedged server (here: stopped with SIGSTOP) must not leave a build asleep on its socket forever."""
    from kgbuild.graph import falkor_server

    monkeypatch.setattr(falkor_server, "REPLY_TIMEOUT_S", 2.0)
    store = EmbeddedStore(tmp_path / "kg")
    store.open()
    store.ensure_schema(schema)
    assert store._server is not None and store._server.process is not None
    server = store._server.process
    os.kill(server.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            store.upsert_entities([Entity("p1", "Person", "Person 1")])
        assert time.monotonic() - started < 30
        assert "\n" not in str(info.value) and str(tmp_path / "kg") in str(info.value) and "Timeout" in str(info.value)
    finally:
        os.kill(server.pid, signal.SIGCONT)
        store.close()
    with EmbeddedStore(tmp_path / "kg") as again:  # nothing half-written: the directory opens and takes writes
        again.ensure_schema(schema)
        again.upsert_entities([Entity("p1", "Person", "Person 1")])
        assert again.stats()["entities"] == 1


def test_a_server_still_loading_at_the_deadline_is_started_once_more(tmp_path: Path, schema: Schema,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """FalkorDB once stalled after decoding a small graph from its log; a server not ready by the deadline is ended
    and a fresh one loads the same files (here the first server is taken for still loading)."""
    from kgbuild.graph.falkor_server import FalkorServer

    with EmbeddedStore(tmp_path / "kg") as store:
        store.ensure_schema(schema)
        store.upsert_entities([Entity("p1", "Person", "Person 1")])
    first: list[int] = []
    answers = FalkorServer._answers

    def stalls_first(self: FalkorServer) -> bool:
        if not first:
            first.append(self.process.pid)
        return self.process.pid != first[0] and answers(self)

    monkeypatch.setattr(FalkorServer, "_answers", stalls_first)
    server = FalkorServer(tmp_path / "kg", startup_timeout=2.0)
    try:
        server.start()
        assert server.process is not None and server.process.pid != first[0] and not alive(first[0])
        assert server.client().select_graph("kg").query("MATCH (e:Entity) RETURN count(e)").result_set == [[1]]
    finally:
        server.stop()
    monkeypatch.setattr(FalkorServer, "_answers", lambda self: False)  # never ready: a clear error after two tries
    with pytest.raises(StoreError, match=r"did not start \(still loading after two tries of 1 s\)"):
        FalkorServer(tmp_path / "kg", startup_timeout=1.0).start()
    monkeypatch.undo()
    with EmbeddedStore(tmp_path / "kg") as again:  # and the directory is free again
        assert again.stats()["entities"] == 1


def test_server_left_by_a_killed_process_is_replaced(tmp_path: Path, schema: Schema) -> None:
    """A build killed with SIGKILL leaves FalkorDB running; the next open stops it cleanly and sees all data."""
    path = tmp_path / "kg"
    script = (
        "import sys, time\n"
        "from kgbuild.graph.embedded_store import EmbeddedStore\n"
        "from kgbuild.schema.load import load_schema\n"
        "from tests.graph.corpus import corpus, write\n"
        "s = EmbeddedStore(sys.argv[1]); s.open(); s.ensure_schema(load_schema(sys.argv[2])); write(s, corpus())\n"
        "print('written', flush=True); time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(REPO_ROOT / "schemas" / "default.yaml")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == "written"
    orphan = int((path / "falkordb.pid").read_text().split()[0])
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert alive(orphan)  # FalkorDB outlived its owner
    with EmbeddedStore(path) as store:
        assert store.stats() == {"documents": 2, "chunks": 4, "entities": 4, "mentions": 8, "facts": 4}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(orphan):
        time.sleep(0.05)
    assert not alive(orphan), "the orphaned FalkorDB process was not stopped"


def test_closing_after_writes_compacts_the_log_and_a_reader_leaves_it(tmp_path: Path, schema: Schema) -> None:
    """The append-only log's increments become one snapshot when a writer closes (the next open loads it instead of
    replaying every write); the graph reads back the same; a read-only open leaves the files as they are."""
    from kgbuild.graph.falkor_server import AOF_DIR

    store = EmbeddedStore(tmp_path / "kg")
    store.open()
    store.ensure_schema(schema)
    write(store, corpus())
    stats = store.stats()
    base, incr = store._server.log_sizes()
    assert incr > base
    store.close()
    files = sorted(p.name for p in (tmp_path / "kg" / AOF_DIR).iterdir())
    reader = EmbeddedStore(tmp_path / "kg", read_only=True)
    reader.open()
    assert reader.stats() == stats
    assert reader._server.log_sizes()[1] == 0 and reader._server.log_sizes()[0] > 0
    reader.close()
    assert sorted(p.name for p in (tmp_path / "kg" / AOF_DIR).iterdir()) == files
