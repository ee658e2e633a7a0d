"""``kgbuild build PATH...``: documents in, knowledge graph out (a thin shell over :func:`kgbuild.api.build`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console


class Engine(str, Enum):
    local = "local"
    ray = "ray"


def _threshold_help() -> str:
    from kgbuild.extract.calibration import bundled_thresholds

    shipped = ", ".join(f"{name} {value:.2f}" if value is not None else f"{name} none"
                        for name, value in bundled_thresholds().items())
    return ("Keep only entities and facts whose calibrated score (the probability of being correct) is at least P; "
            f"0 keeps everything. Default: the model's own, chosen on dev for fact precision >= 0.80 ({shipped}; "
            "see the model's MODEL.md).")


class FusionEmbeddings(str, Enum):
    auto = "auto"
    sentence_transformers = "sentence-transformers"
    extractor = "extractor"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def build(
    paths: list[str] = typer.Argument(..., help="Files, folders (read recursively) or quoted globs like 'docs/**/*.md'."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Schema YAML; default: the schema the model was trained with."),
    model: str = typer.Option("default", "--model", help="Bundled model name, model directory or hub id."),
    graph: str = typer.Option("./kg", "--graph", envvar="KGBUILD_GRAPH", help="A directory (embedded store) or a neo4j://, neo4j+s://, bolt:// or bolt+s:// URI."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Documents per batch (the unit of commit and resume)."),
    batch_chars: int = typer.Option(40_000, "--batch-chars", min=1000, help="A batch also closes at this many characters of text (with --part-chars, bounds memory whatever the file sizes; docs/reliability.md)."),
    device: Device = typer.Option(Device.auto, "--device", help="Where the model runs."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad input file or failing document."),
    max_file_mb: float = typer.Option(100.0, "--max-file-mb", min=0.001, help="Skip files (and JSONL lines) larger than this."),
    part_chars: int = typer.Option(10_000, "--part-chars", min=1000, help="Build longer documents as parts of this many characters (bounds memory; each part commits alone)."),
    jsonl_text_field: str = typer.Option("text", "--jsonl-text-field", help="JSONL field holding the text."),
    jsonl_id_field: Optional[str] = typer.Option(None, "--jsonl-id-field", help="JSONL field holding the document's own id."),
    user: Optional[str] = typer.Option(None, "--user", envvar="NEO4J_USER", help="Neo4j user."),
    password: Optional[str] = typer.Option(None, "--password", envvar="NEO4J_PASSWORD", help="Neo4j password."),
    database: Optional[str] = typer.Option(None, "--database", envvar="NEO4J_DATABASE", help="Neo4j database."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", min=0.0, max=1.0, metavar="P",
                                                   help=_threshold_help()),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local: this process; ray: segment and extract on a Ray cluster (docs/scale.md)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", envvar="RAY_ADDRESS", help="Ray cluster: auto or HOST:PORT; default: a private Ray on this machine."),
    workers: int = typer.Option(1, "--workers", min=1, help="Ray extraction workers (each loads the model once)."),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", min=0.0, help="GPUs each Ray worker takes (1: one worker per GPU)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N", help="CPU threads for the model (default: every core; 1 on a machine busy with other jobs)."),
    fusion_embeddings: FusionEmbeddings = typer.Option(
        FusionEmbeddings.auto, "--fusion-embeddings",
        help="Mention vectors for fusion: extractor (pooled from the extraction model's own encoder states, no second "
             "pass), sentence-transformers (a second encoder pass over names and sentences) or auto: extractor when the "
             "model ships fusion settings for its states (the default model does), else sentence-transformers "
             "(docs/fusion.md)."),
) -> None:
    """Read documents, extract entities and relations, fuse them and write the graph.

    Bad input files are named, skipped and counted (exit 0; with --strict: exit 1).

    Documents already in the graph with the same content, schema and model are skipped: an interrupted build resumes where it stopped, and running the same build again does nothing.
    """
    from kgbuild.api import build as run_build

    messages = Console(stderr=True)
    try:
        summary = run_build(
            paths,
            schema=schema,
            model=model,
            graph=graph,
            batch_size=batch_size,
            batch_chars=batch_chars,
            device=device.value,
            strict=strict,
            max_file_mb=max_file_mb,
            part_chars=part_chars,
            jsonl_text_field=jsonl_text_field,
            jsonl_id_field=jsonl_id_field,
            user=user,
            password=password,
            database=database,
            show_progress=progress,
            console=messages,
            min_confidence=min_confidence,
            engine=engine.value,
            ray_address=ray_address,
            workers=workers,
            gpus_per_worker=gpus_per_worker,
            threads=threads,
            fusion_embeddings=fusion_embeddings.value,
        )
    except KeyboardInterrupt:
        messages.print("interrupted: documents committed so far are kept; run the same command again to resume")
        raise typer.Exit(130) from None
    summary.print(Console())
