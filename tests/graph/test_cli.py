"""`kgbuild query` and `kgbuild export` on a real embedded graph (and an export from Neo4j for comparison)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.graph import open_graph
from kgbuild.schema.models import Schema
from tests.fixtures.neo4j import wipe_neo4j
from tests.graph.corpus import corpus, write

runner = CliRunner()


def _build(uri: str, schema: Schema) -> str:
    store = open_graph(uri)
    store.open()
    try:
        store.ensure_schema(schema)
        write(store, corpus())
    finally:
        store.close()
    return uri


@pytest.fixture
def graph(tmp_path: Path, schema: Schema) -> str:
    return _build(str(tmp_path / "kg"), schema)


def test_query_table_json_and_params(graph: str) -> None:
    result = runner.invoke(app, ["query", "MATCH (p:Person) RETURN p.name AS name ORDER BY name", "--graph", graph])
    assert result.exit_code == 0, result.output
    assert "Ada Lovelace" in result.output and "Alan Turing" in result.output and "2 rows" in result.output
    result = runner.invoke(
        app,
        ["query", "MATCH (e:Entity {name: $name}) RETURN e.id AS id, $n AS n", "-g", graph, "--json", "-p", "name=London", "-p", "n=3"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"id": "london", "n": 3}]


def test_query_table_wraps_long_values_and_hints_at_json(graph: str) -> None:
    sentence = " ".join(f"word{i}" for i in range(60))  # ~400 characters, far wider than the terminal
    result = runner.invoke(app, ["query", "RETURN $s AS sentence, 1 AS n", "-g", graph, "-p", f"s={sentence}"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and max(len(line) for line in result.output.splitlines()) <= 80
    cells = "".join(line.split("│")[1] for line in result.output.splitlines() if line.startswith("│"))
    assert sentence.replace(" ", "") in cells.replace(" ", "")  # every character, in order, across the wrapped lines
    assert "1 row; --json prints them as JSON" in result.output


def test_query_is_read_only_unless_write(graph: str) -> None:
    command = [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "query", "MATCH (n) DETACH DELETE n", "--graph", graph]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error:") and "--write" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["query", "MATCH (e:Entity {id: 'ada'}) SET e.flag = true RETURN e.flag AS f", "-g", graph, "--write", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == [{"f": True}]


def test_query_missing_graph_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", "MATCH (n) RETURN n", "--graph", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "no graph directory" in str(result.exception)
    assert not (tmp_path / "nope").exists()


def test_export_jsonl_and_graphml(graph: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--graph", graph, "--format", "jsonl", "--out", str(tmp_path / "g.jsonl")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    nodes = [x for x in lines if x["type"] == "node"]
    rels = [x for x in lines if x["type"] == "relationship"]
    assert len(nodes) == 2 + 4 + 4 and len(rels) == 4 + 8 + 4
    ada = next(n for n in nodes if n["id"] == "ada")
    assert ada["labels"] == ["Entity", "Person"] and ada["properties"]["aliases"] == ["Lovelace"]
    assert {r["label"] for r in rels} == {"HAS_CHUNK", "MENTIONED_IN", "EMPLOYER", "PLACE_OF_BIRTH", "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY"}

    result = runner.invoke(app, ["export", "-g", graph, "-f", "graphml", "-o", str(tmp_path / "g.graphml")])
    assert result.exit_code == 0, result.output
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert g.number_of_nodes() == 10 and g.number_of_edges() == 16
    assert g.nodes["ada"]["labels"] == "Entity:Person" and json.loads(g.nodes["ada"]["aliases"]) == ["Lovelace"]


def test_export_neo4j_import(graph: str, tmp_path: Path) -> None:
    out = tmp_path / "import"
    result = runner.invoke(app, ["export", "-g", graph, "-f", "neo4j-import", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "neo4j-admin database import full" in result.output
    with (out / "entities.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id:ID(Entity)", "name", "aliases:string[]", "type", "mention_count:long", "embedding:float[]", ":LABEL"]
    ada = next(r for r in rows if r[0] == "ada")
    assert ada[2] == "Lovelace" and ada[6] == "Entity\x1fPerson" and len(ada[5].split("\x1f")) == 384
    with (out / "facts.csv").open(newline="") as f:
        facts = list(csv.reader(f))
    assert len(facts) == 1 + 4 and facts[0][:3] == [":START_ID(Entity)", ":END_ID(Entity)", ":TYPE"]
    script = (out / "import.sh").read_text()
    assert "--nodes=entities.csv" in script and "--relationships=facts.csv" in script and "--array-delimiter=U+001F" in script


def test_export_rejects_unknown_format(graph: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "-g", graph, "-f", "xml", "-o", str(tmp_path / "x")])
    assert result.exit_code != 0 and "graphml, jsonl, neo4j-import" in str(result.exception)


@pytest.mark.neo4j
def test_exports_agree_across_stores(neo4j_uri: str, graph: str, tmp_path: Path, schema: Schema) -> None:
    wipe_neo4j(neo4j_uri)
    _build(neo4j_uri, schema)
    exports = []
    for name, uri in (("embedded", graph), ("neo4j", neo4j_uri)):
        out = tmp_path / f"{name}.jsonl"
        result = runner.invoke(app, ["export", "-g", uri, "-f", "jsonl", "-o", str(out)])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        for row in rows:  # float32 (FalkorDB vecf32) vs float64 (Neo4j) embeddings
            row["properties"].pop("embedding", None)
        exports.append(rows)
    assert exports[0] == exports[1]


def test_query_imports_no_model_library(graph: str) -> None:
    """``kgbuild query`` in a real process: torch, transformers and sentence-transformers stay unimported (they cost
    seconds of start-up and a query needs none of them; issue 15)."""
    heavy = ("torch", "transformers", "sentence_transformers", "spacy")
    wrapper = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr))\n"
        "from kgbuild.cli.app import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", wrapper, "query", "MATCH (n) RETURN count(n) AS n", "--graph", graph, "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 10}]
    assert "LOADED []" in result.stderr
