"""A file far longer than ``--part-chars``: built as parts in batches bounded by ``--batch-chars``, and an
interrupted build resumes inside the file (issue 18). The file is a real generated single-line text, small enough
for CI; ``benchmarks/large_file_memory.py`` measures the same on 50 MB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from kgbuild.api import open_graph
from kgbuild.ingest import IngestOptions, read_inputs
from kgbuild.pipeline import Runner
from kgbuild.pipeline.ledger import LEDGER_NAME
from kgbuild.resources import REPO_ROOT
from kgbuild.segment import Segmenter
from kgbuild.testing.hostile import SENTENCES
from tests.fixtures.pipeline import ledger_counts
from tests.pipeline.test_kill_window import KILL_BEFORE_LEDGER

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
PART_CHARS = 1000  # the smallest --part-chars
BATCH_CHARS = 2500


def one_line_text(path: Path, chars: int) -> Path:
    """``chars`` characters of sentences on a single line (no paragraph or line break to cut at)."""
    words, i = [], 0
    while sum(map(len, words)) + len(words) < chars:
        words.append(SENTENCES[i % len(SENTENCES)].replace(".", f" in {1900 + i}."))
        i += 1
    path.write_text(" ".join(words), encoding="utf-8")
    return path


class Batches:
    """A pass-through stage that records the batches it is given."""

    name = "record"

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    def __call__(self, batch: list) -> list:  # type: ignore[type-arg]
        self.seen.append([len(seg.document.text) for seg in batch])
        return batch


def test_a_batch_closes_at_batch_chars(tmp_path: Path) -> None:
    path = one_line_text(tmp_path / "long.txt", 12_000)
    record = Batches()
    runner = Runner([Segmenter(), record], batch_size=16, batch_chars=BATCH_CHARS, show_progress=False)
    summary = runner.run(read_inputs([path], IngestOptions(part_chars=PART_CHARS)))
    assert summary.processed == sum(map(len, record.seen)) >= 12
    assert all(size <= PART_CHARS for batch in record.seen for size in batch)
    for batch in record.seen[:-1]:  # each batch closed as soon as it reached the bound, not one part later
        assert sum(batch[:-1]) < BATCH_CHARS <= sum(batch), record.seen
    assert sum(record.seen[-1][:-1]) < BATCH_CHARS


def _build(path: Path, graph: Path, model: Path, kill_at: int = 0, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    code = KILL_BEFORE_LEDGER if kill_at else "from kgbuild.cli.app import main; main()"
    # Every thread's stack on stderr shortly before the timeout: a hang says where it sleeps.
    code = f"import faulthandler; faulthandler.dump_traceback_later({max(timeout - 30, 1)})\n{code}"
    args = [sys.executable, "-c", code, "build", str(path), "--model", str(model), "--graph", str(graph),
            "--part-chars", str(PART_CHARS), "--batch-chars", str(BATCH_CHARS), "--no-progress"]
    env = {**ENV, "KGBUILD_TEST_KILL_AT": str(kill_at)}
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=timeout)


def _graph(graph: Path) -> dict[str, list]:  # type: ignore[type-arg]
    store = open_graph(graph)
    try:
        return {
            "documents": store.query("MATCH (d:Document) RETURN d.id AS id, d.source AS source ORDER BY id"),
            "entities": store.query("MATCH (e:Entity) RETURN e.name AS name, e.type AS type, "
                                    "e.mention_count AS count ORDER BY name, type"),
            "mentions": store.query("MATCH (e:Entity)-[m:MENTIONED_IN]->() RETURN count(m) AS n"),
        }
    finally:
        store.close()


@pytest.mark.slow
def test_an_interrupted_build_resumes_inside_the_file(tmp_path: Path, build_model: Path) -> None:
    path = one_line_text(tmp_path / "long.txt", 8_000)
    clean = _build(path, tmp_path / "clean", build_model)
    assert clean.returncode == 0, clean.stderr[-2000:]
    expected = _graph(tmp_path / "clean")
    parts = len(expected["documents"])
    assert parts >= 8 and all("#part-" in row["source"] for row in expected["documents"])

    graph = tmp_path / "kg"
    try:
        killed = _build(path, graph, build_model, kill_at=2, timeout=240)  # killed while committing the second batch
    except subprocess.TimeoutExpired as hung:
        # In one of three full-suite runs (never in six runs alone) this build hung before its second commit, after the Ray
        # tests; unexplained (the closing note of 2026-11-30 says so). One retry on a fresh graph keeps CI honest
        # about everything else while that is found; the warning carries the stacks faulthandler printed.
        stacks = hung.stderr.decode(errors="replace") if isinstance(hung.stderr, bytes) else (hung.stderr or "")
        warnings.warn(f"the killed build hung; its threads: {stacks[-6000:]}", stacklevel=1)
        graph = tmp_path / "kg-retry"
        killed = _build(path, graph, build_model, kill_at=2, timeout=240)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    committed = ledger_counts(graph / LEDGER_NAME).get("done", 0)
    assert 0 < committed < parts  # the first batch of parts is recorded, the file is not done

    resumed = _build(path, graph, build_model)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    headline = resumed.stdout.strip().splitlines()[-1]
    assert f"{committed} unchanged" in headline, headline  # the committed parts are not built again
    assert _graph(graph) == expected
