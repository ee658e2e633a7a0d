"""``kgbuild query CYPHER [--graph URI] [--json] [--write] [--param k=v]``: run Cypher on either store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from kgbuild.errors import InputError, KgbuildError


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; a value that parses as JSON (numbers, lists, true/false/null, "quoted") is taken as such."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {pair!r}: expected NAME=VALUE, e.g. --param name=Ada")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        params[key.strip()] = value
    return params


def require_graph(graph: str) -> None:
    """A read of a directory that holds no graph is a typo, not a request for an empty graph."""
    if "://" not in graph and not Path(graph).is_dir():
        raise KgbuildError(f"{graph}: no graph directory here; build one first with: kgbuild build DOCS --graph {graph}")


def _cell(value: Any) -> str:
    """The whole value (the table wraps long text rather than cutting it)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def query(
    cypher: str = typer.Argument(..., help="The Cypher query, e.g. \"MATCH (p:Person) RETURN p.name LIMIT 5\"."),
    graph: str = typer.Option("./kg", "--graph", "-g", help="Graph directory (embedded store) or a neo4j://, neo4j+s://, bolt:// or bolt+s:// URI."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON array instead of a table."),
    write: bool = typer.Option(False, "--write", help="Allow the query to change the graph (read-only otherwise)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Query parameter NAME=VALUE (repeatable); use $NAME in the query."),
    user: str | None = typer.Option(None, "--user", envvar="NEO4J_USER", help="Neo4j user."),
    password: str | None = typer.Option(None, "--password", envvar="NEO4J_PASSWORD", help="Neo4j password."),
    database: str | None = typer.Option(None, "--database", envvar="NEO4J_DATABASE", help="Neo4j database name."),
) -> None:
    """Run a Cypher query on the graph and print the rows (read-only unless --write)."""
    params = parse_params(param)
    require_graph(graph)
    from kgbuild.graph import open_graph

    store = open_graph(graph, user=user, password=password, database=database, read_only=not write)
    store.open()
    try:
        rows = store.query(cypher, params, read_only=not write)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    columns: list[str] = list(dict.fromkeys(key for row in rows for key in row))
    table = Table(show_lines=any("\n" in _cell(v) or len(_cell(v)) > 60 for row in rows for v in row.values()))
    for column in columns or ["(no columns)"]:
        table.add_column(column, overflow="fold")  # long sentences wrap inside their cell, never cut
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)
    count = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    console.print(f"{count}; --json prints them as JSON, one unwrapped value per field", style="dim", highlight=False)
