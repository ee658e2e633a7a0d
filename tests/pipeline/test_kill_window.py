"""A kill in the one window random kills almost never hit: after a batch's store writes, before its ledger commit.

The build runs as a user runs it (a subprocess); a wrapper SIGKILLs that process from inside ``Ledger.mark_done``,
i.e. exactly when the batch is in the graph but not yet recorded as done. The resumed build writes that batch a
second time; the graph must then equal a clean build's, and every entity's ``mention_count`` must equal its number
of MENTIONED_IN edges (before the fix, resumes after such kills inflated it on both stores).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kgbuild.api import open_graph
from kgbuild.graph import cypher as q
from kgbuild.resources import REPO_ROOT
from tests.fixtures.neo4j import wipe_neo4j
from tests.fixtures.pipeline import MIXED, MIXED_GOOD_JSONL_LINES, MIXED_GOOD_SOURCES

pytestmark = pytest.mark.slow
GOOD = len(MIXED_GOOD_SOURCES) + len(MIXED_GOOD_JSONL_LINES)
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}

# Runs the CLI with Ledger.mark_done SIGKILLing the process on its KGBUILD_TEST_KILL_AT-th call.
KILL_BEFORE_LEDGER = """
import os, signal, sys
from kgbuild.pipeline.ledger import Ledger
at = int(os.environ["KGBUILD_TEST_KILL_AT"])
calls = [0]
original = Ledger.mark_done
def mark_done(self, *args, **kwargs):
    calls[0] += 1
    if calls[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *args, **kwargs)
Ledger.mark_done = mark_done
from kgbuild.cli.app import main
main()
"""

SNAPSHOT = {
    "documents": q.EXPORT_DOCUMENTS,
    "chunks": q.EXPORT_CHUNKS,
    "entities": "MATCH (e:Entity) RETURN e.id AS id, labels(e) AS labels, e.name AS name, e.aliases AS aliases, "
    "e.type AS type, e.mention_count AS mention_count ORDER BY id",
    "mentions": q.EXPORT_MENTIONS,
    "facts": q.EXPORT_FACTS,
}
MISCOUNTED = (
    "MATCH (e:Entity) OPTIONAL MATCH (e)-[m:MENTIONED_IN]->() WITH e, count(m) AS edges "
    "WHERE e.mention_count <> edges RETURN e.id AS id, e.mention_count AS count, edges"
)


def build(graph: str, kill_at: int | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = KILL_BEFORE_LEDGER if kill_at else "from kgbuild.cli.app import main; main()"
    environment = {**ENV, **(env or {}), "KGBUILD_TEST_KILL_AT": str(kill_at or 0)}
    args = [sys.executable, "-c", code, "build", str(MIXED), "--model", MODEL[0], "--graph", graph, "--batch-size", "2", "--no-progress"]
    return subprocess.run(args, capture_output=True, text=True, env=environment, cwd=REPO_ROOT, timeout=600)


MODEL: list[str] = []


def snapshot(graph: str) -> dict[str, Any]:
    store = open_graph(graph)
    try:
        out = {name: store.query(cypher) for name, cypher in SNAPSHOT.items()}
        out["miscounted"] = store.query(MISCOUNTED)
    finally:
        store.close()
    for row in out["entities"]:
        row["labels"] = sorted(row["labels"])
        row["aliases"] = sorted(row["aliases"] or [])
    for row in out["facts"]:
        row["score"] = round(row["score"], 5)
    for row in out["mentions"]:
        row["score"] = round(row["score"], 5)
    return out


def kill_twice_then_resume(graph: str, env: dict[str, str] | None = None) -> None:
    for attempt in range(2):
        killed = build(graph, kill_at=2, env=env)
        assert killed.returncode == -signal.SIGKILL, (attempt, killed.stderr[-2000:])
    resumed = build(graph, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "unchanged" in resumed.stdout.strip().splitlines()[-1]


@pytest.fixture(autouse=True)
def _model(build_model: Path) -> None:
    MODEL[:] = [str(build_model)]


def test_embedded_store_kill_between_write_and_ledger(tmp_path: Path) -> None:
    clean = build(str(tmp_path / "clean"))
    assert clean.returncode == 0, clean.stderr
    expected = snapshot(str(tmp_path / "clean"))
    assert expected["miscounted"] == [] and len(expected["documents"]) == GOOD

    graph = str(tmp_path / "kg")
    kill_twice_then_resume(graph)
    got = snapshot(graph)
    assert got["miscounted"] == []
    assert got == expected


@pytest.mark.neo4j
def test_neo4j_kill_between_write_and_ledger(neo4j_uri: str, tmp_path: Path) -> None:
    wipe_neo4j(neo4j_uri)
    clean = build(neo4j_uri, env={"KGBUILD_CACHE_DIR": str(tmp_path / "cache-clean")})
    assert clean.returncode == 0, clean.stderr
    expected = snapshot(neo4j_uri)
    assert expected["miscounted"] == [] and len(expected["documents"]) == GOOD

    wipe_neo4j(neo4j_uri)
    kill_twice_then_resume(neo4j_uri, env={"KGBUILD_CACHE_DIR": str(tmp_path / "cache")})
    got = snapshot(neo4j_uri)
    assert got["miscounted"] == []
    assert got == expected
