"""``kgbuild schema validate|show``: check a schema file and print it as tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from kgbuild.schema.load import load_schema

app = typer.Typer(help="Validate and show schemas (YAML files in schemas/).", no_args_is_help=True, rich_markup_mode=None)


@app.command()
def validate(file: Path = typer.Argument(..., help="Schema YAML file")) -> None:
    """Validate a schema file; exit 1 with a one-line error naming the line if it is malformed."""
    schema = load_schema(file)
    typer.echo(f"{file}: ok ({len(schema.entities)} entity types, {len(schema.relations)} relation types)")


@app.command()
def show(file: Path = typer.Argument(..., help="Schema YAML file")) -> None:
    """Print a schema's entity and relation types as readable tables."""
    schema = load_schema(file)
    console = Console()
    entities = Table(title=f"{schema.name}: entity types")
    for column in ("label", "dataset tags", "description"):
        entities.add_column(column)
    for entity in schema.entities:
        entities.add_row(entity.name, ", ".join(entity.labels), entity.description)
    console.print(entities)
    relations = Table(title=f"{schema.name}: relation types")
    for column in ("type", "domain", "range", "flags", "description"):
        relations.add_column(column)
    for relation in schema.relations:
        flags = ", ".join(flag for flag in ("symmetric", "functional") if getattr(relation, flag))
        relations.add_row(relation.name, " | ".join(relation.domain), " | ".join(relation.range), flags, relation.description)
    console.print(relations)
