"""The Cypher examples kgbuild documents (README, docs): each runs unchanged on Neo4j and on the embedded store.

tests/graph/test_documented_queries.py runs every one of them on both stores and checks the answers agree.
Parameters (``$name``) are passed with ``kgbuild query ... --param name=Ada`` or ``graph.query(q, {"name": ...})``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    title: str
    cypher: str
    params: dict[str, str]


# What scripts/demo.sh prints after the build: the most confident facts, each with the sentence that states it.
DEMO_QUERY = (
    "MATCH (h:Entity)-[r]->(t:Entity) MATCH (c:Chunk) WHERE c.id IN r.evidence_chunk_ids "
    "RETURN h.name AS head, type(r) AS relation, t.name AS tail, r.score AS score, c.text AS sentence "
    "ORDER BY score DESC, head, relation, tail LIMIT 10"
)

EXAMPLES: tuple[Example, ...] = (
    Example("The most confident facts, with the sentence that states each", DEMO_QUERY, {}),
    Example(
        "Entities per type",
        "MATCH (e:Entity) RETURN e.type AS type, count(e) AS entities ORDER BY entities DESC, type",
        {},
    ),
    Example(
        "Facts per relation type",
        "MATCH (:Entity)-[r]->(:Entity) RETURN type(r) AS relation, count(r) AS facts ORDER BY facts DESC, relation",
        {},
    ),
    Example(
        "People and the organisations they work for, with the sentence that says so",
        "MATCH (p:Person)-[r:EMPLOYER]->(o:Organization) "
        "MATCH (c:Chunk) WHERE c.id IN r.evidence_chunk_ids "
        "RETURN p.name AS person, o.name AS organization, c.text AS sentence ORDER BY person, organization",
        {},
    ),
    Example(
        "An entity's neighbours",
        "MATCH (e:Entity {name: $name})-[r]-(n:Entity) "
        "RETURN type(r) AS relation, n.name AS neighbour, n.type AS type ORDER BY relation, neighbour",
        {"name": "Analytical Engines"},
    ),
    Example(
        "Facts with provenance: documents and sentences behind each fact",
        "MATCH (h:Entity)-[r]->(t:Entity) "
        "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE c.id IN r.evidence_chunk_ids "
        "RETURN h.name AS head, type(r) AS relation, t.name AS tail, r.score AS score, d.title AS document, "
        "c.start AS start, c.end AS end, c.text AS sentence ORDER BY head, relation, tail, start",
        {},
    ),
    Example(
        "Every mention of an entity, to the character",
        "MATCH (e:Entity {name: $name})-[m:MENTIONED_IN]->(c:Chunk)<-[:HAS_CHUNK]-(d:Document) "
        "RETURN d.title AS document, m.start AS start, m.end AS end, m.text AS mention, c.text AS sentence "
        "ORDER BY document, start",
        {"name": "London"},
    ),
    Example(
        "The most connected entities",
        "MATCH (e:Entity)-[r]-(:Entity) RETURN e.name AS entity, e.type AS type, count(r) AS degree "
        "ORDER BY degree DESC, entity LIMIT 10",
        {},
    ),
    Example(
        "Entities with their aliases and how often they are mentioned",
        "MATCH (e:Entity) WHERE size(e.aliases) > 0 "
        "RETURN e.name AS entity, e.aliases AS aliases, e.mention_count AS mentions ORDER BY mentions DESC, entity",
        {},
    ),
)
