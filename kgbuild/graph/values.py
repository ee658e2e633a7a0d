"""Query results as plain Python values (for tables, JSON and tests), the same shape from both stores."""

from __future__ import annotations

from typing import Any, Mapping

from kgbuild.records import Entity


def plain(value: Any) -> Any:
    """Nodes -> ``{"_labels": [...], **properties}``, relationships -> ``{"_type": ..., **properties}``,
    paths -> ``{"nodes": [...], "relationships": [...]}``, temporal values -> ISO strings; recursively."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    graph_value = _graph_value(value)
    if graph_value is not None:
        return graph_value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def _graph_value(value: Any) -> Any:
    """Nodes, relationships and paths of the neo4j driver or of the FalkorDB client, else None."""
    try:
        import neo4j.graph as ng

        if isinstance(value, ng.Node):
            return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
        if isinstance(value, ng.Relationship):
            return {"_type": value.type, **{k: plain(v) for k, v in value.items()}}
        if isinstance(value, ng.Path):
            return {"nodes": [plain(n) for n in value.nodes], "relationships": [plain(r) for r in value.relationships]}
    except ImportError:  # pragma: no cover - neo4j is a dependency
        pass
    try:
        import falkordb

        if isinstance(value, falkordb.Node):
            labels = value.labels or []
            return {"_labels": sorted(labels), **{k: plain(v) for k, v in value.properties.items()}}
        if isinstance(value, falkordb.Edge):
            return {"_type": value.relation, **{k: plain(v) for k, v in value.properties.items()}}
        if isinstance(value, falkordb.Path):
            return {"nodes": [plain(n) for n in value.nodes()], "relationships": [plain(r) for r in value.edges()]}
    except ImportError:
        pass
    return None


def row_to_entity(row: Mapping[str, Any]) -> Entity:
    """An :class:`Entity` from a row with id, type, name, aliases, embedding, mention_count."""
    embedding = row.get("embedding")
    return Entity(
        id=str(row["id"]),
        type=str(row["type"]),
        name=str(row["name"]),
        aliases=tuple(row.get("aliases") or ()),
        embedding=tuple(float(x) for x in embedding) if embedding is not None else None,
        mention_count=int(row.get("mention_count") or 0),
    )
