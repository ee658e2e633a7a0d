"""The documented Cypher examples (kgbuild/testing/examples.py) run unchanged on both stores and agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kgbuild.graph import open_graph
from kgbuild.testing.examples import EXAMPLES
from kgbuild.schema.models import Schema
from tests.fixtures.neo4j import wipe_neo4j
from kgbuild.graph.store import GraphStore
from tests.graph.corpus import TEXT_A, TEXT_B, corpus, write

EXPECTED: dict[str, list[dict[str, Any]]] = {
    "Entities per type": [
        {"type": "Person", "entities": 2},
        {"type": "Location", "entities": 1},
        {"type": "Organization", "entities": 1},
    ],
    "Facts per relation type": [
        {"relation": "EMPLOYER", "facts": 2},
        {"relation": "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY", "facts": 1},
        {"relation": "PLACE_OF_BIRTH", "facts": 1},
    ],
    "People and the organisations they work for, with the sentence that says so": [
        {"person": "Ada Lovelace", "organization": "Analytical Engines", "sentence": TEXT_A.split(". ")[0] + "."},
        {"person": "Alan Turing", "organization": "Analytical Engines", "sentence": TEXT_B.split(". ")[0] + "."},
    ],
    "An entity's neighbours": [
        {"relation": "EMPLOYER", "neighbour": "Ada Lovelace", "type": "Person"},
        {"relation": "EMPLOYER", "neighbour": "Alan Turing", "type": "Person"},
        {"relation": "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY", "neighbour": "London", "type": "Location"},
    ],
    "Every mention of an entity, to the character": [
        {"document": "Ada", "start": TEXT_A.index("London"), "end": TEXT_A.index("London") + 6, "mention": "London"},
        {"document": "Ada", "start": TEXT_A.rindex("London"), "end": TEXT_A.rindex("London") + 6, "mention": "London"},
        {"document": "Alan", "start": TEXT_B.index("London"), "end": TEXT_B.index("London") + 6, "mention": "London"},
    ],
}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.title for e in EXAMPLES])
def test_documented_query(store: GraphStore, example: Any) -> None:
    write(store, corpus())
    rows = store.query(example.cypher, example.params)
    assert rows, f"{example.title!r} returned nothing"
    expected = EXPECTED.get(example.title)
    if expected is not None:
        assert [{k: r[k] for k in e} for r, e in zip(rows, expected)] == expected
        assert len(rows) == len(expected)


@pytest.mark.neo4j
def test_documented_queries_agree_across_stores(neo4j_uri: str, tmp_path: Path, schema: Schema) -> None:
    """The same corpus in both stores gives the same rows for every documented query."""
    answers = []
    for uri in (str(tmp_path / "kg"), neo4j_uri):
        if uri == neo4j_uri:
            wipe_neo4j(uri)
        store = open_graph(uri)
        store.open()
        try:
            store.ensure_schema(schema)
            write(store, corpus())
            answers.append([_normalise(store.query(e.cypher, e.params)) for e in EXAMPLES])
        finally:
            store.close()
    embedded, neo4j = answers
    for example, a, b in zip(EXAMPLES, embedded, neo4j):
        assert a == b, example.title


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def test_readme_and_demo_print_the_tested_demo_query() -> None:
    from kgbuild.testing.examples import DEMO_QUERY
    from kgbuild.resources import REPO_ROOT

    for name in ("README.md", "scripts/demo.sh"):
        assert DEMO_QUERY in (REPO_ROOT / name).read_text(encoding="utf-8"), name
