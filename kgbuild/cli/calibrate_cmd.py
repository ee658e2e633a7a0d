"""``kgbuild train calibrate``: fit score calibration on dev data (a thin shell over kgbuild.training.calibrate)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def calibrate(
    model: str = typer.Option(..., "--model", help="Model directory or bundled name (default, conll04)."),
    data: Path = typer.Option(..., "--data", help="Dev data the model was not trained on (any format kgbuild eval reads)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write a calibrated copy of the model here (default: "
                                       "calibration.json goes into the model directory itself)."),
    folds: int = typer.Option(5, "--folds", min=2, help="Document folds for the held-out ECE (cross-fitting)."),
    target: float = typer.Option(0.80, "--target-precision", min=0.0, max=1.0,
                                 help="Fact precision the default --min-confidence must reach on dev."),
    method: str = typer.Option("platt", "--method", help="Entities: platt (temperature and bias on the logit) or isotonic."),
    fact_method: str = typer.Option("features", "--fact-method", help="Facts: features (logistic regression on the "
                                    "fact's score, its two names' scores and the distance between them), platt or isotonic (the score alone)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N documents."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    entity_data: Optional[list[Path]] = typer.Option(None, "--entity-data", help="More dev data whose entities (only) "
                                                     "join the entity calibration, e.g. CoNLL-2003 eng.testa for the news model; repeatable."),
) -> None:
    """Make entity and fact scores probabilities of being correct (fitted on dev), saved with the model as
    calibration.json, and choose the model's default --min-confidence."""
    from kgbuild.training.calibrate import calibrate as run

    if method not in ("platt", "isotonic"):
        raise typer.BadParameter("use platt or isotonic", param_hint="--method")
    if fact_method not in ("features", "platt", "isotonic"):
        raise typer.BadParameter("use features, platt or isotonic", param_hint="--fact-method")
    s = run(model, data, out, folds=folds, target=target, device=device, limit=limit, method=method,
            entity_data=entity_data or (), fact_method=fact_method)
    for kind in ("entities", "facts"):
        k = s[kind]
        typer.echo(f"{kind}: {k['predicted']} predicted, {k['correct']} correct; ECE raw {k['ece_raw']:.4f}, "
                   f"calibrated on held-out folds {k['ece_held_out']:.4f}")
    m = s["min_confidence"]
    reached = "" if m["reached"] else f" (precision {m['target_precision']:.2f} is reached at no threshold)"
    typer.echo(f"default --min-confidence {m['threshold']:.2f}{reached}: facts kept {m['facts_kept']} at precision "
               f"{m['fact_precision']:.2f}%, entities kept {m['entities_kept']} at precision {m['entity_precision']:.2f}%")
    typer.echo(f"wrote {s['file']} in {s['seconds']:.0f} s")
