"""Pydantic models of a schema; a schema checks its own cross-references when built."""

from __future__ import annotations

import hashlib
import json
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PASCAL_CASE = re.compile(r"\A[A-Z][A-Za-z0-9]*\Z")  # \Z: "$" would accept a trailing newline
UPPER_SNAKE = re.compile(r"\A[A-Z][A-Z0-9]*(_[A-Z0-9]+)*\Z")
# Labels and types the graph model uses itself; a schema may not reuse them.
RESERVED_LABELS = frozenset({"Entity", "Document", "Chunk"})
RESERVED_RELATIONS = frozenset({"HAS_CHUNK", "MENTIONED_IN"})


class EntityType(BaseModel):
    """An entity type; ``name`` becomes a Neo4j label (PascalCase)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    labels: tuple[str, ...] = Field(default=(), description="Dataset tags mapped to this type, e.g. PER")

    @field_validator("name")
    @classmethod
    def _pascal(cls, value: str) -> str:
        if not PASCAL_CASE.match(value):
            raise ValueError(f"entity type {value!r} is not a valid label: use PascalCase letters and digits, e.g. 'Person'")
        if value in RESERVED_LABELS:
            raise ValueError(f"entity type {value!r} is reserved by kgbuild's graph model; choose another name")
        return value


class RelationType(BaseModel):
    """A relation type; ``name`` becomes a Neo4j relationship type (UPPER_SNAKE_CASE)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    domain: tuple[str, ...] = Field(description="Entity types allowed as head")
    range: tuple[str, ...] = Field(description="Entity types allowed as tail")
    symmetric: bool = False
    functional: bool = False
    labels: tuple[str, ...] = Field(default=(), description="Dataset tags mapped to this type, e.g. P17")

    @field_validator("name")
    @classmethod
    def _upper_snake(cls, value: str) -> str:
        if not UPPER_SNAKE.match(value):
            raise ValueError(f"relation type {value!r} is not a valid relationship type: use UPPER_SNAKE_CASE, e.g. 'WORKS_FOR'")
        if value in RESERVED_RELATIONS:
            raise ValueError(f"relation type {value!r} is reserved by kgbuild's graph model; choose another name")
        return value

    @field_validator("domain", "range")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one entity type")
        return value


class Schema(BaseModel):
    """A frozen set of entity and relation types whose domains and ranges name declared types."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "schema"
    description: str = ""
    entities: tuple[EntityType, ...]
    relations: tuple[RelationType, ...] = ()

    @model_validator(mode="after")
    def _cross_references(self) -> "Schema":
        seen: set[str] = set()
        for entity in self.entities:
            if entity.name in seen:
                raise ValueError(f"duplicate entity type {entity.name!r}")
            seen.add(entity.name)
        relation_names: set[str] = set()
        for relation in self.relations:
            if relation.name in relation_names:
                raise ValueError(f"duplicate relation type {relation.name!r}")
            relation_names.add(relation.name)
            for side in ("domain", "range"):
                for type_name in getattr(relation, side):
                    if type_name not in seen:
                        raise ValueError(
                            f"relation {relation.name!r} names unknown entity type {type_name!r} in its {side}; "
                            f"declared types are {sorted(seen)}"
                        )
        return self

    @property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entities)

    @property
    def relation_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.relations)

    def entity(self, name: str) -> EntityType:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(name)

    def relation(self, name: str) -> RelationType:
        for relation in self.relations:
            if relation.name == name:
                return relation
        raise KeyError(name)

    def allows(self, relation: str, head_type: str, tail_type: str) -> bool:
        """Whether ``(head_type)-[relation]->(tail_type)`` fits the relation's domain and range."""
        rel = self.relation(relation)
        return head_type in rel.domain and tail_type in rel.range

    def entity_for_label(self, label: str) -> str:
        """Map a dataset tag (e.g. PER) or a type name to the schema's entity type name."""
        for entity in self.entities:
            if label == entity.name or label in entity.labels:
                return entity.name
        raise KeyError(label)

    def relation_for_label(self, label: str, head_type: str | None = None, tail_type: str | None = None) -> str:
        """Map a dataset tag (e.g. P17) or a relation name to the schema's relation type name.

        With the head and tail types, a tag maps to the first relation listing it whose domain and range admit them:
        one tag can stand for several relations (CrossRE's ``physical`` is LIVE_IN between a person and a place,
        ORG_BASED_IN between an organisation and a place). Where none admits them, a relation whose own tag it is
        (its first label: the data it was made from) still takes it, since gold data may relate types its domain
        omits; a tag borrowed from another dataset does not (a KeyError)."""
        named = [r for r in self.relations if label == r.name or label in r.labels]
        if head_type is not None and tail_type is not None:
            fitting = [r for r in named if head_type in r.domain and tail_type in r.range]
            named = fitting or [r for r in named if label == r.name or r.labels[:1] == (label,)]
        if not named:
            raise KeyError(label)
        return named[0].name

    def fingerprint(self) -> str:
        """A hash of the schema's content; models and build ledgers record it."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
