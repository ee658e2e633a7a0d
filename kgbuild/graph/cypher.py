"""Every Cypher statement the graph stores run, in one place.

Values always travel as parameters. The only text ever formatted into a statement is a label or a
relationship type that already passed :mod:`kgbuild.schema.graph` (``entity_label`` / ``relation_type``);
the builder functions below assert that shape again so that nothing else can slip in.
"""

from __future__ import annotations

import re

from kgbuild.schema.models import PASCAL_CASE, UPPER_SNAKE

# String literals and comments, blanked before looking for clauses (so 'LOAD CSV' inside a string is fine).
_LITERALS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/", re.DOTALL)
_LOAD_CSV = re.compile(r"\bLOAD\s+CSV\b", re.IGNORECASE)


def loads_external_data(cypher: str) -> bool:
    """Whether ``cypher`` has a LOAD CSV clause: it reads files or URLs *on the server*, so read-only
    queries refuse it (``kgbuild query`` without --write; docs/reliability.md)."""
    return bool(_LOAD_CSV.search(_LITERALS.sub(" ", cypher)))


def _label(label: str) -> str:
    if not PASCAL_CASE.match(label):
        raise ValueError(f"not a validated label: {label!r}")
    return label


def _rel(rel: str) -> str:
    if not UPPER_SNAKE.match(rel):
        raise ValueError(f"not a validated relationship type: {rel!r}")
    return rel

LOAD_CSV_REFUSED = (
    "the query uses LOAD CSV, which reads files or URLs on the database server; it is refused in read-only mode "
    "(pass --write, read_only=False, if you mean it)"
)


# ---------------------------------------------------------------- shared by both stores

COUNT_DOCUMENTS = "MATCH (d:Document) RETURN count(d) AS n"
COUNT_CHUNKS = "MATCH (c:Chunk) RETURN count(c) AS n"
COUNT_ENTITIES = "MATCH (e:Entity) RETURN count(e) AS n"
COUNT_MENTIONS = "MATCH ()-[r:MENTIONED_IN]->() RETURN count(r) AS n"
COUNT_HAS_CHUNK = "MATCH ()-[r:HAS_CHUNK]->() RETURN count(r) AS n"
COUNT_RELATIONSHIPS = "MATCH ()-[r]->() RETURN count(r) AS n"

MERGE_DOCUMENTS = (
    "UNWIND $rows AS row "
    "MERGE (d:Document {id: row.id}) "
    "SET d.source = row.source, d.title = row.title, d.hash = row.hash "
    "RETURN count(d) AS n"
)
MERGE_CHUNKS = (
    "UNWIND $rows AS row "
    "MATCH (d:Document {id: row.doc_id}) "
    "MERGE (c:Chunk {id: row.id}) "
    "SET c.doc_id = row.doc_id, c.index = row.index, c.start = row.start, c.end = row.end, c.text = row.text "
    "MERGE (d)-[:HAS_CHUNK]->(c) "
    "RETURN count(c) AS n"
)
_MERGE_MENTION_BODY = (
    "MATCH (e:Entity {id: row.entity_id}) "
    "MATCH (c:Chunk {id: row.chunk_id}) "
    "MERGE (e)-[m:MENTIONED_IN {start: row.start, end: row.end}]->(c) "
    "SET m.doc_id = row.doc_id, m.text = row.text, m.score = row.score "
    "RETURN count(m) AS n"
)
MERGE_MENTIONS = "UNWIND $rows AS row " + _MERGE_MENTION_BODY
# mention_count is always the number of MENTIONED_IN edges: set from them after each write (never added
# to), so a batch written twice (a kill between the store's commit and the ledger's) cannot inflate it.
RECOUNT_MENTIONS = (
    "UNWIND $ids AS id MATCH (e:Entity {id: id}) "
    "OPTIONAL MATCH (e)-[m:MENTIONED_IN]->(:Chunk) "
    "WITH e, count(m) AS n SET e.mention_count = n "
    "RETURN count(e) AS n"
)


def merge_entities(label: str) -> str:
    """Entities of one type: ``(:Entity:<label>)``, properties replaced by the given values.

    Both labels are in the MERGE pattern (adding a label to an existing node is slow in FalkorDB); entity
    ids are derived from the type, so an id never changes type.
    """
    return (
        "UNWIND $rows AS row "
        f"MERGE (e:Entity:{_label(label)} {{id: row.id}}) "
        "SET e.name = row.name, e.aliases = row.aliases, e.type = row.type, e.mention_count = row.mention_count "
        "WITH e, row WHERE row.embedding IS NOT NULL "
        "SET e.embedding = row.embedding "
        "RETURN count(*) AS n"
    )


# Facts are keyed by (head, type, tail): the highest score is kept, doc ids and evidence are unioned.
_MERGE_FACT_TAIL = (
    "ON CREATE SET r.score = row.score, r.doc_ids = row.doc_ids, r.evidence_chunk_ids = row.evidence "
    "ON MATCH SET r.score = CASE WHEN row.score > r.score THEN row.score ELSE r.score END, "
    "r.doc_ids = coalesce(r.doc_ids, []) + [x IN row.doc_ids WHERE NOT x IN coalesce(r.doc_ids, [])], "
    "r.evidence_chunk_ids = coalesce(r.evidence_chunk_ids, []) "
    "+ [x IN row.evidence WHERE NOT x IN coalesce(r.evidence_chunk_ids, [])] "
    "RETURN count(r) AS n"
)


def merge_facts(rel: str) -> str:
    """Facts of one relation type (the embedded store; Neo4j before 5.26)."""
    return (
        "UNWIND $rows AS row "
        "MATCH (h:Entity {id: row.h}) "
        "MATCH (t:Entity {id: row.t}) "
        f"MERGE (h)-[r:{_rel(rel)}]->(t) " + _MERGE_FACT_TAIL
    )


# delete_document, run in this order inside one transaction.
DOCUMENT_CHUNK_IDS = "MATCH (d:Document {id: $doc_id})-[:HAS_CHUNK]->(c:Chunk) RETURN c.id AS id"
DELETE_FACTS_ONLY_FROM = (
    "MATCH (:Entity)-[r]->(:Entity) WHERE $doc_id IN r.doc_ids AND all(x IN r.doc_ids WHERE x = $doc_id) "
    "DELETE r RETURN count(*) AS n"
)
UNLINK_FACTS_FROM = (
    "MATCH (:Entity)-[r]->(:Entity) WHERE $doc_id IN r.doc_ids "
    "SET r.doc_ids = [x IN r.doc_ids WHERE x <> $doc_id], "
    "r.evidence_chunk_ids = [x IN coalesce(r.evidence_chunk_ids, []) WHERE NOT x IN $chunk_ids] "
    "RETURN count(r) AS n"
)
MENTIONING_ENTITIES_OF = (
    "MATCH (:Document {id: $doc_id})-[:HAS_CHUNK]->(:Chunk)<-[:MENTIONED_IN]-(e:Entity) RETURN DISTINCT e.id AS id"
)
DELETE_MENTIONS_OF = (
    "MATCH (:Document {id: $doc_id})-[:HAS_CHUNK]->(:Chunk)<-[m:MENTIONED_IN]-(:Entity) DELETE m RETURN count(*) AS n"
)
DELETE_UNSUPPORTED_ENTITIES = (
    "UNWIND $ids AS id MATCH (e:Entity {id: id}) "
    "OPTIONAL MATCH (e)-[x]-() WITH e, count(x) AS degree WHERE degree = 0 "
    "DELETE e RETURN count(*) AS n"
)
DELETE_DOCUMENT_NODES = (
    "MATCH (d:Document {id: $doc_id}) OPTIONAL MATCH (d)-[:HAS_CHUNK]->(c:Chunk) "
    "DETACH DELETE c, d RETURN count(*) AS n"
)

FETCH_ALL_ENTITIES = (
    "MATCH (e:Entity) RETURN e.id AS id, e.type AS type, e.name AS name, e.aliases AS aliases, "
    "e.embedding AS embedding, e.mention_count AS mention_count"
)


def fetch_entities(label: str) -> str:
    return (
        f"MATCH (e:{_label(label)}) RETURN e.id AS id, e.type AS type, e.name AS name, e.aliases AS aliases, "
        "e.embedding AS embedding, e.mention_count AS mention_count"
    )


# ---------------------------------------------------------------- Neo4j only

# Prefix of Neo4j's write statements: reuse the cached plan although the graph's statistics change as it
# grows. The plans (unique-index seeks, then an expand-into) do not depend on those statistics, and each
# relation type has its own statement, so replanning them all mid-build cost seconds per call (measured).
NEO4J_REUSE_PLAN = "CYPHER replan=skip "

# Facts of every relation type in one statement (Neo4j 5.26+), parameters as columns: one list per field
# ($h, $t, $type, $score, $doc_ids, $evidence) rather than a list of maps, which the server unpacks 2.5x faster
# (benchmarks/graph_write.py, docs/stores.md). ``$type`` holds relation types that passed the schema
# (``relation_type``); a dynamic type is a value, never text in the statement.
NEO4J_MERGE_FACTS = (
    "UNWIND range(0, size($h) - 1) AS i "
    "WITH {h: $h[i], t: $t[i], score: $score[i], doc_ids: $doc_ids[i], evidence: $evidence[i]} AS row, $type[i] AS type "
    "MATCH (h:Entity {id: row.h}) "
    "MATCH (t:Entity {id: row.t}) "
    "MERGE (h)-[r:$(type)]->(t) " + _MERGE_FACT_TAIL
)
NEO4J_FACT_COLUMNS = ("h", "t", "type", "score", "doc_ids", "evidence")
# Mentions the same way (``MERGE_MENTIONS`` over columns).
NEO4J_MERGE_MENTIONS = (
    "UNWIND range(0, size($entity_id) - 1) AS i "
    "WITH {entity_id: $entity_id[i], chunk_id: $chunk_id[i], doc_id: $doc_id[i], start: $start[i], end: $end[i], "
    "text: $text[i], score: $score[i]} AS row " + _MERGE_MENTION_BODY
)
NEO4J_MENTION_COLUMNS = ("entity_id", "chunk_id", "doc_id", "start", "end", "text", "score")

# The build lock (Neo4j): one node, unique by name, so two machines building into one database see it.
# Taken when free, when already ours, when its holder stopped beating for $stale_ms (a killed build), or when
# it is $dead_owner's: a build on this host whose process is gone.
NEO4J_LOCK_CONSTRAINT = "CREATE CONSTRAINT kgbuild_lock IF NOT EXISTS FOR (l:KgbuildLock) REQUIRE l.name IS UNIQUE"
NEO4J_TAKE_LOCK = (
    "MERGE (l:KgbuildLock {name: 'build'}) "
    "ON CREATE SET l.owner = $owner, l.holder = $holder, l.host = $host, l.pid = $pid, l.since = timestamp(), "
    "l.heartbeat = timestamp() "
    "WITH l WHERE l.owner = $owner OR l.heartbeat < timestamp() - $stale_ms OR l.owner = $dead_owner "
    "SET l.owner = $owner, l.holder = $holder, l.host = $host, l.pid = $pid, l.since = timestamp(), "
    "l.heartbeat = timestamp() "
    "RETURN l.owner AS owner"
)
NEO4J_LOCK_HOLDER = (
    "MATCH (l:KgbuildLock {name: 'build'}) "
    "RETURN l.owner AS owner, l.holder AS holder, l.host AS host, l.pid AS pid, "
    "(timestamp() - l.since) / 1000 AS held_s, (timestamp() - l.heartbeat) / 1000 AS quiet_s"
)
NEO4J_BEAT_LOCK = "MATCH (l:KgbuildLock {name: 'build', owner: $owner}) SET l.heartbeat = timestamp() RETURN count(l) AS n"
NEO4J_RELEASE_LOCK = "MATCH (l:KgbuildLock {name: 'build', owner: $owner}) DELETE l RETURN count(*) AS n"

NEO4J_UNIQUE = {
    "Document": "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (n:Document) REQUIRE n.id IS UNIQUE",
    "Chunk": "CREATE CONSTRAINT chunk_id IF NOT EXISTS FOR (n:Chunk) REQUIRE n.id IS UNIQUE",
    "Entity": "CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE",
}


def neo4j_unique_per_label(label: str) -> str:
    """Uniqueness of entity ids per type label (also the index behind ``MATCH (p:Person {id: ...})``)."""
    label = _label(label)
    return f"CREATE CONSTRAINT entity_id_{label} IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE"


def neo4j_vector_index_name(label: str) -> str:
    return f"entity_embedding_{_label(label)}"


def neo4j_vector_index(label: str) -> str:
    """A cosine vector index per entity type, so a type's top-k is exact (no post-filtering)."""
    label = _label(label)
    return (
        f"CREATE VECTOR INDEX {neo4j_vector_index_name(label)} IF NOT EXISTS FOR (n:{label}) ON (n.embedding) "
        "OPTIONS {indexConfig: {`vector.dimensions`: $dims, `vector.similarity_function`: 'cosine'}}"
    )


NEO4J_AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
# Neo4j's cosine score is (1 + cos) / 2; callers get the cosine back.
NEO4J_SIMILAR = (
    "UNWIND range(0, size($vectors) - 1) AS i "
    "CALL db.index.vector.queryNodes($index, $k, $vectors[i]) YIELD node, score "
    "RETURN i, node.id AS id, node.type AS type, node.name AS name, node.aliases AS aliases, "
    "node.embedding AS embedding, node.mention_count AS mention_count, 2 * score - 1 AS similarity "
    "ORDER BY i, similarity DESC"
)

NEO4J_SIMILAR_IDS = (
    "UNWIND range(0, size($vectors) - 1) AS i "
    "CALL db.index.vector.queryNodes($index, $k, $vectors[i]) YIELD node, score "
    "RETURN i, node.id AS id, 2 * score - 1 AS similarity ORDER BY i, similarity DESC"
)


# ---------------------------------------------------------------- embedded store (FalkorDB) only

GRAPH_NAME = "kg"
FALKOR_LIST_INDEXES = "CALL db.indexes() YIELD label, properties, types RETURN label, properties, types"


def falkor_range_index(label: str) -> str:
    """An exact-match index on ``id`` (FalkorDB's unique constraints need one first)."""
    return f"CREATE INDEX FOR (n:{_label(label)}) ON (n.id)"


def falkor_unique_constraint(label: str) -> list[str]:
    """The GRAPH.CONSTRAINT command (not Cypher) for a unique ``id`` per label, as arguments."""
    return ["GRAPH.CONSTRAINT", "CREATE", GRAPH_NAME, "UNIQUE", "NODE", _label(label), "PROPERTIES", "1", "id"]


def falkor_vector_index(label: str) -> str:
    """A cosine vector index per entity type (dimension is an int from the store's settings, never user text)."""
    return (
        f"CREATE VECTOR INDEX FOR (n:{_label(label)}) ON (n.embedding) "
        "OPTIONS {dimension: $dims, similarityFunction: 'cosine'}"
    )


def falkor_merge_entities(label: str) -> str:
    """As :func:`merge_entities`; embeddings are stored as ``vecf32`` so the vector index sees them."""
    return (
        "UNWIND $rows AS row "
        f"MERGE (e:Entity:{_label(label)} {{id: row.id}}) "
        "SET e.name = row.name, e.aliases = row.aliases, e.type = row.type, e.mention_count = row.mention_count "
        "WITH e, row WHERE row.embedding IS NOT NULL "
        "SET e.embedding = vecf32(row.embedding) "
        "RETURN count(*) AS n"
    )


# FalkorDB's cosine "score" is a distance (1 - cos).
FALKOR_SIMILAR = (
    "CALL db.idx.vector.queryNodes($label, 'embedding', $k, vecf32($vector)) YIELD node, score "
    "RETURN node.id AS id, node.type AS type, node.name AS name, node.aliases AS aliases, "
    "node.embedding AS embedding, node.mention_count AS mention_count, 1 - score AS similarity "
    "ORDER BY similarity DESC"
)

# Every vector's neighbours in one statement, ids only (fusion holds the entities themselves).
FALKOR_SIMILAR_IDS = (
    "UNWIND range(0, size($vectors) - 1) AS i "
    "CALL db.idx.vector.queryNodes($label, 'embedding', $k, vecf32($vectors[i])) YIELD node, score "
    "RETURN i, node.id AS id, 1 - score AS similarity ORDER BY i, similarity DESC"
)


# ---------------------------------------------------------------- export (both stores)

EXPORT_DOCUMENTS = "MATCH (d:Document) RETURN d.id AS id, d.source AS source, d.title AS title, d.hash AS hash ORDER BY id"
EXPORT_CHUNKS = (
    "MATCH (c:Chunk) RETURN c.id AS id, c.doc_id AS doc_id, c.index AS index, c.start AS start, c.end AS end, "
    "c.text AS text ORDER BY id"
)
EXPORT_ENTITIES = (
    "MATCH (e:Entity) RETURN e.id AS id, labels(e) AS labels, e.name AS name, e.aliases AS aliases, e.type AS type, "
    "e.mention_count AS mention_count, e.embedding AS embedding ORDER BY id"
)
EXPORT_HAS_CHUNK = "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) RETURN d.id AS start, c.id AS end ORDER BY start, end"
EXPORT_MENTIONS = (
    "MATCH (e:Entity)-[m:MENTIONED_IN]->(c:Chunk) RETURN e.id AS start, c.id AS end, m.doc_id AS doc_id, "
    "m.start AS start_char, m.end AS end_char, m.text AS text, m.score AS score ORDER BY start, end, start_char"
)
EXPORT_FACTS = (
    "MATCH (h:Entity)-[r]->(t:Entity) RETURN h.id AS start, type(r) AS type, t.id AS end, r.score AS score, "
    "r.doc_ids AS doc_ids, r.evidence_chunk_ids AS evidence_chunk_ids ORDER BY start, type, end"
)
