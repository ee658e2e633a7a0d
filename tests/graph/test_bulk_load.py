"""The bulk cold load, for real: build, ``kgbuild export --format neo4j-import``, its ``import.sh`` (``neo4j-admin
database import full`` from the Maven Central jars), then a Neo4j opened on the imported database answers every
documented query exactly like a transactional build of the same documents into Neo4j.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kgbuild.graph import open_graph
from kgbuild.resources import REPO_ROOT
from kgbuild.testing.examples import EXAMPLES
from kgbuild.testing.neo4j_server import TOOLS_DIR, Neo4jServer, bulk_import
from tests.fixtures.neo4j import wipe_neo4j
from tests.fixtures.ray import RAY_ENV, graph_dump

pytestmark = [pytest.mark.slow, pytest.mark.neo4j]
DOCS = REPO_ROOT / "examples" / "docs"


def kgbuild(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", "from kgbuild.cli.app import main; main()", *args],
                            capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def answers(uri: str) -> list[list[dict[str, object]]]:
    store = open_graph(uri)
    store.open()
    try:
        return [store.query(example.cypher, example.params) for example in EXAMPLES]
    finally:
        store.close()


def test_a_bulk_loaded_database_answers_the_documented_queries_like_a_transactional_build(neo4j_uri: str, tmp_path: Path) -> None:
    assert sorted(p.name for p in (TOOLS_DIR / "lib").glob("neo4j-import-tool-*.jar")), "prepare.sh did not fetch the import tool"
    env = {**RAY_ENV, "KGBUILD_CACHE_DIR": str(tmp_path / "cache")}
    staging, export = tmp_path / "staging", tmp_path / "import"
    kgbuild("build", str(DOCS), "--model", "conll04", "--min-confidence", "0", "--graph", str(staging), "--no-progress", env=env)
    kgbuild("export", "--graph", str(staging), "--format", "neo4j-import", "--out", str(export), env=env)
    bulk_import(export, tmp_path / "bulk-neo4j")

    wipe_neo4j(neo4j_uri)
    kgbuild("build", str(DOCS), "--model", "conll04", "--min-confidence", "0", "--graph", neo4j_uri, "--no-progress", env=env)
    transactional = answers(neo4j_uri)
    with Neo4jServer(tmp_path / "bulk-neo4j") as server:
        assert server.uri is not None
        bulk = answers(server.uri)
        assert graph_dump(server.uri) == graph_dump(neo4j_uri)
    assert any(transactional) and transactional[2], "the documented queries found nothing to compare"
    assert bulk == transactional
