"""The ``store`` fixture: every contract test runs once on the embedded store and once on the real Neo4j."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kgbuild.graph import open_graph
from kgbuild.graph.store import GraphStore
from kgbuild.schema.load import load_schema
from kgbuild.schema.models import Schema

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema(REPO_ROOT / "schemas" / "default.yaml")


def wipe_neo4j(uri: str) -> None:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(uri) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n")


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, tmp_path: Path, schema: Schema) -> Iterator[GraphStore]:
    """An open, empty store with the default schema ensured."""
    if request.param == "neo4j":
        uri = request.getfixturevalue("neo4j_uri")
        wipe_neo4j(uri)
        opened = open_graph(uri)
    else:
        opened = open_graph(str(tmp_path / "kg"))
    opened.open()
    opened.ensure_schema(schema)
    yield opened
    opened.close()
