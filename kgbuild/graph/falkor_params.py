"""FalkorDB query parameters, rendered by kgbuild and checked value by value.

FalkorDB has no binary parameter channel: a query's parameters travel in a ``CYPHER name=value ...``
header that the server parses as literals before the statement. The falkordb client builds that header by
pasting ``str(value)`` with only ``\\`` and ``"`` escaped, so a NUL character, a NaN or a map key with a
backtick breaks the header (and the whole batch with it). kgbuild never hands values to the client: this
module renders every value as exactly one literal, or refuses it with :class:`UnstorableValue` naming the
problem, before anything is sent. A property test (tests/graph/test_falkor_params.py) checks that every
value it accepts comes back from the server unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnstorableValue(ValueError):
    """A value FalkorDB cannot hold or receive (a NUL character, a lone surrogate, NaN, a bad map key)."""


def string_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as a graph string, or None (shared with the write pre-flight)."""
    where = text.find("\x00")
    if where >= 0:
        return f"a NUL character (U+0000) at character {where}"
    bad = _SURROGATE.search(text)
    if bad is not None:
        return f"a lone surrogate (U+{ord(bad.group()):04X}) at character {bad.start()}, which is not valid Unicode"
    return None


def literal(value: Any) -> str:
    """``value`` as one Cypher literal FalkorDB's header parser reads back exactly."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            raise UnstorableValue("NaN cannot be sent to the embedded store (its parameter header has no NaN literal)")
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"  # the parser reads an overflowing literal as infinity
        if math.isinf(float(f"{value:.15g}")):
            raise UnstorableValue(
                f"{value!r} cannot be stored exactly: the embedded store prints floats with 15 digits, and this one "
                "would read back as infinity"
            )
        return repr(value)
    if isinstance(value, str):
        problem = string_problem(value)
        if problem is not None:
            raise UnstorableValue(f"a string holds {problem}")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        return literal(value.item())
    raise UnstorableValue(f"a {type(value).__name__} cannot be a query parameter (use strings, numbers, booleans, lists and maps)")


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise UnstorableValue(f"map key {key!r} must be a non-empty string")
    if "`" in key:
        raise UnstorableValue(f"map key {key!r} contains a backtick, which the embedded store cannot read in a map key")
    problem = string_problem(key)
    if problem is not None:
        raise UnstorableValue(f"map key {key!r} holds {problem}")
    return f"`{key}`"


def header(params: Mapping[str, Any] | None) -> str:
    """The ``CYPHER a=... b=... `` prefix for ``params`` ("" when there are none)."""
    if not params:
        return ""
    parts = []
    for name, value in params.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise UnstorableValue(f"parameter name {name!r} is not an identifier (letters, digits and _)")
        parts.append(f"{name}={literal(value)}")
    return "CYPHER " + " ".join(parts) + " "
