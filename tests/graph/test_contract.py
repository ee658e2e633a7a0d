"""The GraphStore contract: the same tests on the embedded store and on a real Neo4j."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.errors import QueryError, StoreError
from kgbuild.graph.store import GraphStore
from kgbuild.records import Entity, Fact, MentionLink
from tests.graph.corpus import INJECTION, corpus, write


def counts(store: GraphStore) -> dict[str, int]:
    """stats() plus the raw node and relationship totals, computed with Cypher."""
    stats = dict(store.stats())
    stats["nodes"] = store.query("MATCH (n) RETURN count(n) AS n")[0]["n"]
    stats["relationships"] = store.query("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
    return stats


def test_is_a_graph_store(store: GraphStore) -> None:
    assert isinstance(store, GraphStore)


def test_write_counts(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    assert dict(store.stats()) == {"documents": 2, "chunks": 4, "entities": 4, "mentions": 8, "facts": 4}
    assert counts(store)["nodes"] == 2 + 4 + 4
    assert counts(store)["relationships"] == 4 + 8 + 4  # HAS_CHUNK + MENTIONED_IN + facts


def test_rewrite_is_idempotent(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    before = counts(store)
    write(store, c)
    write(store, c)
    assert counts(store) == before
    row = store.query(
        "MATCH (:Entity {id: 'engines'})-[r:LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY]->(:Entity {id: 'london'}) "
        "RETURN r.doc_ids AS docs, r.evidence_chunk_ids AS ev, r.score AS score"
    )
    assert len(row) == 1
    assert sorted(row[0]["docs"]) == sorted([c.a.document.id, c.b.document.id])  # unioned, no duplicates
    assert sorted(row[0]["ev"]) == sorted([c.a.sentences[0].chunk_id, c.b.sentences[1].chunk_id])
    assert row[0]["score"] == pytest.approx(0.75)


def test_graph_model_and_labels(store: GraphStore) -> None:
    write(store, corpus())
    people = store.query("MATCH (p:Person) RETURN p.name AS name ORDER BY name")
    assert [r["name"] for r in people] == ["Ada Lovelace", "Alan Turing"]
    both = store.query("MATCH (p:Entity:Person) RETURN count(p) AS n")
    assert both[0]["n"] == 2
    ada = store.query("MATCH (e:Entity {id: $id}) RETURN e.aliases AS aliases, e.type AS type, e.mention_count AS n", {"id": "ada"})
    assert ada == [{"aliases": ["Lovelace"], "type": "Person", "n": 2}]
    doc = store.query("MATCH (d:Document {title: 'Ada'}) RETURN d.source AS source, d.hash AS hash")[0]
    assert doc["source"] == "a.txt" and len(doc["hash"]) == 64


def test_provenance_to_the_character(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    texts = {d.document.id: d.document.text for d in c.docs}
    rows = store.query(
        "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk)<-[m:MENTIONED_IN]-(e:Entity) "
        "RETURN d.id AS doc, c.start AS cs, c.end AS ce, c.text AS ctext, m.start AS s, m.end AS e, m.text AS text, "
        "m.doc_id AS mdoc, e.id AS entity"
    )
    assert len(rows) == 8
    for r in rows:
        assert texts[r["doc"]][r["s"] : r["e"]] == r["text"]
        assert texts[r["doc"]][r["cs"] : r["ce"]] == r["ctext"]
        assert r["cs"] <= r["s"] < r["e"] <= r["ce"] and r["mdoc"] == r["doc"]


def test_delete_document_removes_only_what_it_alone_supported(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    store.delete_document(c.a.document.id)
    assert dict(store.stats()) == {"documents": 1, "chunks": 2, "entities": 3, "mentions": 3, "facts": 2}
    names = {r["id"]: r["n"] for r in store.query("MATCH (e:Entity) RETURN e.id AS id, e.mention_count AS n")}
    assert names == {"alan": 1, "engines": 1, "london": 1}  # Ada only appeared in A; counts follow the mentions left
    facts = store.query(
        "MATCH (h:Entity)-[r]->(t:Entity) RETURN h.id AS h, type(r) AS type, t.id AS t, r.doc_ids AS docs, "
        "r.evidence_chunk_ids AS ev ORDER BY h"
    )
    b = c.b.document.id
    assert facts == [
        {"h": "alan", "type": "EMPLOYER", "t": "engines", "docs": [b], "ev": [c.b.sentences[0].chunk_id]},
        {
            "h": "engines",
            "type": "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY",
            "t": "london",
            "docs": [b],
            "ev": [c.b.sentences[1].chunk_id],
        },
    ]
    # Deleting again, or a document that never existed, changes nothing.
    before = counts(store)
    store.delete_document(c.a.document.id)
    store.delete_document("doc_missing")
    assert counts(store) == before
    # Writing A again restores the full graph.
    write(store, c)
    assert dict(store.stats()) == {"documents": 2, "chunks": 4, "entities": 4, "mentions": 8, "facts": 4}


def test_injection_is_stored_as_data(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    evil = Entity(INJECTION, "Person", INJECTION, (INJECTION,), None, 1)
    store.upsert_entities([evil])
    store.upsert_mentions([MentionLink(INJECTION, c.a.sentences[0].chunk_id, c.a.document.id, 0, 3, "Ada", 0.5)])
    store.upsert_facts([Fact(INJECTION, "EMPLOYER", "engines", 0.5, (c.a.document.id,), ())])
    assert dict(store.stats()) == {"documents": 2, "chunks": 4, "entities": 5, "mentions": 9, "facts": 5}
    rows = store.query("MATCH (e:Person {name: $name}) RETURN e.id AS id, e.aliases AS aliases", {"name": INJECTION})
    assert rows == [{"id": INJECTION, "aliases": [INJECTION]}]
    store.delete_document(c.a.document.id)
    assert store.query("MATCH (e:Entity {id: $id}) RETURN count(e) AS n", {"id": INJECTION})[0]["n"] == 0
    assert dict(store.stats())["entities"] == 3


def test_types_outside_the_schema_are_refused(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    before = counts(store)
    with pytest.raises(QueryError, match="relation type 'KNOWS_SECRETLY'.*not in schema"):
        store.upsert_facts([Fact("ada", "KNOWS_SECRETLY", "alan", 0.9, (c.a.document.id,), ())])
    with pytest.raises(QueryError, match="not in schema"):
        store.upsert_facts([Fact("ada", "EMPLOYER]->() DETACH DELETE n //", "alan", 0.9, (), ())])
    with pytest.raises(QueryError, match="entity type 'Person:Admin'.*not in schema"):
        store.upsert_entities([Entity("z", "Person:Admin", "Z")])
    assert counts(store) == before


def test_query_is_read_only_unless_asked(store: GraphStore) -> None:
    write(store, corpus())
    before = counts(store)
    for statement in (
        "CREATE (:Person {name: 'Mallory'})",
        "MATCH (n) DETACH DELETE n",
        "MATCH (e:Entity) SET e.name = 'x'",
        "MERGE (n:Thing {id: 1}) RETURN n",
    ):
        with pytest.raises(QueryError, match="read-only"):
            store.query(statement)
    assert counts(store) == before
    assert store.query("MATCH (e:Entity {id: 'ada'}) SET e.note = $note RETURN e.note AS note", {"note": "hi"}, read_only=False) == [
        {"note": "hi"}
    ]


def test_query_errors_are_one_line(store: GraphStore) -> None:
    with pytest.raises(QueryError) as info:
        store.query("MATCH (n RETURN n")
    assert "\n" not in str(info.value)


def test_query_returns_plain_values(store: GraphStore) -> None:
    write(store, corpus())
    row = store.query("MATCH (p:Person {id: 'alan'})-[r:EMPLOYER]->(o) RETURN p, r, o.name AS org, type(r) AS t")[0]
    assert row["p"]["_labels"] == ["Entity", "Person"]
    assert row["p"]["name"] == "Alan Turing"
    assert row["r"]["_type"] == "EMPLOYER" and row["r"]["score"] == pytest.approx(0.7)
    assert row["org"] == "Analytical Engines" and row["t"] == "EMPLOYER"


def test_fetch_entities_round_trip(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    people = sorted(store.fetch_entities(["Person"]), key=lambda e: e.id)
    assert [e.id for e in people] == ["ada", "alan"]
    original = {e.id: e for e in c.entities}
    for e in people:
        assert e.name == original[e.id].name and e.aliases == original[e.id].aliases
        assert e.mention_count == original[e.id].mention_count
        assert e.embedding is not None and e.embedding == pytest.approx(original[e.id].embedding, abs=1e-6)
    assert len(store.fetch_entities()) == 4


def test_similar_entities(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    vectors = {e.id: list(e.embedding or ()) for e in c.entities}
    hits = store.similar_entities("Person", [vectors["ada"], vectors["alan"], vectors["london"]], k=2)
    assert len(hits) == 3
    assert hits[0][0][0].id == "ada" and hits[0][0][1] == pytest.approx(1.0, abs=1e-4)
    assert hits[1][0][0].id == "alan" and hits[1][0][1] == pytest.approx(1.0, abs=1e-4)
    assert {e.id for e, _ in hits[2]} == {"ada", "alan"}  # only Persons, even for a Location's vector
    assert all(e.type == "Person" for row in hits for e, _ in row)
    assert hits[2][0][1] < 0.5  # random vectors are far apart
    assert store.similar_entities("Person", [], k=3) == []
    ids = store.similar_entity_ids("Person", [vectors["ada"], vectors["alan"], vectors["london"]], k=2)
    assert [[i for i, _ in row] for row in ids] == [[e.id for e, _ in row] for row in hits]
    assert [s for row in ids for _, s in row] == pytest.approx([s for row in hits for _, s in row], abs=1e-5)
    assert store.similar_entity_ids("Person", [], k=3) == []


def test_writes_need_the_schema(store: GraphStore, tmp_path: Path) -> None:
    from kgbuild.graph import open_graph

    uri = str(tmp_path / "other") if hasattr(store, "path") else store.uri  # type: ignore[attr-defined]
    fresh = open_graph(uri)
    fresh.open()
    try:
        with pytest.raises(StoreError, match="ensure_schema"):
            fresh.upsert_entities(corpus().entities)
    finally:
        fresh.close()


def test_awkward_strings_round_trip(store: GraphStore) -> None:
    c = corpus()
    write(store, c)
    names = ['quote " double', "back\\slash \\\" mix", "new\nline\ttab", "ünïcødé 東京 🚀", "$param {braces} `tick`", ""]
    store.upsert_entities([Entity(f"w{i}", "Misc", name, (name,)) for i, name in enumerate(names)])
    rows = store.query("MATCH (e:Misc) RETURN e.id AS id, e.name AS name, e.aliases AS aliases ORDER BY id")
    assert [r["name"] for r in rows] == names
    assert [r["aliases"] for r in rows] == [[n] for n in names]
    assert store.query("MATCH (e:Entity) WHERE e.name = $n RETURN e.id AS id", {"n": names[1]}) == [{"id": "w1"}]


@pytest.mark.parametrize(
    "cypher",
    ["LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line", "load  csv with headers from 'file:///etc/hosts' as r return r"],
)
def test_read_only_query_refuses_load_csv(store: GraphStore, cypher: str) -> None:
    """A read-only query must not read the server's files (issue 18): refused before it reaches the server."""
    with pytest.raises(QueryError, match="LOAD CSV") as info:
        store.query(cypher)
    assert "\n" not in str(info.value)
    assert store.query("RETURN 'LOAD CSV' AS text") == [{"text": "LOAD CSV"}]  # the words inside a string are fine
