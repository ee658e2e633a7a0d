"""``kgbuild train average``: mix two extractors of one lineage by weight (a thin shell over kgbuild.training.average)."""

from __future__ import annotations

from pathlib import Path

import typer


def average(
    first: str = typer.Option(..., "--first", help="The model before (directory or bundled name)."),
    second: str = typer.Option(..., "--second", help="The same model trained further (directory)."),
    share: float = typer.Option(..., "--share", min=0.0, max=1.0, help="Weight of the second model, 0 to 1."),
    out: Path = typer.Option(..., "--out", help="Model directory to write."),
) -> None:
    """Average two fine-tuned extractors of one lineage weight by weight (WiSE-FT): keeps what the first knew and
    much of what the second added. Choose --share on dev with kgbuild eval; recalibrate the result with
    kgbuild train calibrate."""
    from kgbuild.training.average import average as run

    record = run(first, second, share, out)
    typer.echo(f"wrote {out}: {1 - share:.2f} x {first} + {share:.2f} x {second} in {record['seconds']:.0f} s")
