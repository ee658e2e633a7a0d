"""The only gate through which a label or relationship type enters a Cypher string."""

from __future__ import annotations

from kgbuild.errors import QueryError
from kgbuild.schema.models import PASCAL_CASE, UPPER_SNAKE, Schema


def entity_label(schema: Schema, type_name: str) -> str:
    """Return ``type_name`` as a label if the schema declares it; otherwise refuse."""
    if type_name not in schema.entity_names or not PASCAL_CASE.match(type_name):
        raise QueryError(f"entity type {type_name!r} is not in schema {schema.name!r}; refusing to use it as a label")
    return type_name


def relation_type(schema: Schema, name: str) -> str:
    """Return ``name`` as a relationship type if the schema declares it; otherwise refuse."""
    if name not in schema.relation_names or not UPPER_SNAKE.match(name):
        raise QueryError(f"relation type {name!r} is not in schema {schema.name!r}; refusing to write it")
    return name
