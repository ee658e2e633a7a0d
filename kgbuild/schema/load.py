"""Load a schema from YAML with one-line errors that name the file, the line and the problem."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kgbuild.errors import SchemaError
from kgbuild.schema.models import Schema


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
        line = _line_of(root, error["loc"]) if error["loc"] else _line_of_named(root, error["msg"])
        where = ".".join(str(part) for part in error["loc"]) or "schema"
        message = error["msg"].removeprefix("Value error, ")
        raise SchemaError(f"{path}:{line}: {where}: {message}") from None


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
    """For schema-wide errors: the line of the name the message quotes (its duplicate, if duplicated)."""
    quoted = re.findall(r"'([^']+)'", message)
    if not quoted:
        return 1
    name = quoted[1] if "unknown" in message and len(quoted) > 1 else quoted[0]
    hits = [node.start_mark.line + 1 for node in _scalars(root) if node.value == name]
    if not hits:
        return 1
    return hits[1] if message.startswith("duplicate") and len(hits) > 1 else hits[0]


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
