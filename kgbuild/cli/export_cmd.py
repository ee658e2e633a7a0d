"""``kgbuild export --graph URI --format graphml|jsonl|neo4j-import --out PATH``."""

from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.errors import InputError


def export(
    graph: str = typer.Option("./kg", "--graph", "-g", help="Graph directory (embedded store) or a neo4j://, neo4j+s://, bolt:// or bolt+s:// URI."),
    fmt: str = typer.Option(..., "--format", "-f", help="graphml, jsonl, or neo4j-import (CSV files + the neo4j-admin command)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (graphml, jsonl) or directory (neo4j-import)."),
    user: str | None = typer.Option(None, "--user", envvar="NEO4J_USER", help="Neo4j user."),
    password: str | None = typer.Option(None, "--password", envvar="NEO4J_PASSWORD", help="Neo4j password."),
    database: str | None = typer.Option(None, "--database", envvar="NEO4J_DATABASE", help="Neo4j database name."),
) -> None:
    """Export the whole graph with its provenance."""
    from kgbuild.cli.query_cmd import require_graph
    from kgbuild.graph.export import FORMATS, export_graph

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "neo4j-import" and out.exists() and not out.is_dir():
        raise InputError(f"{out}: neo4j-import writes several CSV files; --out must be a directory")
    require_graph(graph)
    from kgbuild.graph import open_graph

    store = open_graph(graph, user=user, password=password, database=database, read_only=True)
    store.open()
    try:
        summary = export_graph(store, fmt, out)
    finally:
        store.close()
    typer.echo(f"{out}: {summary['nodes']} nodes, {summary['relationships']} relationships ({fmt})")
    if "command" in summary:
        typer.echo(f"load into an empty, stopped Neo4j with (from {out}): {summary['command']}")
