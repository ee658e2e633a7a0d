"""The pydantic schema models: validation rules, lookups and fingerprints, built in Python."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kgbuild.errors import QueryError
from kgbuild.schema import EntityType, RelationType, Schema
from kgbuild.schema.graph import entity_label, relation_type


def small_schema(**changes: object) -> Schema:
    data: dict[str, object] = {
        "name": "people",
        "entities": [
            {"name": "Person", "labels": ["PER"]},
            {"name": "Organization", "labels": ["ORG"]},
        ],
        "relations": [
            {"name": "WORKS_FOR", "domain": ["Person"], "range": ["Organization"], "labels": ["Work_For"]},
            {"name": "SIBLING", "domain": ["Person"], "range": ["Person"], "symmetric": True},
        ],
    }
    data.update(changes)
    return Schema.model_validate(data)


def test_allows_follows_domain_and_range() -> None:
    schema = small_schema()
    assert schema.allows("WORKS_FOR", "Person", "Organization")
    assert not schema.allows("WORKS_FOR", "Organization", "Person")
    assert not schema.allows("SIBLING", "Person", "Organization")
    with pytest.raises(KeyError):
        schema.allows("KNOWS", "Person", "Person")


def test_labels_map_dataset_tags_and_names() -> None:
    schema = small_schema()
    assert schema.entity_for_label("PER") == "Person"
    assert schema.entity_for_label("Organization") == "Organization"
    assert schema.relation_for_label("Work_For") == "WORKS_FOR"
    with pytest.raises(KeyError):
        schema.entity_for_label("LOC")


def test_fingerprint_is_stable_and_content_sensitive() -> None:
    assert small_schema().fingerprint() == small_schema().fingerprint()
    assert small_schema().fingerprint() != small_schema(name="other").fingerprint()


def test_schema_is_frozen() -> None:
    schema = small_schema()
    with pytest.raises(ValidationError):
        schema.name = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["person", "Person Type", "Per-son", "1Person", "", "Person\n", "Person\r\n"])
def test_entity_names_must_be_pascal_case(name: str) -> None:
    with pytest.raises(ValidationError, match="PascalCase"):
        EntityType(name=name)


@pytest.mark.parametrize("name", ["worksFor", "WORKS-FOR", "WORKS__FOR", "_WORKS", "WORKS FOR", "works_for", "KILL\n", "WORKS_FOR\n"])
def test_relation_names_must_be_upper_snake(name: str) -> None:
    with pytest.raises(ValidationError, match="UPPER_SNAKE_CASE"):
        RelationType(name=name, domain=("Person",), range=("Person",))


@pytest.mark.parametrize("name", ["Entity", "Document", "Chunk"])
def test_reserved_entity_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        EntityType(name=name)


@pytest.mark.parametrize("name", ["HAS_CHUNK", "MENTIONED_IN"])
def test_reserved_relation_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        RelationType(name=name, domain=("Person",), range=("Person",))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="colour"):
        EntityType.model_validate({"name": "Person", "colour": "red"})


def test_empty_domain_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one entity type"):
        RelationType(name="KNOWS", domain=(), range=("Person",))


def test_cross_references_must_name_declared_types() -> None:
    with pytest.raises(ValidationError, match="unknown entity type 'Place'"):
        small_schema(relations=[{"name": "LIVES_IN", "domain": ["Person"], "range": ["Place"]}])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"entities": [{"name": "Person"}, {"name": "Person"}]}, "duplicate entity type 'Person'"),
        (
            {"relations": [{"name": "KNOWS", "domain": ["Person"], "range": ["Person"]}] * 2},
            "duplicate relation type 'KNOWS'",
        ),
    ],
)
def test_duplicates_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        small_schema(**changes)


def test_graph_gate_accepts_declared_and_refuses_the_rest() -> None:
    schema = small_schema()
    assert entity_label(schema, "Person") == "Person"
    assert relation_type(schema, "WORKS_FOR") == "WORKS_FOR"
    with pytest.raises(QueryError):
        entity_label(schema, "Person) DETACH DELETE (n")
    with pytest.raises(QueryError):
        relation_type(schema, "KNOWS")
