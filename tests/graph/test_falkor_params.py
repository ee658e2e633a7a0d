"""The embedded store's parameter header (kgbuild/graph/falkor_params.py) against the real FalkorDB server.

Every value kgbuild accepts must come back unchanged from ``RETURN $x``; what FalkorDB cannot hold is refused
before anything is sent, with a one-line reason, and the store keeps working.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgbuild.errors import QueryError
from kgbuild.graph.embedded_store import EmbeddedStore
from kgbuild.graph.falkor_params import UnstorableValue, header

# Text FalkorDB can hold: any Unicode scalar value except NUL (hypothesis never draws lone surrogates).
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)
KEYS = st.text(st.characters(blacklist_characters="\x00`", blacklist_categories=("Cs",)), min_size=1, max_size=8)
# Floats whose 15-digit form overflows (|x| > 1.79769313486231e308) are refused, like NaN: see the refusal test below.
EXACT = 1.79769313486231e308
FLOATS = st.floats(min_value=-EXACT, max_value=EXACT) | st.sampled_from([math.inf, -math.inf])
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | FLOATS | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    s = EmbeddedStore(tmp_path_factory.mktemp("params") / "kg")
    s.open()
    s.query("CREATE (:Seed)", read_only=False)  # a read-only query needs the graph to exist
    yield s
    s.close()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-14, abs_tol=1e-300)  # the server prints floats with 15 digits
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES)
def test_every_accepted_value_comes_back_unchanged(store: EmbeddedStore, value: object) -> None:
    (row,) = store.query("RETURN $x AS x", {"x": value})
    assert same(value, row["x"]), (value, row["x"])


@pytest.mark.parametrize(
    "text",
    ['" RETURN 1 //', "\\", '\\"', "a\\nb", "} x=1 ", "CYPHER y=2 ", "\n\r\t\x1b[31m", "'", "`", "é😀\u2028"],
)
def test_text_that_would_break_a_pasted_header_is_stored_literally(store: EmbeddedStore, text: str) -> None:
    rows = store.query("CREATE (n:Probe {t: $t}) RETURN n.t AS t", {"t": text}, read_only=False)
    assert rows == [{"t": text}]
    assert store.query("MATCH (n:Probe {t: $t}) DELETE n RETURN count(*) AS n", {"t": text}, read_only=False) == [{"n": 1}]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a\x00b", "NUL character (U+0000) at character 1"),
        ("x\udc80", "lone surrogate (U+DC80) at character 1"),
        (float("nan"), "NaN"),
        ({"a`b": 1}, "contains a backtick"),
        (b"bytes", "bytes cannot be a query parameter"),
        (1.7976931348623151e308, "would read back as infinity"),  # found by the property test above
    ],
)
def test_what_falkordb_cannot_hold_is_refused_in_one_line_and_the_store_goes_on(store: EmbeddedStore, value: object, reason: str) -> None:
    with pytest.raises(UnstorableValue, match=re.escape(reason)):
        header({"x": value})
    with pytest.raises(QueryError) as info:
        store.query("RETURN $x AS x", {"x": value})
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert store.query("RETURN 1 AS one") == [{"one": 1}]


def test_parameter_names_must_be_identifiers() -> None:
    with pytest.raises(UnstorableValue, match="not an identifier"):
        header({"x=1 y": 1})
    assert header({"a": 1, "b": "c"}) == 'CYPHER a=1 b="c" '
    assert header({}) == ""


def test_store_never_hands_values_to_the_client() -> None:
    """Guard against a regression to ``graph.query(cypher, params)`` (the client's pasting header)."""
    source = (Path(__file__).resolve().parents[2] / "kgbuild" / "graph" / "embedded_store.py").read_text()
    assert "header(params) + cypher" in source
    assert ".query(cypher, " not in source and ".ro_query(cypher, " not in source
