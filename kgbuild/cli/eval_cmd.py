"""``kgbuild eval``: strict scores of an extractor on annotated data (a thin shell over kgbuild.evaluation.extraction).

A typer group invoked without a subcommand, so that other scorers (e.g. ``kgbuild eval fusion``) can be added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

app = typer.Typer(help="Evaluate models on annotated data.", invoke_without_command=True, rich_markup_mode=None)


@app.callback(invoke_without_command=True)
def evaluate_extractor(
    ctx: typer.Context,
    model: Optional[str] = typer.Option(None, "--model", help="Model directory or bundled name (default, conll04)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Annotated data: DocRED JSON, SpERT JSON, CoNLL-2003 columns, CrossRE JSON lines or kgbuild JSONL."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    gold_entities: bool = typer.Option(True, "--gold-entities/--no-gold-entities", help="Also score relations given gold entities."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N documents."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    batch_size: int = typer.Option(16, "--batch-size", help="Encoder chunks per batch."),
    quantize: bool = typer.Option(False, "--quantize", help="Dynamic int8 encoder on CPU."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a reliability diagram to FILE (PNG) and a "
                                        "precision-recall curve beside it (FILE's name + '-pr')."),
    raw_scores: bool = typer.Option(False, "--raw-scores", help="Score without the model's calibration.json."),
) -> None:
    """Strict micro P/R/F1 of an extractor: entities, relations (RE+), relations given gold entities, clusters; and
    how well its scores are calibrated: ECE (10 bins) and precision/recall at thresholds 0.5 to 0.95."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None or data is None:
        raise typer.BadParameter("pass --model DIR|NAME and --data FILE", param_hint="--model/--data")
    import time

    from kgbuild.extract.engine import Extractor
    from kgbuild.datasets.scoring import read_for_scoring
    from kgbuild.evaluation.extraction import evaluate

    extractor = Extractor.load(model, device=device, batch_size=batch_size, quantize=quantize, calibrated=not raw_scores)
    docs, left_out = read_for_scoring(data, extractor.schema)
    docs = docs[:limit]
    started = time.perf_counter()
    result = evaluate(extractor, docs, gold_relations=gold_entities)
    if left_out:
        result["relations_left_out"] = left_out  # the data's relations no relation of the schema means
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["model"] = str(extractor.path)
    result["data"] = str(data)
    if plot is not None:
        from kgbuild.evaluation.calibration import plot as draw

        result["plots"] = [str(p) for p in draw(result["calibration"], plot)]
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        print_tables(result)


def print_tables(result: dict[str, Any]) -> None:
    """One rich table of headline scores and one per-type table per task."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    head = Table(title=f"{result['model']} on {result['data']} ({result['documents']} documents, {result['setting']} level)")
    for column in ("task", "precision", "recall", "f1"):
        head.add_column(column, justify="left" if column == "task" else "right")
    rows = [("entities (strict)", result["entities"]), ("mentions (span)", result["mentions"]),
            ("relations (strict RE+)", result["relations"])]
    if "relations_gold_entities" in result:
        rows.append(("relations, gold entities", result["relations_gold_entities"]))
    if "clusters" in result:
        rows.append(("clusters B-cubed", result["clusters"]["b_cubed"]))
        rows.append(("clusters exact", result["clusters"]["exact"]))
    for name, s in rows:
        if name.startswith("relations") and not s["gold"]:
            head.add_row(name, "-", "-", "- (no relations in the data)")
            continue
        head.add_row(name, f"{s['precision']:.2f}", f"{s['recall']:.2f}", f"{s['f1']:.2f}")
    console.print(head)
    for name in ("entities", "relations"):
        if not result[name]["per_type"]:
            continue
        table = Table(title=f"{name} per type")
        for column in ("type", "precision", "recall", "f1", "gold"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for type_, s in result[name]["per_type"].items():
            table.add_row(type_, f"{s['precision']:.2f}", f"{s['recall']:.2f}", f"{s['f1']:.2f}", str(s["gold"]))
        console.print(table)
    calibration = result.get("calibration")
    if calibration:
        table = Table(title="calibration: precision / recall (%) of what scores at least the threshold")
        table.add_column("threshold", justify="right")
        for kind in ("entities", "facts"):
            table.add_column(f"{kind} P", justify="right")
            table.add_column(f"{kind} R", justify="right")
            table.add_column(f"{kind} kept", justify="right")
        for i, row in enumerate(calibration["entities"]["thresholds"]):
            cells = [f"{row['threshold']:.2f}"]
            for kind in ("entities", "facts"):
                r = calibration[kind]["thresholds"][i]
                cells += [f"{r['precision']:.2f}", f"{r['recall']:.2f}", str(r["kept"])]
            table.add_row(*cells)
        console.print(table)
        facts = f"{calibration['facts']['ece']:.4f}" if calibration["facts"]["gold"] else "- (no relations in the data)"
        console.print(f"expected calibration error (10 bins): entities {calibration['entities']['ece']:.4f}, facts {facts}")
    left_out = result.get("relations_left_out")
    if left_out:
        listed = ", ".join(f"{tag} {n}" for tag, n in left_out.items())
        console.print(f"not scored: the data's relations that no relation of the model's schema means ({listed})")
    for path in result.get("plots", ()):
        console.print(f"wrote {path}")
    console.print(f"{result['seconds']:.1f} s")
