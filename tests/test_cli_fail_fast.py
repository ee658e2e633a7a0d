"""``kgbuild build`` checks its flags before the model loads: a bad --graph, model or schema, an unreachable Neo4j
and a re-run with nothing to do never load the extractor's weights.

Each run is a real ``kgbuild`` process; at exit it reports whether the extractor was loaded (the module that loads
weights, ``kgbuild.extract.engine``, or transformers' BERT modelling code imported), the observable for "the model
did not load" that needs no timing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kgbuild.resources import REPO_ROOT

DRIVER = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('model loaded:', any(m in sys.modules for m in "
    "('kgbuild.extract.engine', 'transformers.models.bert.modeling_bert')), file=sys.stderr))\n"
    "from kgbuild.cli.app import main\nmain()\n"
)
DOCS = REPO_ROOT / "examples" / "docs"


def kgbuild(*args: str) -> tuple[int, list[str]]:
    """Exit code and stderr lines of a real ``kgbuild`` process; the last line says whether the model loaded."""
    result = subprocess.run([sys.executable, "-c", DRIVER, *args], capture_output=True, text=True, timeout=300,
                            cwd=REPO_ROOT, env={**os.environ, "COLUMNS": "200"})
    return result.returncode, result.stderr.strip().splitlines()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for source in sorted(DOCS.glob("*.txt"))[:2]:
        (folder / source.name).write_text(source.read_text())
    return folder


def test_an_unknown_graph_scheme_is_one_line_and_creates_nothing(docs: Path, tmp_path: Path) -> None:
    code, lines = kgbuild("build", str(docs), "--graph", "foo://bar", "--no-progress")
    assert code == 1
    assert lines == [
        "error: graph 'foo://bar': unknown scheme 'foo://'; give a directory path for the embedded store or a Neo4j "
        "URI (neo4j://, neo4j+s://, bolt://, bolt+s://)",
        "model loaded: False",
    ]
    assert not (REPO_ROOT / "foo:").exists() and not Path("foo:").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "nosuch"], "error: model 'nosuch' not found: pass a model directory, 'default', 'conll04' or a hub id"),
        (["--model", "conll04", "--schema", str(REPO_ROOT / "schemas" / "default.yaml")],
         f"error: {REPO_ROOT / 'kgbuild' / 'models' / 'conll04'}: schema 'default' does not match the model's"),
    ],
    ids=["unknown-model", "model-schema-mismatch"],
)
def test_a_bad_model_is_reported_before_its_weights_load(docs: Path, tmp_path: Path, flags: list[str], message: str) -> None:
    code, lines = kgbuild("build", str(docs), "--graph", str(tmp_path / "kg"), "--no-progress", *flags)
    assert code == 1 and len(lines) == 2
    assert lines[0].startswith(message) and lines[1] == "model loaded: False"
    assert not (tmp_path / "kg").exists()


def test_an_unreadable_schema_is_reported_before_the_model_loads(docs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities: [\n")
    code, lines = kgbuild("build", str(docs), "--graph", str(tmp_path / "kg"), "--schema", str(bad))
    assert code == 1 and lines[0].startswith(f"error: {bad}:") and lines[1:] == ["model loaded: False"]
    (tmp_path / "unreadable.yaml").mkdir()  # a directory where a file is expected
    code, lines = kgbuild("build", str(docs), "--graph", str(tmp_path / "kg"), "--schema", str(tmp_path / "unreadable.yaml"))
    assert code == 1 and lines[0].startswith(f"error: {tmp_path / 'unreadable.yaml'}") and lines[1:] == ["model loaded: False"]


def test_an_unreachable_neo4j_is_reported_before_the_model_loads(docs: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for uri in (f"bolt://127.0.0.1:{port}", f"neo4j://127.0.0.1:{port}"):
        code, lines = kgbuild("build", str(docs), "--graph", uri, "--no-progress")
        assert code == 1 and len(lines) == 2, lines
        assert lines[0].startswith(f"error: Neo4j at {uri} is unreachable") and lines[1] == "model loaded: False"


@pytest.mark.slow
def test_a_rebuild_with_nothing_to_do_does_not_load_the_model(docs: Path, tmp_path: Path, build_model: Path) -> None:
    graph = str(tmp_path / "kg")
    code, lines = kgbuild("build", str(docs), "--graph", graph, "--model", str(build_model), "--no-progress")
    assert code == 0 and lines[-1] == "model loaded: True", lines  # control: a build with work loads it
    code, lines = kgbuild("build", str(docs), "--graph", graph, "--model", str(build_model), "--no-progress")
    assert code == 0 and lines[-1] == "model loaded: False", lines
    # nor torch, nor spaCy (which imports torch through thinc): the segmentation pipeline's name comes from the cache
    # the first build filled (issue 15: they were most of a no-op rebuild's seconds)
    heavy = DRIVER.replace("('kgbuild.extract.engine', 'transformers.models.bert.modeling_bert')", "('torch', 'spacy')")
    result = subprocess.run([sys.executable, "-c", heavy, "build", str(docs), "--graph", graph, "--model", str(build_model),
                             "--no-progress"], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0 and result.stderr.strip().splitlines()[-1] == "model loaded: False", result.stderr
    (docs / "new.txt").write_text("Ada Lovelace worked with Charles Babbage in London.")
    code, lines = kgbuild("build", str(docs), "--graph", graph, "--model", str(build_model), "--no-progress")
    assert code == 0 and lines[-1] == "model loaded: True", lines  # one new document: the model loads again
