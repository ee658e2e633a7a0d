"""load_schema: every malformed file gives one SchemaError line naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.errors import SchemaError
from kgbuild.schema.load import load_schema, schema_to_yaml

GOOD = """\
name: people
description: "A tiny schema."
entities:
  - name: Person
    labels: [PER]
  - name: Place
relations:
  - name: LIVES_IN
    domain: [Person]
    range: [Place]
"""

# (file text, expected line, a fragment of the message)
BAD = {
    "invalid_yaml": ("entities:\n  - name: Person\n    labels: [PER\nrelations: []\n", 4, "invalid YAML"),
    "tab_indent": ("entities:\n\t- name: Person\n", 2, "invalid YAML"),
    "not_a_mapping": ("- Person\n- Place\n", 1, "must be a mapping"),
    "empty_file": ("", 1, "must be a mapping"),
    "missing_entities": ("name: x\nrelations: []\n", 1, "entities: Field required"),
    "unknown_range_type": (
        "entities:\n  - name: Person\n  - name: Place\nrelations:\n"
        "  - name: LIVES_IN\n    domain: [Person]\n    range: [Plaec]\n",
        7,
        "names unknown entity type 'Plaec' in its range",
    ),
    "unknown_domain_type_named_elsewhere": (
        # the unknown name also occurs earlier as a description: the line must be the domain's
        "entities:\n  - name: Person\n    description: Town\nrelations:\n"
        "  - name: LIVES_IN\n    domain: [Person,\n      Town]\n    range: [Person]\n",
        7,
        "unknown entity type 'Town' in its domain",
    ),
    "duplicate_entity": (
        "entities:\n  - name: Person\n  - name: Place\n  - name: Person\n", 4, "duplicate entity type 'Person'"
    ),
    "duplicate_relation": (
        "entities:\n  - name: Person\nrelations:\n"
        "  - name: KNOWS\n    domain: [Person]\n    range: [Person]\n"
        "  - name: KNOWS\n    domain: [Person]\n    range: [Person]\n",
        7,
        "duplicate relation type 'KNOWS'",
    ),
    "label_not_pascal_case": ("entities:\n  - name: Person\n  - name: place\n", 3, "not a valid label"),
    "type_not_upper_snake": (
        "entities:\n  - name: Person\nrelations:\n  - name: livesIn\n    domain: [Person]\n    range: [Person]\n",
        4,
        "not a valid relationship type",
    ),
    "reserved_label": ("entities:\n  - name: Person\n  - name: Chunk\n", 3, "reserved"),
    "reserved_type": (
        "entities:\n  - name: Person\nrelations:\n  - name: HAS_CHUNK\n    domain: [Person]\n    range: [Person]\n",
        4,
        "reserved",
    ),
    "unknown_entity_field": ("entities:\n  - name: Person\n    colour: red\n", 3, "unknown field 'colour'"),
    "unknown_top_field": ("entities:\n  - name: Person\nrelation: []\n", 3, "unknown field 'relation'"),
    "empty_domain": (
        "entities:\n  - name: Person\nrelations:\n  - name: KNOWS\n    domain: []\n    range: [Person]\n",
        5,
        "at least one entity type",
    ),
}


def write(tmp_path: Path, text: str, name: str = "schema.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_schema_loads(tmp_path: Path) -> None:
    schema = load_schema(write(tmp_path, GOOD))
    assert schema.name == "people"
    assert schema.entity_names == ("Person", "Place")
    assert schema.allows("LIVES_IN", "Person", "Place")


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    schema = load_schema(write(tmp_path, GOOD))
    again = load_schema(write(tmp_path, schema_to_yaml(schema), "again.yaml"))
    assert again == schema
    assert again.fingerprint() == schema.fingerprint()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_schema_names_file_line_and_problem(tmp_path: Path, case: str) -> None:
    text, line, fragment = BAD[case]
    path = write(tmp_path, text, f"{case}.yaml")
    with pytest.raises(SchemaError) as caught:
        load_schema(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(tmp_path / "nope.yaml")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("entities:\n  - name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(SchemaError, match="cannot read schema"):
        load_schema(path)
