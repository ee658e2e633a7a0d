"""Building documents one at a time against the graph gives the entities of building them together.

Real Re-DocRED documents (gold mentions, in-document entities and relations), fused once as one batch
without a store, then one document at a time into a real store (embedded, and Neo4j), in two orders;
the mention partition, entity names, counts and facts read back from the graph must equal the batch's.
"""

from __future__ import annotations

import pytest

from kgbuild.fusion import Fuser
from kgbuild.datasets.fusion_gold import load_gold
from kgbuild.graph.store import GraphStore
from kgbuild.graph.writer import WriteStage
from kgbuild.records import FusedBatch
from tests.datafiles import dataset

# documents of dev_100.json that share entities (United States, United Kingdom, Sweden, numbers, years...)
TITLES = (
    "Muir Beach, California", "Sunol Valley", "Admission to the Union", "Cello Suites (Bach)", "Juan Carlos Muñoz",
    "Kiirunavaara", "Kungliga Hovkapellet", "Irish in the British Armed Forces", "Law of the Cayman Islands",
    "Queen of Mauritius",
)

Mention = tuple[str, int, int]


@pytest.fixture(scope="module")
def documents(default_schema):
    path = dataset("re-docred/dev_100.json")
    docs = [d for d in load_gold(path, default_schema) if d.doc.document.id in TITLES]
    assert len(docs) == len(TITLES)
    return [(d.doc, d.extraction) for d in docs]


@pytest.fixture(scope="module")
def batch_result(documents, default_schema, fusion_embedder) -> FusedBatch:
    return Fuser(default_schema, model=fusion_embedder)(documents)


def _summary(entities: dict[str, tuple[str, str, int]], links: list[tuple[str, Mention]], facts: list[tuple[str, str, str, tuple[str, ...]]]):
    """Entities as frozensets of their mentions (ids differ with arrival order), with name, type, count; facts between them."""
    members: dict[str, set[Mention]] = {}
    for entity_id, mention in links:
        members.setdefault(entity_id, set()).add(mention)
    cluster = {entity_id: frozenset(m) for entity_id, m in members.items()}
    nodes = {cluster[i]: entities[i] for i in cluster}
    edges = {(cluster[h], r, cluster[t], docs) for h, r, t, docs in facts}
    return nodes, edges


def _from_batch(fused: FusedBatch):
    return _summary(
        {e.id: (e.name, e.type, e.mention_count) for e in fused.entities},
        [(m.entity_id, (m.doc_id, m.start, m.end)) for m in fused.mentions],
        [(f.head_id, f.type, f.tail_id, tuple(sorted(f.doc_ids))) for f in fused.facts],
    )


def _from_graph(store: GraphStore):
    rows = store.query("MATCH (e:Entity) RETURN e.id AS id, e.name AS name, e.type AS type, e.mention_count AS n")
    links = store.query("MATCH (e:Entity)-[m:MENTIONED_IN]->(:Chunk) RETURN e.id AS id, m.doc_id AS doc, m.start AS s, m.end AS e")
    facts = store.query(
        "MATCH (h:Entity)-[r]->(t:Entity) RETURN h.id AS h, type(r) AS r, t.id AS t, r.doc_ids AS docs"
    )
    return _summary(
        {r["id"]: (r["name"], r["type"], r["n"]) for r in rows},
        [(r["id"], (r["doc"], r["s"], r["e"])) for r in links],
        [(r["h"], r["r"], r["t"], tuple(sorted(r["docs"]))) for r in facts],
    )


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_one_document_at_a_time_equals_the_batch(
    order: str, documents, batch_result, fusion_store: GraphStore, default_schema, fusion_embedder
) -> None:
    fuser = Fuser(default_schema, store=fusion_store, model=fusion_embedder)
    write = WriteStage(fusion_store)
    for item in documents if order == "forward" else documents[::-1]:
        write(fuser([item]))
    nodes, edges = _from_graph(fusion_store)
    expected_nodes, expected_edges = _from_batch(batch_result)
    assert sum(len(c) > 0 and len({m[0] for m in c}) > 1 for c in expected_nodes) >= 10, "the set must fuse across documents"
    assert set(nodes) == set(expected_nodes), "the mention partition differs"
    assert nodes == expected_nodes, "names, types or mention counts differ"
    assert edges and edges == expected_edges
    assert fusion_store.stats()["entities"] == len(batch_result.entities)
