"""``kgbuild build --threads``: the thread count changes the speed, not the graph (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kgbuild.api import open_graph
from kgbuild.datasets import read_annotations
from kgbuild.extract.engine import cpu_threads
from kgbuild.resources import REPO_ROOT
from kgbuild.schema.load import load_schema
from tests.datafiles import dataset

pytestmark = pytest.mark.slow
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "200"}
ENV.pop("OMP_NUM_THREADS", None)


def test_the_default_takes_every_core_and_a_request_is_capped() -> None:
    assert [cpu_threads(cores=n) for n in (1, 2, 4, 64)] == [1, 2, 4, 64]
    assert cpu_threads(2, cores=8) == 2 and cpu_threads(16, cores=8) == 8 and cpu_threads(1, cores=1) == 1


def _graph(path: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, str, str]], list[float]]:
    store = open_graph(path)
    try:
        entities = store.query("MATCH (e:Entity) RETURN e.name AS name, e.type AS type, e.aliases AS aliases")
        facts = store.query("MATCH (h:Entity)-[r]->(t:Entity) RETURN h.name AS h, type(r) AS r, t.name AS t, r.score AS s")
    finally:
        store.close()
    rows = sorted((f["h"], f["r"], f["t"], f["s"]) for f in facts)
    return (sorted((e["name"], e["type"], *sorted(e["aliases"] or [])) for e in entities),
            [r[:3] for r in rows], [r[3] for r in rows])


def test_one_and_two_threads_build_the_same_graph_on_real_documents(tmp_path: Path) -> None:
    """Re-DocRED dev documents as text files, the bundled default model, every fact kept (--min-confidence 0):
    the same entities and facts; scores equal to float rounding (the reductions run in another order)."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for i, doc in enumerate(read_annotations(dataset("re-docred/dev_100.json"), load_schema(REPO_ROOT / "schemas" / "default.yaml"))[:6]):
        (corpus / f"doc{i:03d}.txt").write_text(doc.text, encoding="utf-8")
    graphs = {}
    for threads in (1, 2):
        graph = tmp_path / f"kg{threads}"
        result = subprocess.run(
            [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "build", str(corpus), "--graph", str(graph),
             "--threads", str(threads), "--min-confidence", "0", "--no-progress"],
            capture_output=True, text=True, env=ENV, cwd=REPO_ROOT, timeout=600,
        )
        assert result.returncode == 0, result.stderr
        graphs[threads] = _graph(graph)
    (entities1, facts1, scores1), (entities2, facts2, scores2) = graphs[1], graphs[2]
    assert len(facts1) > 20 and len(entities1) > 20  # a real graph, not an empty one
    assert entities1 == entities2 and facts1 == facts2
    assert scores1 == pytest.approx(scores2, abs=1e-4)
