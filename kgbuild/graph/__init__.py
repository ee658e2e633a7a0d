"""Graph stores: Neo4j over Bolt and an embedded store, behind one contract (:class:`GraphStore`)."""

from __future__ import annotations

import re
from pathlib import Path

from kgbuild.errors import StoreError
from kgbuild.graph.store import GraphStore

NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")

__all__ = ["GraphStore", "NEO4J_SCHEMES", "check_graph_uri", "open_graph"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def check_graph_uri(uri: str | Path) -> str:
    """``uri`` as given when it is a directory path or a Neo4j URI; any other ``scheme://`` is a one-line error.

    Without this, ``foo://bar`` would quietly become the directory ``foo:/bar``.
    """
    text = str(uri)
    match = _SCHEME.match(text)
    if match and not text.lower().startswith(NEO4J_SCHEMES):
        raise StoreError(
            f"graph {text!r}: unknown scheme {match.group(0)!r}; give a directory path for the embedded store "
            "or a Neo4j URI (neo4j://, neo4j+s://, bolt://, bolt+s://)"
        )
    return text


def open_graph(
    uri: str | Path = "./kg",
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    read_only: bool = False,
) -> GraphStore:
    """The store for ``uri`` (not yet opened: call ``open()``).

    ``neo4j://``, ``bolt://`` (and their ``+s``/``+ssc`` variants) -> Neo4j, credentials from the arguments or
    ``NEO4J_USER``/``NEO4J_PASSWORD``/``NEO4J_DATABASE``; anything else is a directory -> the embedded store.
    ``read_only`` (query, export, report): an embedded graph on a read-only disk is served from a private copy.
    """
    text = check_graph_uri(uri)
    if text.lower().startswith(NEO4J_SCHEMES):
        from kgbuild.graph.neo4j_store import Neo4jStore

        return Neo4jStore(text, user=user, password=password, database=database)
    from kgbuild.graph.embedded_store import EmbeddedStore

    return EmbeddedStore(Path(text), read_only=read_only)
