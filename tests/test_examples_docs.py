"""examples/: the documents are what make_docs.py derives from the data and every reader takes them;
the annotation example and the Cypher examples agree with the schemas they claim to use."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kgbuild.ingest.base import BadInput, IngestOptions
from kgbuild.ingest.reader import read_inputs
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from tests.datafiles import data_root, dataset

EXAMPLES = REPO_ROOT / "examples"


def test_docs_are_read_by_kgbuild_without_errors() -> None:
    items = list(read_inputs([EXAMPLES / "docs"], IngestOptions(jsonl_id_field="id")))
    bad = [str(item) for item in items if isinstance(item, BadInput)]
    assert not bad
    assert len(items) == 37
    suffixes = {re.split(r"[:#]", doc.source)[0].rsplit(".", 1)[-1] for doc in items}
    assert suffixes == {"txt", "md", "jsonl", "html"}
    html_doc = next(doc for doc in items if doc.source.endswith(".html"))
    assert html_doc.text.startswith("Western Ukraine") and "Home | Articles" not in html_doc.text
    for doc in items:
        assert len(doc.text) > 200
        assert not re.search(r" [,.;:!?)]|\( ", doc.text), f"{doc.source}: token spacing left in the text"


def test_docs_match_the_generator() -> None:
    """make_docs.py reads only the first 37 documents of dev_100.json, which the shipped sample holds."""
    env = {**os.environ, "KGBUILD_DATA": str(data_root())}
    result = subprocess.run([sys.executable, str(EXAMPLES / "make_docs.py"), "--check"], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr


def test_annotations_fit_the_conll04_schema() -> None:
    schema = load_schema(REPO_ROOT / "schemas" / "conll04.yaml")
    records = [json.loads(line) for line in (EXAMPLES / "annotations.jsonl").read_text().splitlines()]
    assert len(records) == 5 and len({r["id"] for r in records}) == 5
    coreferent = 0
    for record in records:
        text, entities = record["text"], record["entities"]
        for entity in entities:
            assert 0 <= entity["start"] < entity["end"] <= len(text)
            span = text[entity["start"] : entity["end"]]
            assert span == span.strip() and span, record["id"]
            assert entity["type"] in schema.entity_names
        ids = [e["id"] for e in entities if "id" in e]
        coreferent += len(ids) - len(set(ids))
        for relation in record["relations"]:
            head, tail = entities[relation["head"]], entities[relation["tail"]]
            assert schema.allows(relation["type"], head["type"], tail["type"]), (record["id"], relation)
    assert coreferent >= 2


def test_cypher_examples_use_only_default_schema_names() -> None:
    schema = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    text = (EXAMPLES / "queries.cypher").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    queries = [q.strip() for q in code.split(";") if q.strip()]
    assert len(queries) >= 5
    labels = set(re.findall(r"\(\w*:(\w+)", code))
    assert labels <= set(schema.entity_names) | {"Entity", "Chunk", "Document"}
    types = {t for group in re.findall(r"\[\w*:([\w|]+)", code) for t in group.split("|")}
    assert types and types <= set(schema.relation_names) | {"HAS_CHUNK", "MENTIONED_IN"}


def test_cypher_examples_run_on_the_embedded_store(tmp_path: Path) -> None:
    """Every query of queries.cypher runs on the embedded store holding the gold graph of the example documents."""
    from kgbuild.graph import open_graph
    from tests.report.gold import fill, gold_records

    schema = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    fill(str(tmp_path / "kg"), gold_records(dataset("re-docred/dev_100.json"), schema, first=0, count=37))
    text = (EXAMPLES / "queries.cypher").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    store = open_graph(str(tmp_path / "kg"))
    store.open()
    try:
        answers = [store.query(query.strip(), {}) for query in code.split(";") if query.strip()]
    finally:
        store.close()
    assert all(answers), [i + 1 for i, rows in enumerate(answers) if not rows]


def test_the_graphs_the_readme_and_examples_write_are_git_ignored() -> None:
    """Running README's API example or examples/custom_schema.py in a checkout leaves no untracked graph behind."""
    readme = (REPO_ROOT / "README.md").read_text()
    graphs = set(re.findall(r'graph="(\./[^"]+)"', readme)) | set(re.findall(r"--graph (\./[\w.-]+)", readme))
    graphs |= set(re.findall(r'"--graph", default="([^"]+)"', (EXAMPLES / "custom_schema.py").read_text()))
    assert {"./kg-work", "./kg", "kg-custom"} <= graphs
    for graph in graphs:
        probe = f"{graph.removeprefix('./')}/kgbuild-ledger.sqlite"
        result = subprocess.run(["git", "check-ignore", "-q", probe], cwd=REPO_ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"{graph} is not ignored by .gitignore: {result.stderr}"
