"""Two builds into one Neo4j database: the second is refused with one line while the first holds the lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kgbuild.api import open_graph
from kgbuild.resources import REPO_ROOT
from tests.fixtures.neo4j import wipe_neo4j
from tests.fixtures.pipeline import MIXED

pytestmark = pytest.mark.neo4j


def cli_build(uri: str, model: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "build", str(MIXED), "--model", str(model),
            "--graph", uri, "--no-progress"]
    env = {"KGBUILD_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    import os

    return subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, env={**os.environ, **env}, timeout=600)


def test_a_second_build_is_refused_while_the_first_holds_the_lock(neo4j_uri: str, build_model: Path, tmp_path: Path) -> None:
    wipe_neo4j(neo4j_uri)
    holder = open_graph(neo4j_uri)
    try:
        with holder.build_lock():  # the first build, on "another machine"
            second = cli_build(neo4j_uri, build_model, tmp_path / "cache")
            assert second.returncode == 1, second.stderr
            last = second.stderr.strip().splitlines()[-1]
            assert last.startswith("error: another kgbuild build (") and f"is writing to Neo4j at {neo4j_uri}" in last, second.stderr
            assert holder.query("MATCH (d:Document) RETURN count(d) AS n") == [{"n": 0}]  # it wrote nothing
        # Released at the end: the next build runs and releases it too.
        third = cli_build(neo4j_uri, build_model, tmp_path / "cache")
        assert third.returncode == 0, third.stderr
        assert holder.query("MATCH (l:KgbuildLock) RETURN count(l) AS n") == [{"n": 0}]
    finally:
        holder.close()


def test_a_stale_lock_of_a_dead_build_is_taken_over(neo4j_uri: str) -> None:
    wipe_neo4j(neo4j_uri)
    store = open_graph(neo4j_uri)
    try:
        store.query(
            "CREATE (:KgbuildLock {name: 'build', owner: 'dead', holder: 'gone pid 1', since: timestamp() - 900000, "
            "heartbeat: timestamp() - 900000})",
            read_only=False,
        )
        with store.build_lock(stale_s=300):
            rows = store.query("MATCH (l:KgbuildLock) RETURN l.owner <> 'dead' AS ours, count(l) AS n")
            assert rows == [{"ours": True, "n": 1}]
        fresh = open_graph(neo4j_uri)
        try:
            with store.build_lock(), pytest.raises(Exception, match="another kgbuild build"):
                with fresh.build_lock():
                    pass
        finally:
            fresh.close()
    finally:
        store.close()


def test_the_test_server_refuses_file_urls_even_for_a_write_query(neo4j_uri: str) -> None:
    """tools/neo4j runs with dbms.security.allow_csv_import_from_file_urls=false (what README asks of users' servers)."""
    from kgbuild.errors import QueryError

    store = open_graph(neo4j_uri)
    try:
        with pytest.raises(QueryError) as info:
            store.query("LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line LIMIT 1", read_only=False)
        assert "file" in str(info.value).lower() and "\n" not in str(info.value)
    finally:
        store.close()
