"""Read what the report shows from a graph, through parameterised read-only Cypher only.

Works on any store with ``query(cypher, params)`` (Neo4j or the embedded store) and the graph model of
:mod:`kgbuild.graph.store`. Every query is a constant here; values travel as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from kgbuild.report.highlight import Segment, highlight

COUNT_DOCUMENTS = "MATCH (d:Document) RETURN count(d) AS n"
COUNT_CHUNKS = "MATCH (c:Chunk) RETURN count(c) AS n"
COUNT_MENTIONS = "MATCH (:Entity)-[m:MENTIONED_IN]->(:Chunk) RETURN count(m) AS n"
ENTITY_TYPES = "MATCH (e:Entity) RETURN e.type AS type, count(e) AS n ORDER BY n DESC, type"
RELATION_TYPES = "MATCH (:Entity)-[r]->(:Entity) RETURN type(r) AS type, count(r) AS n ORDER BY n DESC, type"
TOP_ENTITIES = (
    "MATCH (e:Entity) OPTIONAL MATCH (e)-[r]-(:Entity) "
    "WITH e, count(r) AS degree "
    "RETURN e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, "
    "e.mention_count AS mentions, degree "
    "ORDER BY degree DESC, mentions DESC, name LIMIT $limit"
)
EDGES_AMONG = (
    "MATCH (a:Entity)-[r]->(b:Entity) WHERE a.id IN $ids AND b.id IN $ids "
    "RETURN a.id AS source, b.id AS target, type(r) AS type, r.score AS score"
)
FACTS = (
    "MATCH (h:Entity)-[r]->(t:Entity) "
    "RETURN h.id AS head_id, h.name AS head, h.type AS head_type, type(r) AS type, "
    "t.id AS tail_id, t.name AS tail, t.type AS tail_type, r.score AS score, "
    "r.evidence_chunk_ids AS chunk_ids, r.doc_ids AS doc_ids "
    "ORDER BY score DESC, head, type, tail LIMIT $limit"
)
# Facts written without evidence: the sentences that mention both ends.
CO_MENTIONS = (
    "UNWIND $pairs AS pair "
    "MATCH (h:Entity {id: pair[0]})-[:MENTIONED_IN]->(c:Chunk)<-[:MENTIONED_IN]-(t:Entity {id: pair[1]}) "
    "RETURN pair[0] AS head_id, pair[1] AS tail_id, collect(DISTINCT c.id) AS chunk_ids"
)
# ...and failing that (a document-level fact), the first sentence of its documents that mentions each end.
FIRST_MENTIONS = (
    "UNWIND $items AS item "
    "MATCH (e:Entity {id: item.entity})-[m:MENTIONED_IN]->(c:Chunk) WHERE m.doc_id IN item.docs "
    "RETURN item.entity AS entity_id, item.docs AS docs, c.id AS chunk_id, c.start AS start ORDER BY start"
)
CHUNKS = (
    "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE c.id IN $ids "
    "RETURN c.id AS id, c.start AS start, c.text AS text, d.title AS title, d.source AS source"
)
MENTIONS_IN = (
    "MATCH (e:Entity)-[m:MENTIONED_IN]->(c:Chunk) WHERE c.id IN $chunk_ids AND e.id IN $entity_ids "
    "RETURN e.id AS entity_id, c.id AS chunk_id, m.start AS start, m.end AS end, m.text AS text"
)
EVIDENCE_PER_FACT = 2  # sentences shown under each fact


class Queryable(Protocol):
    def query(self, cypher: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class TopEntity:
    id: str
    name: str
    type: str
    degree: int
    mentions: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    type: str
    score: float


@dataclass(frozen=True)
class Evidence:
    """A source sentence, cut into plain and highlighted segments."""

    title: str
    source: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class FactView:
    head: str
    head_type: str
    type: str
    tail: str
    tail_type: str
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows; built by :func:`collect`, rendered by :mod:`kgbuild.report.render`."""

    graph: str
    totals: dict[str, int]
    entity_types: list[tuple[str, int]]
    relation_types: list[tuple[str, int]]
    top_entities: list[TopEntity]
    view_nodes: list[TopEntity]
    view_edges: list[Edge]
    facts: list[FactView]
    facts_total: int
    notes: list[str] = field(default_factory=list)


def _scalar(graph: Queryable, cypher: str) -> int:
    rows = graph.query(cypher, {})
    return int(rows[0]["n"]) if rows else 0


def _top(row: Mapping[str, Any]) -> TopEntity:
    return TopEntity(
        id=str(row["id"]),
        name=str(row["name"] or row["id"]),
        type=str(row["type"] or "?"),
        degree=int(row["degree"] or 0),
        mentions=int(row["mentions"] or 0),
        aliases=tuple(a for a in (row.get("aliases") or ()) if a != row["name"]),
    )


def collect(graph: Queryable, graph_name: str, top: int = 20, view_nodes: int = 60, max_facts: int = 500) -> ReportData:
    """Run the report's queries against ``graph`` and shape the answers for the page."""
    entity_types = [(str(r["type"]), int(r["n"])) for r in graph.query(ENTITY_TYPES, {})]
    relation_types = [(str(r["type"]), int(r["n"])) for r in graph.query(RELATION_TYPES, {})]
    totals = {
        "documents": _scalar(graph, COUNT_DOCUMENTS),
        "sentences": _scalar(graph, COUNT_CHUNKS),
        "entities": sum(n for _, n in entity_types),
        "mentions": _scalar(graph, COUNT_MENTIONS),
        "facts": sum(n for _, n in relation_types),
    }
    ranked = [_top(r) for r in graph.query(TOP_ENTITIES, {"limit": max(top, view_nodes)})]
    nodes = ranked[:view_nodes]
    ids = [n.id for n in nodes]
    edges = [
        Edge(str(r["source"]), str(r["target"]), str(r["type"]), float(r["score"] or 0.0))
        for r in (graph.query(EDGES_AMONG, {"ids": ids}) if ids else [])
    ]
    facts = _facts(graph, max_facts)
    notes = []
    if totals["facts"] > len(facts):
        notes.append(f"showing the {len(facts)} highest-scoring of {totals['facts']} facts (raise --max-facts)")
    return ReportData(
        graph=graph_name, totals=totals, entity_types=entity_types, relation_types=relation_types,
        top_entities=ranked[:top], view_nodes=nodes, view_edges=edges, facts=facts,
        facts_total=totals["facts"], notes=notes,
    )


def _facts(graph: Queryable, limit: int) -> list[FactView]:
    """The top facts, each with up to two source sentences in which its head and tail are highlighted."""
    rows = graph.query(FACTS, {"limit": limit}) if limit > 0 else []
    chunk_ids = {i: [c for c in (r["chunk_ids"] or ())][:EVIDENCE_PER_FACT] for i, r in enumerate(rows)}
    missing = [i for i, ids in chunk_ids.items() if not ids]
    if missing:
        pairs = [[rows[i]["head_id"], rows[i]["tail_id"]] for i in missing]
        found = {(r["head_id"], r["tail_id"]): list(r["chunk_ids"]) for r in graph.query(CO_MENTIONS, {"pairs": pairs})}
        for i in missing:
            chunk_ids[i] = sorted(found.get((rows[i]["head_id"], rows[i]["tail_id"]), []))[:EVIDENCE_PER_FACT]
        _first_mentions(graph, rows, chunk_ids)
    wanted = sorted({c for ids in chunk_ids.values() for c in ids})
    chunks = {r["id"]: r for r in graph.query(CHUNKS, {"ids": wanted})} if wanted else {}
    entity_ids = sorted({r["head_id"] for r in rows} | {r["tail_id"] for r in rows})
    spans: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    if wanted:
        for m in graph.query(MENTIONS_IN, {"chunk_ids": wanted, "entity_ids": entity_ids}):
            spans.setdefault((m["entity_id"], m["chunk_id"]), []).append((int(m["start"]), int(m["end"]), m["text"] or ""))
    facts = []
    for i, row in enumerate(rows):
        evidence = []
        for chunk_id in chunk_ids[i]:
            chunk = chunks.get(chunk_id)
            if chunk is None:
                continue
            base = int(chunk["start"] or 0)
            marks = [(s - base, e - base, "head") for s, e, _ in spans.get((row["head_id"], chunk_id), [])]
            marks += [(s - base, e - base, "tail") for s, e, _ in spans.get((row["tail_id"], chunk_id), [])]
            evidence.append(
                Evidence(str(chunk["title"] or ""), str(chunk["source"] or ""), tuple(highlight(chunk["text"] or "", marks)))
            )
        facts.append(
            FactView(
                head=str(row["head"]), head_type=str(row["head_type"]), type=str(row["type"]),
                tail=str(row["tail"]), tail_type=str(row["tail_type"]), score=float(row["score"] or 0.0),
                evidence=tuple(evidence),
            )
        )
    return facts


def _first_mentions(graph: Queryable, rows: list[dict[str, Any]], chunk_ids: dict[int, list[str]]) -> None:
    """For facts still without a sentence: the first sentence (in their documents) mentioning the head, then the tail."""
    missing = [i for i, ids in chunk_ids.items() if not ids]
    items = {
        (entity, tuple(sorted(rows[i]["doc_ids"] or ()))) for i in missing for entity in (rows[i]["head_id"], rows[i]["tail_id"])
    }
    if not items:
        return
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    found = graph.query(FIRST_MENTIONS, {"items": [{"entity": e, "docs": list(d)} for e, d in sorted(items)]})
    for row in found:  # ordered by position: keep the first per (entity, documents)
        first.setdefault((row["entity_id"], tuple(sorted(row["docs"] or ()))), row["chunk_id"])
    for i in missing:
        docs = tuple(sorted(rows[i]["doc_ids"] or ()))
        picked = [first.get((rows[i]["head_id"], docs)), first.get((rows[i]["tail_id"], docs))]
        chunk_ids[i] = list(dict.fromkeys(c for c in picked if c))
