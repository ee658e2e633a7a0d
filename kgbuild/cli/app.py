"""The ``kgbuild`` typer app: wires each command group's thin file to one place."""

from __future__ import annotations

import sys

import typer

from kgbuild import __version__
from kgbuild.errors import KgbuildError, os_error_line, printable
from kgbuild.cli import schema_cmd
from kgbuild.cli import train_cmd
from kgbuild.cli import build_cmd
from kgbuild.cli import report_cmd
from kgbuild.cli import train_extract_cmd
from kgbuild.cli import average_cmd
from kgbuild.cli import calibrate_cmd
from kgbuild.cli import eval_cmd
from kgbuild.cli import fusion_cmd
from kgbuild.cli import query_cmd
from kgbuild.cli import export_cmd

app = typer.Typer(help="Build a Cypher-queryable knowledge graph from documents.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(schema_cmd.app, name="schema")
app.add_typer(train_cmd.app, name="train")
train_cmd.app.command("extract")(train_extract_cmd.extract)
train_cmd.app.command("fusion")(fusion_cmd.calibrate)
train_cmd.app.command("calibrate")(calibrate_cmd.calibrate)
train_cmd.app.command("average")(average_cmd.average)
app.command("build")(build_cmd.build)
app.command("report")(report_cmd.report)
app.command("query")(query_cmd.query)
app.command("export")(export_cmd.export)
app.add_typer(eval_cmd.app, name="eval")
eval_cmd.app.command("fusion")(fusion_cmd.eval_fusion)
app.add_typer(fusion_cmd.app, name="fusion", hidden=True)  # the old spelling of `kgbuild train fusion`


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kgbuild {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """kgbuild: documents in, knowledge graph out."""


def main() -> None:
    """Console entry point: user-facing errors print as one line and exit 1, without a traceback.

    typer handles usage errors itself (standalone mode); only kgbuild's own errors are caught here.
    """
    try:
        app()
    except KgbuildError as exc:
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        sys.exit(1)
    except OSError as exc:  # a full or read-only disk anywhere (ledger, graph directory, export file)
        typer.echo(f"error: {os_error_line(exc)}", err=True)
        sys.exit(1)


def _one_line(message: str) -> str:
    """A message as one printable line: its first line, with file names' control characters escaped."""
    return printable((message.strip().splitlines() or [""])[0])
