"""``kgbuild build --engine ray`` against a real two-node Ray cluster (tests/fixtures/ray.py): the same graph as the
local engine on both stores, a killed worker and a killed driver, and the resume ledger.

The builds run as users run them (the console entry point in a subprocess, ``--ray-address`` of the cluster); the
reference is the local engine's build of the same files. The model is the bundled CoNLL04 extractor: a real one
whose output is small enough for fusion to stay quick on a loaded 2-core machine; ``--min-confidence 0`` keeps all
of it (the workers get the flag too), so there are facts to compare.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kgbuild.pipeline.ledger import LEDGER_NAME
from kgbuild.resources import REPO_ROOT
from tests.fixtures.pipeline import ledger_counts
from tests.fixtures.ray import RAY_ENV, RayCluster, graph_dump, redocred_texts

pytestmark = pytest.mark.slow
MODEL = "conll04"
EXAMPLES = REPO_ROOT / "examples" / "docs"


def kgbuild_build(*args: str, env: dict[str, str] | None = None) -> list[str]:
    return [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "build", *args, "--model", MODEL, "--min-confidence", "0", "--no-progress"]


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env or RAY_ENV, cwd=REPO_ROOT, timeout=timeout)


def summary_row(stdout: str, name: str) -> int:
    """A count from the printed build summary (``│ processed │ 12 │``)."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0] == name:
            return int(cells[1].replace(",", ""))
    raise AssertionError(f"no {name!r} row in:\n{stdout}")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled examples and 20 Re-DocRED dev documents as text files, in one folder."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(EXAMPLES, root / "examples")
    redocred_texts(root / "redocred", 20)
    return root


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 Re-DocRED documents: for the fault tests and Neo4j."""
    return redocred_texts(tmp_path_factory.mktemp("small") / "redocred", 12)


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``reference(corpus, batch_size) -> dump`` of the local engine's embedded build (built once per corpus)."""
    cache: dict[tuple[Path, int], dict[str, Any]] = {}

    def build(corpus: Path, batch_size: int) -> dict[str, Any]:
        if (corpus, batch_size) not in cache:
            graph = tmp_path_factory.mktemp("local") / "kg"
            result = run(kgbuild_build(str(corpus), "--graph", str(graph), "--batch-size", str(batch_size)))
            assert result.returncode == 0, result.stderr
            cache[(corpus, batch_size)] = graph_dump(str(graph))
        return cache[(corpus, batch_size)]

    return build


def ray_build(corpus: Path, graph: Path, batch_size: int, cluster: RayCluster) -> list[str]:
    """`kgbuild build` of ``corpus`` on the test cluster's two workers."""
    return kgbuild_build(str(corpus), "--graph", str(graph), "--batch-size", str(batch_size), "--engine", "ray",
                         "--ray-address", cluster.address, "--workers", "2")  # fmt: skip


def test_a_ray_build_gives_the_local_graph_and_a_rerun_does_nothing(
    ray_cluster: RayCluster, corpus: Path, local_reference: Any, tmp_path: Path
) -> None:
    expected = local_reference(corpus, 8)
    graph = tmp_path / "kg"
    args = ray_build(corpus, graph, 8, ray_cluster)
    first = run(args)
    assert first.returncode == 0, first.stderr
    assert summary_row(first.stdout, "processed") == expected["stats"]["documents"] == 57
    assert expected["stats"]["facts"] > 0 and expected["stats"]["entities"] > 0
    assert graph_dump(str(graph)) == expected

    again = run(args)
    assert again.returncode == 0, again.stderr
    assert summary_row(again.stdout, "processed") == 0
    assert summary_row(again.stdout, "skipped (unchanged)") == 57
    assert graph_dump(str(graph)) == expected


@pytest.mark.neo4j
def test_on_neo4j_a_ray_build_gives_the_local_engines_graph(
    ray_cluster: RayCluster, small_corpus: Path, neo4j_uri: str, tmp_path: Path
) -> None:
    from tests.fixtures.neo4j import wipe_neo4j

    dumps = []
    for engine in ("local", "ray"):
        wipe_neo4j(neo4j_uri)
        env = {**RAY_ENV, "KGBUILD_CACHE_DIR": str(tmp_path / engine)}  # each build its own ledger
        extra = ["--ray-address", ray_cluster.address, "--workers", "2"] if engine == "ray" else []
        result = run(kgbuild_build(str(small_corpus), "--graph", neo4j_uri, "--batch-size", "4", "--engine", engine, *extra), env)
        assert result.returncode == 0, result.stderr
        dumps.append(graph_dump(neo4j_uri))
    assert dumps[0]["stats"]["documents"] == 12 and dumps[0]["stats"]["facts"] > 0
    assert dumps[1] == dumps[0]


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=RAY_ENV, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_done(process: subprocess.Popen[bytes], ledger: Path, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while ledger_counts(ledger).get("done", 0) < count:
        assert process.poll() is None, f"the build ended before the fault: {process.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, f"the build did not commit {count} documents in time"
        time.sleep(0.05)


def test_a_worker_killed_mid_build_is_restarted_and_the_graph_is_the_same(
    ray_cluster: RayCluster, small_corpus: Path, local_reference: Any, tmp_path: Path
) -> None:
    expected = local_reference(small_corpus, 2)
    graph = tmp_path / "kg"
    process = _start(ray_build(small_corpus, graph, 2, ray_cluster))
    try:
        _wait_for_done(process, graph / LEDGER_NAME, 2)
        victims = ray_cluster.worker_pids()
        assert len(victims) == 2, victims
        os.kill(victims[0], signal.SIGKILL)
        assert ledger_counts(graph / LEDGER_NAME).get("done", 0) < 12, "the build finished before the worker was killed"
        out, err = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err.decode()[-3000:]
    assert summary_row(out.decode(), "processed") == 12
    assert victims[0] not in ray_cluster.worker_pids()
    assert graph_dump(str(graph)) == expected


def test_a_driver_killed_mid_build_resumes_from_the_ledger_with_the_same_graph(
    ray_cluster: RayCluster, small_corpus: Path, local_reference: Any, tmp_path: Path
) -> None:
    expected = local_reference(small_corpus, 2)
    graph = tmp_path / "kg"
    args = ray_build(small_corpus, graph, 2, ray_cluster)
    process = _start(args)
    try:
        _wait_for_done(process, graph / LEDGER_NAME, 2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver dies; Ray reaps the actors it owned
        process.wait()
    done = ledger_counts(graph / LEDGER_NAME).get("done", 0)
    assert 2 <= done < 12

    resumed = run(args)
    assert resumed.returncode == 0, resumed.stderr
    assert summary_row(resumed.stdout, "skipped (unchanged)") == done
    assert summary_row(resumed.stdout, "processed") == 12 - done
    assert graph_dump(str(graph)) == expected


def test_ray_is_never_imported_with_kgbuild_and_a_bad_engine_is_one_line() -> None:
    probe = "import sys, kgbuild, kgbuild.api, kgbuild.cli.app, kgbuild.pipeline.build; print('ray' in sys.modules)"
    assert run([sys.executable, "-c", probe]).stdout.strip() == "False"
    from kgbuild.api import build
    from kgbuild.errors import InputError

    with pytest.raises(InputError, match="unknown engine 'spark': use one of local, ray"):
        build(EXAMPLES, engine="spark")


def test_more_workers_than_the_cluster_holds_is_a_one_line_error(ray_cluster: RayCluster, tmp_path: Path) -> None:
    result = run(kgbuild_build(str(EXAMPLES), "--graph", str(tmp_path / "kg"), "--engine", "ray",
                               "--ray-address", ray_cluster.address, "--workers", "3"))  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: the Ray cluster has 2 CPUs; 3 workers need 3 (lower --workers or --gpus-per-worker, or add nodes)"
    )
