"""End to end with the real parts: ingest, spaCy, a tiny real extractor, fusion and the embedded store.

The build runs as a user runs it (the console entry point in a subprocess); interruption is a real
SIGKILL of that process, and a store failure is its real database server being killed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from kgbuild.api import build, open_graph
from kgbuild.pipeline.ledger import LEDGER_NAME
from kgbuild.resources import REPO_ROOT
from tests.fixtures.pipeline import MIXED_BAD, MIXED_GOOD_JSONL_LINES, MIXED_GOOD_SOURCES, ledger_counts

pytestmark = pytest.mark.slow
GOOD = len(MIXED_GOOD_SOURCES) + len(MIXED_GOOD_JSONL_LINES)
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2", "COLUMNS": "200"}


def kgbuild_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from kgbuild.cli.app import main; main()", *args]


def run_build(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kgbuild_cmd("build", *args, "--no-progress"), capture_output=True, text=True, env=ENV, cwd=REPO_ROOT, timeout=timeout)


def headline(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def graph_stats(graph: Path) -> dict[str, int]:
    store = open_graph(graph)
    try:
        return store.stats()
    finally:
        store.close()


def test_mixed_folder_builds_the_good_documents_and_names_each_bad_file(mixed_dir: Path, build_model: Path, tmp_path: Path) -> None:
    graph = tmp_path / "kg"
    result = run_build(str(mixed_dir), "--model", str(build_model), "--graph", str(graph), "--batch-size", "4")
    assert result.returncode == 0, result.stderr
    for name, keyword in MIXED_BAD.items():
        lines = [line for line in result.stderr.splitlines() if line.startswith(f"skipped {mixed_dir / name}: ")]
        assert len(lines) == 1 and keyword in lines[0], (name, result.stderr)
    assert headline(result.stdout) == (
        f"built {GOOD} documents into {graph} in " + re.search(r"in (\d+\.\d)s", result.stdout).group(1) + f"s ({len(MIXED_BAD)} bad inputs skipped)"
    )
    assert graph_stats(graph)["documents"] == GOOD

    strict = run_build(str(mixed_dir), "--model", str(build_model), "--graph", str(tmp_path / "kg2"), "--strict")
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines()[-1] == (
        f"error: {mixed_dir / 'blank.md'}: empty file (only whitespace), nothing to read "
        "(--strict makes bad input fatal; drop it to skip bad files)"
    )


def test_a_killed_build_resumes_where_it_stopped_and_a_third_run_does_nothing(mixed_dir: Path, build_model: Path, tmp_path: Path) -> None:
    graph = tmp_path / "kg"
    args = [str(mixed_dir), "--model", str(build_model), "--graph", str(graph), "--batch-size", "1"]
    process = subprocess.Popen(kgbuild_cmd("build", *args, "--no-progress"), env=ENV, cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while ledger_counts(graph / LEDGER_NAME).get("done", 0) < 2:
            assert process.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build did not commit 2 documents in time"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the build and anything it started, mid-batch
        process.wait(30)
    done = ledger_counts(graph / LEDGER_NAME)["done"]
    assert 2 <= done < GOOD

    second = run_build(*args)
    assert second.returncode == 0, second.stderr
    expected = rf"built {GOOD - done} documents into {re.escape(str(graph))} in [0-9.]+s \({done} unchanged, {len(MIXED_BAD)} bad inputs skipped\)"
    assert re.fullmatch(expected, headline(second.stdout)), second.stdout
    assert graph_stats(graph)["documents"] == GOOD

    third = run_build(*args)
    assert third.returncode == 0, third.stderr
    assert headline(third.stdout) == f"nothing to do: all {GOOD} documents are already in {graph} with the same content, schema and model"
    assert graph_stats(graph)["documents"] == GOOD


def test_a_store_that_dies_mid_build_stops_it_and_keeps_what_was_committed(mixed_dir: Path, build_model: Path, tmp_path: Path) -> None:
    graph = tmp_path / "kg"
    args = [str(mixed_dir), "--model", str(build_model), "--graph", str(graph), "--batch-size", "1"]
    process = subprocess.Popen(kgbuild_cmd("build", *args, "--no-progress"), env=ENV, cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while ledger_counts(graph / LEDGER_NAME).get("done", 0) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.kill(int((graph / "falkordb.pid").read_text().split()[0]), signal.SIGKILL)  # the embedded store's server dies
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1, (out, err)
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(r"error: .*graph store.*", last), err
    done = ledger_counts(graph / LEDGER_NAME)["done"]
    assert 2 <= done < GOOD
    # The re-run writes only the rest; the graph then holds every document, so the ones the ledger
    # recorded as done before the failure really were committed.
    summary = build([mixed_dir], model=build_model, graph=graph, batch_size=4, show_progress=False)
    assert (summary.processed, summary.unchanged) == (GOOD - done, done)
    assert graph_stats(graph)["documents"] == GOOD


@pytest.mark.neo4j
def test_building_into_neo4j_then_again_does_nothing(neo4j_uri: str, build_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kgbuild.ingest import read_inputs
    from kgbuild.records import Document
    from tests.fixtures.pipeline import MIXED

    monkeypatch.setenv("KGBUILD_CACHE_DIR", str(tmp_path / "cache"))  # a fresh ledger for this server
    ids = [d.id for d in read_inputs([MIXED]) if isinstance(d, Document)]
    first = build([MIXED], model=build_model, graph=neo4j_uri, batch_size=4, show_progress=False)
    assert (first.processed, len(first.bad_input), first.failed) == (GOOD, len(MIXED_BAD), [])
    assert first.write_retries is not None and first.write_retries >= 0  # the Neo4j writer's retries are reported
    shown = Console(record=True, width=200)
    first.print(shown)
    assert "write transactions retried (deadlock or other transient error)" in shown.export_text()
    store = open_graph(neo4j_uri)
    try:
        rows = store.query("MATCH (d:Document) WHERE d.id IN $ids RETURN count(d) AS n", {"ids": ids})
        assert rows == [{"n": GOOD}]
    finally:
        store.close()
    second = build([MIXED], model=build_model, graph=neo4j_uri, batch_size=4, show_progress=False)
    assert second.nothing_to_do and second.unchanged == GOOD
    # The database is emptied behind the ledger's back: the next build notices and writes everything again.
    store = open_graph(neo4j_uri)
    try:
        store.query("MATCH (n) DETACH DELETE n", read_only=False)
    finally:
        store.close()
    console = Console(record=True, width=200)
    third = build([MIXED], model=build_model, graph=neo4j_uri, batch_size=4, show_progress=False, console=console)
    assert third.processed == GOOD and third.unchanged == 0
    assert f"the graph {neo4j_uri} is empty but its ledger lists {GOOD} documents" in console.export_text()
