"""The hostile corpus (kgbuild/testing/hostile.py): 200+ bad inputs of every kind that once crashed or misreported
a build, mixed with good documents, built by the CLI as a user runs it.

The build must exit 0, name each bad input on exactly one line (escaped, never a traceback), write every good
document, and leave the graph exactly as a build of the good documents alone leaves it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kgbuild.api import open_graph
from kgbuild.errors import printable
from kgbuild.graph import cypher as q
from kgbuild.resources import REPO_ROOT
from kgbuild.testing.hostile import MAX_FILE_MB, copy_good, make_corpus

pytestmark = pytest.mark.slow
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2", "COLUMNS": "200"}


def run_build(folder: Path, graph: Path, model: Path) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "build", str(folder), "--model", str(model),
            "--graph", str(graph), "--max-file-mb", str(MAX_FILE_MB), "--batch-size", "8", "--no-progress"]
    return subprocess.run(args, capture_output=True, text=True, env=ENV, cwd=REPO_ROOT, timeout=600)


def content(graph: Path) -> dict[str, Any]:
    """The graph without file paths (the two builds read the same files from different folders)."""
    store = open_graph(graph)
    try:
        return {
            "documents": store.query("MATCH (d:Document) RETURN d.id AS id, d.hash AS hash ORDER BY id"),
            "chunks": store.query(q.EXPORT_CHUNKS),
            "entities": store.query("MATCH (e:Entity) RETURN e.id AS id, e.name AS name, e.mention_count AS n ORDER BY id"),
            "mentions": store.query(q.EXPORT_MENTIONS),
            "facts": store.query(q.EXPORT_FACTS),
            "sources": sorted(r["s"] for r in store.query("MATCH (d:Document) RETURN d.source AS s")),
        }
    finally:
        store.close()


def test_hostile_corpus_builds_the_good_documents_and_names_each_bad_input_once(tmp_path: Path, build_model: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    assert len(corpus.bad) >= 200
    result = run_build(corpus.root, tmp_path / "kg", build_model)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for source in corpus.bad:
        named = [line for line in lines if line.startswith(f"skipped {printable(source)}: ")]
        assert len(named) == 1, (source, named)
    assert sum(line.startswith("skipped ") for line in lines) == len(corpus.bad)
    assert not [line for line in lines if line.startswith("failed ")]
    assert all(line.isprintable() for line in lines)

    got = content(tmp_path / "kg")
    assert got["sources"] == sorted(corpus.good)

    reference = run_build(copy_good(corpus, tmp_path / "good-only"), tmp_path / "kg-good", build_model)
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = content(tmp_path / "kg-good")
    got.pop("sources"), expected.pop("sources")
    assert got == expected
