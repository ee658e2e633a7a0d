"""``kgbuild eval fusion`` and ``kgbuild train fusion``: thin shells over kgbuild.fusion and kgbuild.evaluation.

``kgbuild fusion calibrate`` stays as a hidden alias of ``kgbuild train fusion``.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

app = typer.Typer(help="Entity fusion (old spelling; use `kgbuild train fusion`).", no_args_is_help=True, rich_markup_mode=None)


class EvalSet(str, Enum):
    in_document = "in-document"
    predicted = "predicted"
    cross_document = "cross-document"
    all = "all"


def _schema(path: Optional[Path]) -> Any:
    from kgbuild.resources import REPO_ROOT
    from kgbuild.schema import load_schema

    return load_schema(path or REPO_ROOT / "schemas" / "default.yaml")


class Embeddings(str, Enum):
    sentence_transformers = "sentence-transformers"
    extractor = "extractor"


def _embedder(model: Optional[str], device: str) -> Any:
    from kgbuild.fusion.embed import MentionEmbedder

    return MentionEmbedder(model, device=device)


EMBEDDINGS_HELP = ("Mention vectors: sentence-transformers (a second encoder over names and sentences) or extractor "
                   "(pooled from the --extractor model's own encoder states; its fusion_states.json by default).")


def eval_fusion(
    data: Path = typer.Option(..., "--data", help="DocRED-style JSON (e.g. re-docred/dev_100.json) or kgbuild JSONL whose entity ids are identities across documents (tests/data/fusion/conll2003_testa_fusion.jsonl)."),
    eval_set: EvalSet = typer.Option(EvalSet.all, "--set", help="in-document (gold mentions), predicted (the extractor's mentions), cross-document, or all."),
    extractor: str = typer.Option("default", "--extractor", help="Extraction model for the predicted set (bundled name or directory)."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Schema YAML mapping the data's tags (default: schemas/default.yaml)."),
    model: Optional[str] = typer.Option(None, "--model", help="sentence-transformers model dir or hub id (default: bundled all-MiniLM-L6-v2)."),
    thresholds: Optional[Path] = typer.Option(None, "--thresholds", help="fusion.json (or its directory) from `kgbuild train fusion`; default: shipped."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N documents."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (per set with --set all) instead of tables."),
    embeddings: Embeddings = typer.Option(Embeddings.sentence_transformers, "--embeddings", help=EMBEDDINGS_HELP),
) -> None:
    """Pairwise and B-cubed P/R/F1 of kgbuild's fusion and of the anchors' resolvers, against gold."""
    from kgbuild.fusion.config import resolve_config
    from kgbuild.evaluation.fusion import SETS, evaluate_fusion, issue_shape

    sets = SETS if eval_set is EvalSet.all else (eval_set.value,)
    progress = _quiet if as_json else _progress
    loaded = None
    if "predicted" in sets or embeddings is Embeddings.extractor:
        from kgbuild.extract.engine import Extractor

        loaded = Extractor.load(extractor, device=device)
    if thresholds is None and embeddings is Embeddings.extractor:
        from kgbuild.fusion.embed import states_config

        thresholds = states_config(loaded.path)
    config = resolve_config(thresholds)
    if embeddings is Embeddings.extractor:
        from kgbuild.fusion.embed import ExtractorStates

        embedder = ExtractorStates.for_config(config, loaded)
    else:
        embedder = _embedder(model, device)
    results = evaluate_fusion(data, _schema(schema), embedder, config, sets, limit, progress, loaded)
    if as_json:
        shaped = {name: issue_shape(result) for name, result in results.items()}
        typer.echo(json.dumps(shaped[sets[0]] if len(sets) == 1 else shaped, indent=1))
    else:
        for name, result in results.items():
            print_table(name, result, data)


def _quiet(items: Any, _: str) -> Any:
    return items


def _progress(items: Any, label: str) -> Any:
    from rich.progress import track

    return track(items, description=f"fusion eval, {label}", transient=True)


def print_table(name: str, result: dict[str, Any], data: Path) -> None:
    """One row per resolver: pairwise, B-cubed and exact-cluster scores and cluster counts."""
    from rich.console import Console
    from rich.table import Table

    from kgbuild.evaluation.fusion import JEREX_COREF_F1, RESOLVERS

    unit = "in-document entities" if name == "cross-document" else "mentions"
    table = Table(title=f"fusion, {name}: {data.name} ({result['documents']} documents, {result['mentions']} {unit})")
    columns = ("resolver", "pair P", "pair R", "pair F1", "B3 P", "B3 R", "B3 F1", "exact-cluster F1", "clusters", "gold")
    for column in columns:
        table.add_column(column, justify="left" if column == "resolver" else "right")
    for resolver in [r for r in ("extractor", *RESOLVERS) if r in result]:
        s = result[resolver]
        table.add_row(
            resolver,
            *(f"{s[m][k]:.2f}" for m in ("pairwise", "b_cubed") for k in ("precision", "recall", "f1")),
            f"{s['exact_clusters']['f1']:.2f}",
            str(s["clusters"]["predicted"]),
            str(s["clusters"]["gold"]),
        )
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the columns to 80 characters
        console = Console(width=140)
    console.print(table)
    if name == "in-document":
        console.print(
            f"anchor: JEREX coreference F1 {JEREX_COREF_F1} (DocRED, end to end, exact-cluster match); "
            f"kgbuild here clusters gold mentions: compare with its exact-cluster F1 "
            f"{result['kgbuild']['exact_clusters']['f1']:.2f}"
        )
    if name == "predicted":
        console.print(
            f"scored over gold and predicted mentions together: {result['predicted_mentions']} predicted, "
            f"gold mention recall {result['mention_recall']:.2f}"
        )
    console.print(f"{result['seconds']:.1f} s")


@app.command("calibrate")
def calibrate(
    data: Path = typer.Option(..., "--data", help="Training data, DocRED-style JSON (e.g. re-docred/train_400.json); never the evaluation split."),
    out: Path = typer.Option(..., "--out", help="Where to write fusion.json (a file, or a model directory to hold it)."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Schema YAML mapping the data's tags (default: schemas/default.yaml)."),
    model: Optional[str] = typer.Option(None, "--model", help="sentence-transformers model dir or hub id (default: bundled all-MiniLM-L6-v2)."),
    context_weights: str = typer.Option("0,0.25,0.5,0.75", "--context-weights", help="Comma-separated name/context mixes to try."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N documents."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    embeddings: Embeddings = typer.Option(Embeddings.sentence_transformers, "--embeddings", help=EMBEDDINGS_HELP),
    extractor: str = typer.Option("default", "--extractor", help="Extraction model whose states --embeddings extractor pools (bundled name or directory)."),
    state_names: str = typer.Option("states", "--state-names", help="With --embeddings extractor, the name vector: states (the mention's contextual states) or words (its subwords' input embeddings, context-free)."),
) -> None:
    """Fit fusion's pair weights and per-type thresholds on training data; write fusion.json."""
    from kgbuild.errors import InputError
    from kgbuild.training.fusion_calibration import calibrate as run

    try:
        weights = [float(x) for x in context_weights.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--context-weights {context_weights!r}: expected comma-separated numbers, e.g. 0,0.25,0.5") from None
    if not weights or any(not 0 <= w <= 1 for w in weights):
        raise InputError(f"--context-weights {context_weights!r}: each weight must be between 0 and 1")
    if embeddings is Embeddings.extractor:
        from kgbuild.extract.engine import Extractor
        from kgbuild.fusion.embed import ExtractorStates

        if state_names not in ExtractorStates.NAMES:
            raise InputError(f"--state-names {state_names!r}: use one of {', '.join(ExtractorStates.NAMES)}")
        embedder = ExtractorStates(Extractor.load(extractor, device=device), state_names)
    else:
        embedder = _embedder(model, device)
    config, report = run(data, _schema(schema), embedder, weights, limit, log=typer.echo)
    path = config.save(out)
    typer.echo(json.dumps(report, indent=1))
    typer.echo(f"wrote {path}")
