"""``kgbuild report GRAPH --out report.html``: one self-contained HTML page describing a built graph."""

from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.errors import KgbuildError


def report(
    graph: str = typer.Argument("./kg", help="Graph directory (embedded store) or a neo4j://, neo4j+s://, bolt:// or bolt+s:// URI."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="Where to write the HTML page."),
    top: int = typer.Option(20, "--top", min=1, help="How many of the most connected entities to list."),
    graph_nodes: int = typer.Option(60, "--graph-nodes", min=1, help="Entities in the interactive graph view."),
    max_facts: int = typer.Option(500, "--max-facts", min=0, help="Facts listed with their source sentences."),
    user: str | None = typer.Option(None, "--user", envvar="NEO4J_USER", help="Neo4j user."),
    password: str | None = typer.Option(None, "--password", envvar="NEO4J_PASSWORD", help="Neo4j password."),
    database: str | None = typer.Option(None, "--database", help="Neo4j database name."),
) -> None:
    """Write an HTML report: counts per type, the most connected entities, a graph view, facts with their sentences."""
    if "://" not in graph and not Path(graph).is_dir():
        raise KgbuildError(f"{graph}: no graph directory here; build one first with: kgbuild build DOCS --graph {graph}")
    from kgbuild.graph import open_graph
    from kgbuild.report import write_report

    store = open_graph(graph, user=user, password=password, database=database, read_only=True)
    store.open()
    try:
        data = write_report(store, graph, out, top=top, view_nodes=graph_nodes, max_facts=max_facts)
    finally:
        store.close()
    totals = ", ".join(f"{value} {key}" for key, value in data.totals.items())
    typer.echo(f"{out}: report on {graph} ({totals})")
