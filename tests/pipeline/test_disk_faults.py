"""A full disk and a read-only graph directory, on real (tmpfs) file systems: one line naming the problem, never a
traceback, and a full-disk build resumes to a correct graph once space is freed.

Mounting needs root (CAP_SYS_ADMIN); where the test machine cannot mount, these tests skip and say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from kgbuild.graph.embedded_store import EmbeddedStore
from kgbuild.resources import REPO_ROOT
from tests.fixtures.pipeline import MIXED

pytestmark = pytest.mark.slow
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2", "COLUMNS": "200"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from kgbuild.cli.app import main; main()", *args],
                          capture_output=True, text=True, env=ENV, cwd=REPO_ROOT, timeout=600)


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_named_and_the_build_resumes_once_space_is_freed(tmpfs: Path, build_model: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = (MIXED / "curie.txt").read_text()
    for i in range(24):
        (docs / f"d{i}.txt").write_text(f"Document {i}.\n{text}")
    free = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
    filler = tmpfs / "filler"
    filler.write_bytes(b"\0" * (free - 1_500_000))  # room for the store's start and a few batches only
    graph = tmpfs / "kg"
    full = cli("build", str(docs), "--model", str(build_model), "--graph", str(graph), "--batch-size", "4", "--no-progress")
    assert full.returncode == 1, full.stderr[-2000:]
    assert "Traceback" not in full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "disk full while" in last and str(graph) in last, full.stderr[-2000:]

    filler.unlink()
    again = cli("build", str(docs), "--model", str(build_model), "--graph", str(graph), "--batch-size", "4", "--no-progress")
    assert again.returncode == 0, again.stderr[-2000:]
    store = EmbeddedStore(graph)
    with store:
        assert store.stats()["documents"] == 24
        wrong = store.query("MATCH (e:Entity) OPTIONAL MATCH (e)-[m:MENTIONED_IN]->() WITH e, count(m) AS n "
                            "WHERE n <> e.mention_count RETURN count(e) AS n")
        assert wrong == [{"n": 0}]


def test_a_read_only_graph_directory_is_read_by_query_and_export_and_refused_in_one_line_by_build(
    tmpfs: Path, build_model: Path, tmp_path: Path
) -> None:
    graph = tmpfs / "kg"
    with EmbeddedStore(graph) as store:
        store.query("CREATE (:Document {id: 'd'})", read_only=False)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    query = cli("query", "MATCH (d:Document) RETURN d.id AS id", "--graph", str(graph), "--json")
    assert query.returncode == 0, query.stderr[-2000:]
    assert query.stdout.strip() == '[{"id": "d"}]'
    export = cli("export", "--graph", str(graph), "--format", "jsonl", "--out", str(tmp_path / "out.jsonl"))
    assert export.returncode == 0, export.stderr[-2000:]
    assert '"id": "d"' in (tmp_path / "out.jsonl").read_text()
    for run in (
        cli("build", str(MIXED), "--model", str(build_model), "--graph", str(graph), "--no-progress"),
        cli("query", "CREATE (:X) RETURN 1 AS one", "--write", "--graph", str(graph)),
    ):
        assert run.returncode == 1, run.stderr[-2000:]
        assert "Traceback" not in run.stderr
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and "Read-only file system" in last and str(graph) in last, run.stderr[-2000:]
