"""The Python API: ``build`` a graph from documents, ``load_schema``, ``open_graph``.

    from kgbuild.api import build, open_graph
    summary = build(["docs/"], graph="./kg")
    with contextlib.closing(open_graph("./kg")) as graph:
        print(graph.query("MATCH (e:Entity) RETURN count(e) AS n"))

The CLI's ``kgbuild build`` is a thin shell over :func:`build`, which lives with the rest of the wiring in
:mod:`kgbuild.pipeline.build`.
"""

from __future__ import annotations

from pathlib import Path

from kgbuild.graph.store import GraphStore
from kgbuild.pipeline.build import build
from kgbuild.pipeline.summary import BuildSummary
from kgbuild.schema.load import load_schema

__all__ = ["BuildSummary", "build", "load_schema", "open_graph"]


def open_graph(
    uri: str | Path = "./kg", user: str | None = None, password: str | None = None, database: str | None = None
) -> GraphStore:
    """Open the graph at ``uri``: a directory for the embedded store, ``neo4j://``/``bolt://`` for Neo4j.

    The store is open when returned; close it with ``close()`` (or ``contextlib.closing``).
    """
    from kgbuild.graph import open_graph as open_store

    store = open_store(str(uri), user=user, password=password, database=database)
    store.open()
    return store
