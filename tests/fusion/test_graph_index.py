"""Fusion's index of the graph's entities: what it costs per entity, and that it gives back what it was given.

The index holds every entity of the types a build has seen, so its bytes per entity are what makes a long build's
memory grow with its graph (issue 18: a 50 MB file). Each entity's embedding used to be held as the record's tuple
of 384 Python floats, about 12 KB; it is held as float32 now.
"""

from __future__ import annotations

import tracemalloc
from typing import Iterator

import numpy as np
import pytest

from kgbuild.fusion.graph_index import GraphIndex
from kgbuild.graph import open_graph
from kgbuild.records import Entity

DIM = 384  # all-MiniLM-L6-v2's embeddings, what fusion stores
BUDGET = 5000  # bytes per entity (two names, their blocking keys, a 32-character id): 15.2 KB before the fix, 4.5 KB after


@pytest.fixture
def store(tmp_path, default_schema):
    graph = open_graph(str(tmp_path / "kg"))
    graph.open()
    graph.ensure_schema(default_schema)
    yield graph
    graph.close()


def _entities(count: int) -> Iterator[Entity]:
    """Entities as fusion hands them to the writer (embeddings: float32 values as a tuple of floats), made one by one."""
    rng = np.random.default_rng(18)
    for i in range(count):
        vector = rng.standard_normal(DIM).astype(np.float32)
        vector /= np.linalg.norm(vector)
        yield Entity(f"{i:032x}", "Person", f"Person{i} Number{i}", (f"P. Number{i}",), tuple(float(x) for x in vector), 1)


def test_an_indexed_entity_costs_under_3_kb(store) -> None:
    index = GraphIndex(store, neighbours=10, block_cap=50)
    index.refresh()
    index.candidates("Person", np.zeros((0, DIM), np.float32), [])  # loads the (empty) table of the type
    count = 2000
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index.remember(_entities(count), created=count)  # nothing but the index keeps them
    per_entity = (tracemalloc.get_traced_memory()[0] - before) / count
    tracemalloc.stop()
    assert per_entity < BUDGET, f"{per_entity:.0f} bytes per indexed entity"


def test_a_name_hit_comes_back_with_its_exact_embedding(store) -> None:
    index = GraphIndex(store, neighbours=10, block_cap=50)
    index.refresh()
    index.candidates("Person", np.zeros((0, DIM), np.float32), [])
    entities = list(_entities(20))
    index.remember(entities, created=len(entities))
    (found,) = index.candidates("Person", np.zeros((0, DIM), np.float32), [["Number7"]])
    assert found == entities[7]  # id, name, aliases, count and every float of the embedding
    assert index.candidates("Location", np.zeros((0, DIM), np.float32), [["Number7"]]) == []
