"""Export a graph (either store) as GraphML, JSON Lines, or CSV files for ``neo4j-admin database import full``.

Everything is read with the read-only queries of :mod:`kgbuild.graph.cypher`; ids are kgbuild's own
content ids, so exports from the embedded store and from Neo4j are the same.
"""

from __future__ import annotations

import csv
import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from kgbuild.errors import InputError
from kgbuild.graph import cypher as q
from kgbuild.graph.store import GraphStore

Format = Literal["graphml", "jsonl", "neo4j-import"]
FORMATS: tuple[str, ...] = ("graphml", "jsonl", "neo4j-import")
ARRAY_DELIMITER = "\x1f"  # ASCII unit separator: never inside names; neo4j-admin: --array-delimiter=U+001F


def _nodes(store: GraphStore) -> Iterator[tuple[str, list[str], dict[str, Any]]]:
    for r in store.query(q.EXPORT_DOCUMENTS):
        yield r["id"], ["Document"], {k: r[k] for k in ("id", "source", "title", "hash")}
    for r in store.query(q.EXPORT_CHUNKS):
        yield r["id"], ["Chunk"], {k: r[k] for k in ("id", "doc_id", "index", "start", "end", "text")}
    for r in store.query(q.EXPORT_ENTITIES):
        props = {k: r[k] for k in ("id", "name", "aliases", "type", "mention_count", "embedding") if r[k] is not None}
        yield r["id"], sorted(r["labels"]), props


def _relationships(store: GraphStore) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for r in store.query(q.EXPORT_HAS_CHUNK):
        yield r["start"], "HAS_CHUNK", r["end"], {}
    for r in store.query(q.EXPORT_MENTIONS):
        props = {"doc_id": r["doc_id"], "start": r["start_char"], "end": r["end_char"], "text": r["text"], "score": r["score"]}
        yield r["start"], "MENTIONED_IN", r["end"], props
    for r in store.query(q.EXPORT_FACTS):
        props = {"score": r["score"], "doc_ids": r["doc_ids"], "evidence_chunk_ids": r["evidence_chunk_ids"]}
        yield r["start"], r["type"], r["end"], props


def export_graph(store: GraphStore, fmt: str, out: Path) -> dict[str, Any]:
    """Write ``store`` to ``out`` in ``fmt``; returns counts (and, for neo4j-import, the import command)."""
    if fmt not in FORMATS:
        raise InputError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "graphml":
        return _graphml(store, out)
    if fmt == "jsonl":
        return _jsonl(store, out)
    return _neo4j_import(store, out)


def _graphml(store: GraphStore, out: Path) -> dict[str, Any]:
    """GraphML via networkx; list properties become JSON strings (GraphML has no list type)."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    for node_id, labels, props in _nodes(store):
        graph.add_node(node_id, labels=":".join(labels), **{k: _scalar(v) for k, v in props.items()})
    for start, rel, end, props in _relationships(store):
        graph.add_edge(start, end, type=rel, **{k: _scalar(v) for k, v in props.items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph, out)
    return {"nodes": graph.number_of_nodes(), "relationships": graph.number_of_edges(), "files": [str(out)]}


def _scalar(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


def _jsonl(store: GraphStore, out: Path) -> dict[str, Any]:
    """One JSON object per line: nodes first, then relationships (the shape of Neo4j's apoc JSON export)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    nodes = relationships = 0
    with out.open("w", encoding="utf-8") as f:
        for node_id, labels, props in _nodes(store):
            f.write(json.dumps({"type": "node", "id": node_id, "labels": labels, "properties": props}, ensure_ascii=False) + "\n")
            nodes += 1
        for start, rel, end, props in _relationships(store):
            row = {"type": "relationship", "label": rel, "start": start, "end": end, "properties": props}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            relationships += 1
    return {"nodes": nodes, "relationships": relationships, "files": [str(out)]}


def _neo4j_import(store: GraphStore, out: Path) -> dict[str, Any]:
    """CSV files with neo4j-admin headers, plus import.sh holding the ``neo4j-admin database import full`` command."""
    out.mkdir(parents=True, exist_ok=True)
    arr = ARRAY_DELIMITER.join

    def write(name: str, header: list[str], rows: Iterator[list[Any]]) -> int:
        count = 0
        with (out / name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                count += 1
        return count

    counts = {
        "documents": write(
            "documents.csv",
            ["id:ID(Document)", "source", "title", "hash", ":LABEL"],
            ([r["id"], r["source"], r["title"], r["hash"], "Document"] for r in store.query(q.EXPORT_DOCUMENTS)),
        ),
        "chunks": write(
            "chunks.csv",
            ["id:ID(Chunk)", "doc_id", "index:long", "start:long", "end:long", "text", ":LABEL"],
            ([r["id"], r["doc_id"], r["index"], r["start"], r["end"], r["text"], "Chunk"] for r in store.query(q.EXPORT_CHUNKS)),
        ),
        "entities": write(
            "entities.csv",
            ["id:ID(Entity)", "name", "aliases:string[]", "type", "mention_count:long", "embedding:float[]", ":LABEL"],
            (
                [
                    r["id"], r["name"], arr(r["aliases"] or []), r["type"], r["mention_count"],
                    arr(repr(float(x)) for x in r["embedding"]) if r["embedding"] is not None else None,
                    arr(sorted(r["labels"])),
                ]  # fmt: skip
                for r in store.query(q.EXPORT_ENTITIES)
            ),
        ),
        "has_chunk": write(
            "has_chunk.csv",
            [":START_ID(Document)", ":END_ID(Chunk)", ":TYPE"],
            ([r["start"], r["end"], "HAS_CHUNK"] for r in store.query(q.EXPORT_HAS_CHUNK)),
        ),
        "mentions": write(
            "mentions.csv",
            [":START_ID(Entity)", ":END_ID(Chunk)", "doc_id", "start:long", "end:long", "text", "score:double", ":TYPE"],
            (
                [r["start"], r["end"], r["doc_id"], r["start_char"], r["end_char"], r["text"], r["score"], "MENTIONED_IN"]
                for r in store.query(q.EXPORT_MENTIONS)
            ),
        ),
        "facts": write(
            "facts.csv",
            [":START_ID(Entity)", ":END_ID(Entity)", ":TYPE", "score:double", "doc_ids:string[]", "evidence_chunk_ids:string[]"],
            (
                [r["start"], r["end"], r["type"], r["score"], arr(r["doc_ids"] or []), arr(r["evidence_chunk_ids"] or [])]
                for r in store.query(q.EXPORT_FACTS)
            ),
        ),
    }
    command = import_command(out)
    script = out / "import.sh"
    script.write_text(
        "#!/usr/bin/env bash\n"
        "# Cold-load this export into an EMPTY, STOPPED Neo4j 5 database (here: 'neo4j'), then start Neo4j and create\n"
        "# kgbuild's constraints and indexes by opening it once with kgbuild (ensure_schema runs on build).\n"
        f"set -euo pipefail\ncd \"$(dirname \"$0\")\"\n{command}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    files = sorted(str(p) for p in out.iterdir())
    return {"nodes": counts["documents"] + counts["chunks"] + counts["entities"],
            "relationships": counts["has_chunk"] + counts["mentions"] + counts["facts"],
            "files": files, "command": command}  # fmt: skip


def import_command(directory: Path, database: str = "neo4j") -> str:
    """The ``neo4j-admin database import full`` command for the CSV files in ``directory`` (run from there)."""
    del directory  # the command uses relative paths: run it inside the export directory (import.sh does)
    parts = [
        "neo4j-admin", "database", "import", "full", database,
        "--nodes=documents.csv", "--nodes=chunks.csv", "--nodes=entities.csv",
        "--relationships=has_chunk.csv", "--relationships=mentions.csv", "--relationships=facts.csv",
        "--array-delimiter=U+001F", "--multiline-fields=true",  # chunk texts may hold line breaks
        "--overwrite-destination=false", "--verbose",
    ]  # fmt: skip
    return " ".join(shlex.quote(p) for p in parts)
