"""How fast do facts with provenance go into the graph? kgbuild's writer against the usual ways, in one run.

One synthetic graph (default: 100k entities, 300k facts, each fact carrying its document ids and evidence chunk
ids; plus the documents, sentence chunks and 2 mentions per entity they hang from) is written:

1. into Neo4j, per-row MERGE, one transaction per fact (a sample, extrapolated, and labelled so);
2. into Neo4j, the neo4j-graphrag ``Neo4jWriter`` pattern: 1,000-row UNWIND batches with a per-row merge of a
   dynamically typed relationship (``apoc.merge.relationship``; reimplemented without APOC as Neo4j 5.26's
   ``MERGE (a)-[r:$(row.type)]->(b) SET r += row.properties``) returning each relationship's id;
3. into Neo4j by kgbuild's writer (``Neo4jStore.upsert_facts``), then once more (an idempotent rewrite);
4. into Neo4j as bare relationships: one stream of ``UNWIND ... CREATE`` with no properties and no MERGE, which is
   not a way to write facts (no provenance, not idempotent) but shows what the server spends per relationship here;
5. into the embedded store (``EmbeddedStore.upsert_facts``).

The bulk Neo4j ways run in alternating rounds (best reported), and all Neo4j ways start from the same state (facts wiped in between; entities, chunks and mentions stay) on a
real Neo4j 5.26 started here from tools/neo4j. Figures are wall-clock rows/s on this machine, printed with its
load average, since other work on the machine slows every way alike.

    python benchmarks/graph_write.py              # full size (several minutes)
    python benchmarks/graph_write.py --scale 0.1  # 10k entities, 30k facts
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from kgbuild.graph import cypher as q  # noqa: E402
from kgbuild.graph.embedded_store import EmbeddedStore  # noqa: E402
from kgbuild.graph.neo4j_store import Neo4jStore  # noqa: E402
from kgbuild.graph.rows import fact_rows  # noqa: E402
from kgbuild.records import Document, Entity, Fact, MentionLink, SegmentedDocument, Sentence  # noqa: E402
from kgbuild.schema.graph import relation_type  # noqa: E402
from kgbuild.schema.load import load_schema  # noqa: E402
from kgbuild.schema.models import Schema  # noqa: E402
from kgbuild.testing.neo4j_server import Neo4jServer  # noqa: E402

console = Console()
SENTENCES_PER_DOC = 5
FACTS_PER_DOC = 30
# The baselines' Cypher (not kgbuild's: that lives in kgbuild/graph/cypher.py).
GRAPHRAG_UPSERT = (
    "UNWIND $rows AS row "
    "MATCH (start:Entity {id: row.start_node_id}) MATCH (end:Entity {id: row.end_node_id}) "
    "MERGE (start)-[rel:$(row.type)]->(end) SET rel += row.properties "
    "RETURN elementId(rel) AS id"
)
BARE_CREATE = (
    "UNWIND range(0, size($h) - 1) AS i MATCH (h:Entity {id: $h[i]}) MATCH (t:Entity {id: $t[i]}) "
    "CREATE (h)-[:$($type[i])]->(t)"
)
WIPE_FACTS = "MATCH (:Entity)-[r]->(:Entity) CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS"


def synthetic(schema: Schema, entities: int, facts: int, seed: int = 7) -> tuple[list[SegmentedDocument], list[Entity], list[MentionLink], list[Fact]]:
    """Documents of 5 sentences, entities of every type with 2 mentions each, distinct random facts."""
    rng = random.Random(seed)
    types = list(schema.entity_names)
    relations = list(schema.relation_names)
    ents = [Entity(f"ent_{i:08d}", types[i % len(types)], f"Entity {i}", (f"E{i}",), None, 2) for i in range(entities)]
    docs: list[SegmentedDocument] = []
    for d in range(max(1, facts // FACTS_PER_DOC)):
        pieces = [f"Sentence {s} of document {d}, which mentions a few entities." for s in range(SENTENCES_PER_DOC)]
        doc = Document.from_text(" ".join(pieces), f"synthetic/{d}.txt", f"Document {d}")
        sentences, start = [], 0
        for i, piece in enumerate(pieces):
            sentences.append(Sentence(doc.id, i, start, start + len(piece), piece))
            start += len(piece) + 1
        docs.append(SegmentedDocument(doc, tuple(sentences), (), ()))
    mentions = []
    for i, e in enumerate(ents):
        for j in range(2):
            sd = docs[(2 * i + j) % len(docs)]
            s = sd.sentences[(i + j) % SENTENCES_PER_DOC]
            mentions.append(MentionLink(e.id, s.chunk_id, sd.document.id, s.start, s.start + 8, s.text[:8], 0.9))
    out: list[Fact] = []
    seen: set[tuple[int, str, int]] = set()
    while len(out) < facts:
        h, t, rel = rng.randrange(entities), rng.randrange(entities), relations[rng.randrange(len(relations))]
        if h == t or (h, rel, t) in seen:
            continue
        seen.add((h, rel, t))
        sd = docs[rng.randrange(len(docs))]
        chunk = sd.sentences[rng.randrange(SENTENCES_PER_DOC)].chunk_id
        out.append(Fact(ents[h].id, rel, ents[t].id, round(rng.random(), 3), (sd.document.id,), (chunk,)))
    return docs, ents, mentions, out


def timed(label: str, rows: int, fn: Callable[[], Any]) -> float:
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
        bar.add_task(label, total=None)
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    console.print(f"  {label}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f}/s")
    return seconds


def neo4j_facts(driver: Any) -> int:
    return int(driver.execute_query("MATCH (:Entity)-[r]->(:Entity) RETURN count(r) AS n").records[0]["n"])


def wipe(driver: Any) -> None:
    with driver.session() as session:
        session.run(WIPE_FACTS).consume()


def per_row(driver: Any, schema: Schema, facts: list[Fact]) -> None:
    """One transaction per fact, the same MERGE as kgbuild's but for a single row."""
    with driver.session() as session:
        for fact in facts:
            for rel, rows in fact_rows(schema, [fact]).items():
                session.execute_write(lambda tx, c=q.merge_facts(rel), r=rows: tx.run(c, rows=r).consume())


def graphrag(driver: Any, facts: list[Fact], batch: int = 1000) -> None:
    """neo4j-graphrag's Neo4jWriter: 1,000-row batches, per-row dynamically typed merge, ids returned."""
    rows = [
        {
            "start_node_id": f.head_id,
            "end_node_id": f.tail_id,
            "type": f.type,
            "properties": {"score": f.score, "doc_ids": list(f.doc_ids), "evidence_chunk_ids": list(f.evidence_chunk_ids)},
        }
        for f in facts
    ]
    with driver.session() as session:
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            session.execute_write(lambda tx, p=part: [r["id"] for r in tx.run(GRAPHRAG_UPSERT, rows=p)])


def bare_create(driver: Any, schema: Schema, facts: list[Fact], batch: int = 10_000) -> None:
    """Relationships only, no properties, no MERGE, columns as parameters: a floor under any real writer's cost."""
    rows = [(f.head_id, relation_type(schema, f.type), f.tail_id) for f in facts]
    with driver.session() as session:
        for i in range(0, len(rows), batch):
            h, type_, t = (list(column) for column in zip(*rows[i : i + batch]))
            session.execute_write(lambda tx, p={"h": h, "type": type_, "t": t}: tx.run(BARE_CREATE, p).consume())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100k entities and 300k facts")
    parser.add_argument("--per-row-sample", type=int, default=2000, help="facts written one transaction each")
    parser.add_argument("--batch-size", type=int, default=None, help="kgbuild's rows per transaction (default: the store's)")
    parser.add_argument("--heap", default="2g", help="Neo4j JVM heap")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the two bulk ways; best is reported")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    schema = load_schema(REPO / "schemas" / "default.yaml")
    n_entities, n_facts = int(100_000 * args.scale), int(300_000 * args.scale)
    console.print(f"[bold]graph_write[/]: {n_entities:,} entities, {n_facts:,} facts with provenance; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    docs, entities, mentions, facts = synthetic(schema, n_entities, n_facts)
    chunks = sum(len(d.sentences) for d in docs)
    sample = facts[: min(args.per_row_sample, len(facts))]
    results: dict[str, float] = {}

    with tempfile.TemporaryDirectory(prefix="kgbuild-bench-") as tmp:
        server = Neo4jServer(Path(tmp) / "neo4j", heap=args.heap)
        console.print("starting Neo4j 5.26 (tools/neo4j) ...")
        uri = server.start()
        try:
            import neo4j

            store = Neo4jStore(uri) if args.batch_size is None else Neo4jStore(uri, batch_size=args.batch_size)
            store.open()
            store.ensure_schema(schema)
            console.print("[bold]Neo4j, provenance first (kgbuild's writer)[/]")
            timed(f"documents + {chunks:,} chunks", len(docs) + chunks, lambda: store.upsert_documents(docs))
            timed("entities", len(entities), lambda: store.upsert_entities(entities))
            timed("mentions", len(mentions), lambda: store.upsert_mentions(mentions))
            driver = neo4j.GraphDatabase.driver(uri, notifications_min_severity="OFF")
            warm = facts[: min(5000, len(facts))]
            graphrag(driver, warm)  # warm the JVM and the plan caches for the bulk ways
            store.upsert_facts(warm)
            bare_create(driver, schema, warm)
            wipe(driver)

            console.print("[bold]Neo4j, facts[/]")
            seconds = timed(f"per-row MERGE, a transaction per fact (sample of {len(sample):,})", len(sample), lambda: per_row(driver, schema, sample))
            results["per_row"] = len(sample) / seconds
            for round_ in range(1, args.rounds + 1):  # the machine is shared: best of alternating rounds
                console.print(f"round {round_} of {args.rounds}")
                wipe(driver)
                seconds = timed("neo4j-graphrag Neo4jWriter pattern (1,000-row batches)", n_facts, lambda: graphrag(driver, facts))
                results["graphrag"] = max(results.get("graphrag", 0.0), n_facts / seconds)
                assert neo4j_facts(driver) == n_facts
                wipe(driver)
                seconds = timed(f"kgbuild Neo4jStore.upsert_facts (batch {store.batch_size:,})", n_facts, lambda: store.upsert_facts(facts))
                results["kgbuild"] = max(results.get("kgbuild", 0.0), n_facts / seconds)
                seconds = timed("kgbuild rewrite of the same facts (idempotent)", n_facts, lambda: store.upsert_facts(facts))
                results["kgbuild_rewrite"] = max(results.get("kgbuild_rewrite", 0.0), n_facts / seconds)
                assert neo4j_facts(driver) == n_facts, "a rewrite must not add relationships"
                wipe(driver)
                seconds = timed("bare UNWIND ... CREATE, no properties (not a writer: a floor)", n_facts, lambda: bare_create(driver, schema, facts))
                results["bare_create"] = max(results.get("bare_create", 0.0), n_facts / seconds)
            driver.close()
            store.close()
        finally:
            server.stop()

        console.print("[bold]Embedded store (FalkorDB)[/]")
        with EmbeddedStore(Path(tmp) / "kg") as embedded:
            embedded.ensure_schema(schema)
            timed(f"documents + {chunks:,} chunks", len(docs) + chunks, lambda: embedded.upsert_documents(docs))
            timed("entities", len(entities), lambda: embedded.upsert_entities(entities))
            timed("mentions", len(mentions), lambda: embedded.upsert_mentions(mentions))
            seconds = timed("EmbeddedStore.upsert_facts", n_facts, lambda: embedded.upsert_facts(facts))
            results["embedded"] = n_facts / seconds
            assert embedded.stats()["facts"] == n_facts

    table = Table(title=f"{n_facts:,} facts with provenance, best of {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f})")
    for column in ("way", "facts/s", "vs graphrag pattern"):
        table.add_column(column, justify="right" if column != "way" else "left")
    rows = [
        ("Neo4j per-row MERGE, tx per fact (extrapolated from a sample)", "per_row"),
        ("Neo4j neo4j-graphrag Neo4jWriter pattern", "graphrag"),
        ("Neo4j kgbuild writer", "kgbuild"),
        ("Neo4j kgbuild writer, idempotent rewrite", "kgbuild_rewrite"),
        ("Neo4j bare CREATE, no properties, one stream (a floor, not a writer)", "bare_create"),
        ("embedded store (FalkorDB)", "embedded"),
    ]
    for label, key in rows:
        table.add_row(label, f"{results[key]:,.0f}", f"{results[key] / results['graphrag']:.2f}x")
    console.print(table)
    console.print(f"per-row MERGE would need {n_facts / results['per_row'] / 60:,.1f} min for all {n_facts:,} facts (extrapolated)")
    if args.json:
        args.json.write_text(json.dumps({"entities": n_entities, "facts": n_facts, "facts_per_s": results}, indent=2))


if __name__ == "__main__":
    main()
