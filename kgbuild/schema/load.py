"""Load a schema from YAML with one-line errors that name the file, the line and the problem."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kgbuild.errors import SchemaError
from kgbuild.schema.models import EntityType, RelationType, Schema


def load_schema(path: str | Path) -> Schema:
    """Read and validate ``path``; any problem raises :class:`SchemaError` on one line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"{path}: schema file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read schema: {exc}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SchemaError(f"{path}{line}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path}:1: a schema must be a mapping with 'entities' and 'relations'")
    try:
        return Schema.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        line = _line_of(root, error["loc"]) if error["loc"] else _line_of_named(root, message)
        where = ".".join(str(part) for part in error["loc"]) or "schema"
        if error["type"] == "extra_forbidden":
            message = f"unknown field {error['loc'][-1]!r}; allowed fields are {_allowed_fields(error['loc'])}"
        raise SchemaError(f"{path}:{line}: {where}: {message}") from None


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model an unknown field was found in (schema, entity or relation)."""
    model = {"entities": EntityType, "relations": RelationType}.get(loc[0], Schema) if len(loc) > 1 else Schema
    return list(model.model_fields)


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``loc`` (the deepest one that exists)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _line_of_named(root: Any, message: str) -> int:
    """For schema-wide errors: the line of the second of two duplicates, or of the unknown type in its relation."""
    duplicate = re.match(r"duplicate (entity|relation) type '([^']+)'", message)
    if duplicate:
        section = "entities" if duplicate.group(1) == "entity" else "relations"
        names = [node for node in _names_in(root, section) if node.value == duplicate.group(2)]
        if len(names) > 1:
            return names[1].start_mark.line + 1
    unknown = re.match(r"relation '([^']+)' names unknown entity type '([^']+)' in its (domain|range)", message)
    if unknown:
        for item in _items(root, "relations"):
            if _value(item, "name") is not None and _value(item, "name").value == unknown.group(1):
                side = _value(item, unknown.group(3))
                for node in _scalars(side) if side is not None else ():
                    if node.value == unknown.group(2):
                        return node.start_mark.line + 1
    quoted = re.findall(r"'([^']+)'", message)
    hits = [node.start_mark.line + 1 for node in _scalars(root) if quoted and node.value == quoted[0]]
    return hits[0] if hits else 1


def _value(node: Any, key: str) -> Any:
    """The value node under ``key`` of a YAML mapping node, or None."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if key_node.value == key:
                return value
    return None


def _items(root: Any, section: str) -> list[Any]:
    """The item nodes of the ``entities`` or ``relations`` sequence."""
    sequence = _value(root, section)
    return list(sequence.value) if isinstance(sequence, yaml.SequenceNode) else []


def _names_in(root: Any, section: str) -> list[Any]:
    """The ``name`` scalar nodes of a section's items, in document order."""
    names = [_value(item, "name") for item in _items(root, section)]
    return [node for node in names if isinstance(node, yaml.ScalarNode)]


def _scalars(node: Any):
    """Every scalar node under ``node``, in document order."""
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from _scalars(child)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(key)
            yield from _scalars(value)


def schema_to_yaml(schema: Schema) -> str:
    """Serialise a schema back to the YAML format ``load_schema`` reads."""
    return yaml.safe_dump(schema.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
