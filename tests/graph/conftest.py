"""The ``store`` fixture: every contract test runs once on the embedded store and once on the real Neo4j."""

from __future__ import annotations

import pytest

from kgbuild.graph.store import GraphStore
from kgbuild.schema.models import Schema


@pytest.fixture(scope="session")
def schema(default_schema: Schema) -> Schema:
    return default_schema


@pytest.fixture
def store(empty_store: GraphStore) -> GraphStore:
    """An open, empty store with the default schema ensured (tests/fixtures/neo4j.py: both stores)."""
    return empty_store
