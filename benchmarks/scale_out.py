"""Past one machine, measured: the local engine against the Ray engine (1 and 2 workers), and the bulk cold load
against the transactional writer, in one run.

1. Build the same corpus (default: 40 Re-DocRED dev documents as text files) with ``engine="local"``, then
   ``engine="ray"`` with 1 and 2 workers, each into a fresh embedded graph; print documents/s and tokens/s of the
   build itself (model loading and Ray start-up excluded for every engine alike). The three graphs must be the same.
   Ray runs a private cluster on this machine unless ``--ray-address`` names one.
2. Write one synthetic graph (benchmarks/graph_write.py's generator; default 20k entities, 60k facts with
   provenance) into a real Neo4j 5.26 with kgbuild's transactional writer, export it with
   ``kgbuild export --format neo4j-import`` and load it with ``neo4j-admin database import full`` into an empty
   database; print facts/s of both (the whole graph's load time, divided by its facts).

The machine's load average is printed with the figures: on a shared machine every way slows alike.

    python benchmarks/scale_out.py
    python benchmarks/scale_out.py --docs 20 --scale 0.05   # quicker
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console()


def load_graph_write() -> Any:
    spec = importlib.util.spec_from_file_location("graph_write", REPO / "benchmarks" / "graph_write.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_corpus(out: Path, count: int, data: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(json.loads(data.read_text())[:count]):
        text = " ".join(" ".join(sentence) for sentence in doc["sents"])
        (out / f"{i:03d}.txt").write_text(f"{doc['title']}\n\n{text}\n", encoding="utf-8")
    return out


def dump(graph: Path) -> tuple[Any, ...]:
    from kgbuild.api import open_graph

    store = open_graph(graph)
    store.open()
    try:
        return (
            store.stats(),
            store.query("MATCH (e:Entity) RETURN e.id AS id, e.name AS name, e.type AS type ORDER BY id"),
            store.query("MATCH (h:Entity)-[r]->(t:Entity) RETURN h.id AS h, type(r) AS r, t.id AS t, r.score AS s ORDER BY h, r, t"),
        )
    finally:
        store.close()


def engines(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    from kgbuild.api import build

    corpus = args.corpus or write_corpus(tmp / "corpus", args.docs, args.data / "re-docred" / "dev_100.json")
    runs = [("local", 1), ("ray", 1), ("ray", 2)]
    rows, dumps = [], []
    for engine, workers in runs:
        graph = tmp / f"kg-{engine}-{workers}"
        console.print(f"building {corpus} with engine={engine} workers={workers} (load average {os.getloadavg()[0]:.1f}) ...")
        summary = build(corpus, model=args.model, graph=graph, batch_size=args.batch_size, show_progress=False,
                        engine=engine, workers=workers, ray_address=args.ray_address)  # fmt: skip
        rows.append({"engine": engine, "workers": workers, "documents": summary.processed, "tokens": summary.tokens,
                     "seconds": summary.seconds, "docs_s": summary.processed / summary.seconds,
                     "tokens_s": summary.tokens_per_second, "load": os.getloadavg()[0],
                     "stages": dict(summary.stage_seconds)})  # fmt: skip
        dumps.append(dump(graph))
    rows[0]["same_graph"] = True
    for row, other in zip(rows[1:], dumps[1:]):
        row["same_graph"] = other == dumps[0]
    return rows


def bulk_vs_transactional(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    from kgbuild.graph.export import export_graph
    from kgbuild.graph.neo4j_store import Neo4jStore
    from kgbuild.schema.load import load_schema
    from kgbuild.testing.neo4j_server import Neo4jServer, bulk_import

    gw = load_graph_write()
    schema = load_schema(REPO / "schemas" / "default.yaml")
    n_entities, n_facts = int(100_000 * args.scale), int(300_000 * args.scale)
    docs, entities, mentions, facts = gw.synthetic(schema, n_entities, n_facts)
    console.print(f"graph: {n_entities:,} entities, {n_facts:,} facts, {len(docs):,} documents; starting Neo4j 5.26 ...")
    server = Neo4jServer(tmp / "neo4j", heap=args.heap)
    uri = server.start()
    try:
        store = Neo4jStore(uri)
        store.open()
        store.ensure_schema(schema)
        started = time.perf_counter()
        store.upsert_documents(docs)
        store.upsert_entities(entities)
        store.upsert_mentions(mentions)
        store.upsert_facts(facts)
        transactional = time.perf_counter() - started
        assert store.stats()["facts"] == n_facts
        started = time.perf_counter()
        export_graph(store, "neo4j-import", tmp / "import")
        export_seconds = time.perf_counter() - started
        store.close()
    finally:
        server.stop()
    console.print(f"transactional write: {transactional:.1f} s; export: {export_seconds:.1f} s; running neo4j-admin import ...")
    bulk = bulk_import(tmp / "import", tmp / "bulk")
    with Neo4jServer(tmp / "bulk", heap=args.heap) as imported:
        from kgbuild.graph import open_graph

        check = open_graph(imported.uri)
        check.open()
        stats = check.stats()
        check.close()
    assert stats["facts"] == n_facts and stats["entities"] == n_entities, stats
    return {"facts": n_facts, "transactional_s": transactional, "bulk_s": bulk, "export_s": export_seconds,
            "transactional_facts_s": n_facts / transactional, "bulk_facts_s": n_facts / bulk,
            "bulk_with_export_facts_s": n_facts / (bulk + export_seconds)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=40, help="Re-DocRED dev documents in the corpus")
    parser.add_argument("--corpus", type=Path, default=None, help="build this folder instead")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("KGBUILD_DATA", "/work/shared/data")))
    parser.add_argument("--model", default="conll04")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--ray-address", default=None, help="a running Ray cluster (default: a private one here)")
    parser.add_argument("--scale", type=float, default=0.2, help="bulk graph: 1.0 = 100k entities and 300k facts")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--skip-bulk", action="store_true")
    parser.add_argument("--skip-engines", action="store_true", help="only the bulk load against the writer")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    console.print(f"[bold]scale_out[/]: load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="kgbuild-scale-") as tmp_name:
        tmp = Path(tmp_name)
        rows = [] if args.skip_engines else engines(args, tmp)
        bulk = None if args.skip_bulk else bulk_vs_transactional(args, tmp)

    if rows:
        print_engines(rows, args)
    if bulk:
        print_bulk(bulk)
    console.print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps({"engines": rows, "bulk": bulk}, indent=2))


def print_engines(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    table = Table(title=f"engines: {rows[0]['documents']} documents, {rows[0]['tokens']:,} word tokens, model {args.model}")
    for column in ("engine", "workers", "seconds", "documents/s", "tokens/s", "vs local", "same graph", "load avg"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row["engine"], str(row["workers"]), f"{row['seconds']:.1f}", f"{row['docs_s']:.2f}", f"{row['tokens_s']:,.0f}",
                      f"{row['tokens_s'] / rows[0]['tokens_s']:.0%}", "yes" if row["same_graph"] else "NO", f"{row['load']:.1f}")  # fmt: skip
    console.print(table)
    for row in rows:  # where the time goes; on the Ray rows, the driver's wait for the workers
        stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in row["stages"].items())
        console.print(f"  {row['engine']} x{row['workers']}: {stages}")


def print_bulk(bulk: dict[str, float]) -> None:
    table = Table(title=f"cold load of one graph with {bulk['facts']:,} facts into Neo4j 5.26")
    for column in ("way", "seconds", "facts/s", "vs transactional"):
        table.add_column(column, justify="right")
    base = bulk["transactional_facts_s"]
    table.add_row("transactional writer (Neo4jStore)", f"{bulk['transactional_s']:.1f}", f"{base:,.0f}", "1.0x")
    table.add_row("neo4j-admin database import full", f"{bulk['bulk_s']:.1f}", f"{bulk['bulk_facts_s']:,.0f}", f"{bulk['bulk_facts_s'] / base:.1f}x")
    table.add_row("  + the export before it", f"{bulk['bulk_s'] + bulk['export_s']:.1f}", f"{bulk['bulk_with_export_facts_s']:,.0f}",
                  f"{bulk['bulk_with_export_facts_s'] / base:.1f}x")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
