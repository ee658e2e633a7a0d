"""``kgbuild train tokenizer|pretrain|distill``: thin shells over :mod:`kgbuild.training`.

``train extract`` (``train_extract_cmd.py``) and ``train fusion`` (``fusion_cmd.py``) live in their own files and
are added to this group in ``kgbuild/cli/app.py``, where every command is registered. Every command runs unchanged under ``torchrun --nproc_per_node N
"$(which kgbuild)" train ...`` or ``accelerate launch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Train tokenizers, pretrain encoders, fine-tune and distill extractors, calibrate fusion.", no_args_is_help=True, rich_markup_mode=None)

CORPUS_HELP = "Raw text: files, directories or globs in any format kgbuild reads; repeat or list several."


def _paths(first: list[Path], more: Optional[list[Path]]) -> list[str]:
    """``--corpus a b c`` arrives as --corpus a plus positional b c: join them."""
    return [str(p) for p in [*first, *(more or [])]]


@app.command()
def tokenizer(
    corpus: list[Path] = typer.Option(..., "--corpus", help=CORPUS_HELP),
    more: Optional[list[Path]] = typer.Argument(None, hidden=True),
    vocab_size: int = typer.Option(30522, "--vocab-size", help="Vocabulary size, special tokens included."),
    out: Path = typer.Option(..., "--out", help="Directory to write the tokenizer to."),
    uncased: bool = typer.Option(False, "--uncased", help="Lower-case and strip accents."),
    min_frequency: int = typer.Option(2, "--min-frequency", help="Drop word pieces seen fewer times."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first unreadable input file."),
) -> None:
    """Train a WordPiece tokenizer that transformers' AutoTokenizer loads."""
    from transformers import AutoTokenizer

    from kgbuild.training.tokenizer import TokenizerArgs, train_tokenizer

    args = TokenizerArgs(corpus=_paths(corpus, more), out=str(out), vocab_size=vocab_size, uncased=uncased,
                         min_frequency=min_frequency, strict=strict)
    path, stats = train_tokenizer(args)
    size = len(AutoTokenizer.from_pretrained(str(path)))
    typer.echo(f"{path}: WordPiece vocabulary of {size} from {stats.documents} documents "
               f"({stats.characters:,} characters); skipped {len(stats.skipped)} bad input(s)")
    for line in stats.skipped[:10]:
        typer.echo(f"  skipped {line}", err=True)


@app.command()
def pretrain(
    corpus: list[Path] = typer.Option(..., "--corpus", help=CORPUS_HELP),
    more: Optional[list[Path]] = typer.Argument(None, hidden=True),
    out: Path = typer.Option(..., "--out", help="Model directory to write (checkpoints, metrics and curve inside)."),
    base: Optional[str] = typer.Option(None, "--base", help="Continue pretraining this encoder (dir or hub id)."),
    config: Optional[str] = typer.Option(None, "--config", help="From scratch: small, base or a BertConfig JSON."),
    tokenizer_dir: Optional[Path] = typer.Option(None, "--tokenizer", help="Tokenizer dir (needed with --config)."),
    eval_corpus: Optional[list[Path]] = typer.Option(None, "--eval-corpus", help="Held-out text for perplexity."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Optimizer steps to run."),
    epochs: Optional[float] = typer.Option(None, "--epochs", help="Passes over the corpus (if no --max-steps)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Sequences per micro-batch, per process."),
    max_length: int = typer.Option(128, "--max-length", help="Tokens per packed sequence."),
    learning_rate: float = typer.Option(1e-4, "--lr", help="Peak learning rate."),
    warmup_ratio: float = typer.Option(0.06, "--warmup-ratio", help="Share of steps with linear warm-up."),
    weight_decay: float = typer.Option(0.01, "--weight-decay", help="AdamW weight decay."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Micro-batches per optimizer step."),
    mixed_precision: str = typer.Option("auto", "--mixed-precision", help="auto (bf16 on GPU), bf16, fp16, no."),
    cpu: bool = typer.Option(False, "--cpu", help="Train on CPU even with a GPU."),
    mlm_probability: float = typer.Option(0.15, "--mlm-probability", help="Share of tokens to predict."),
    whole_word_mask: bool = typer.Option(False, "--whole-word-mask", help="Mask whole words."),
    nsp: bool = typer.Option(False, "--nsp", help="Add next-sentence prediction."),
    head_only: bool = typer.Option(False, "--head-only", help="Freeze the encoder; train the MLM head only (a probe)."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="Held-out perplexity every N steps."),
    eval_batches: int = typer.Option(16, "--eval-batches", help="Held-out batches per evaluation."),
    save_every: Optional[int] = typer.Option(None, "--save-every", help="Resumable checkpoint every N steps."),
    log_every: int = typer.Option(10, "--log-every", help="Metrics record every N steps."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint in --out."),
    num_workers: int = typer.Option(0, "--num-workers", help="DataLoader workers for tokenizing."),
    seed: int = typer.Option(13, "--seed", help="Random seed."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first unreadable corpus file."),
) -> None:
    """Masked-LM pretraining, from scratch or continued from an encoder; writes a plain model directory."""
    from kgbuild.training.loop import TrainConfig
    from kgbuild.training.pretrain import PretrainArgs, pretrain as run_pretrain

    if max_steps is None and epochs is None:
        raise typer.BadParameter("pass --max-steps N or --epochs N", param_hint="--max-steps")
    args = PretrainArgs(
        corpus=_paths(corpus, more), base=base, config=config,
        tokenizer=str(tokenizer_dir) if tokenizer_dir else None, eval_corpus=[str(p) for p in eval_corpus or []],
        max_length=max_length, batch_size=batch_size, mlm_probability=mlm_probability,
        whole_word_mask=whole_word_mask, nsp=nsp, head_only=head_only, num_workers=num_workers,
        eval_batches=eval_batches, strict=strict,
    )
    train = TrainConfig(
        output_dir=str(out), max_steps=max_steps, epochs=epochs, learning_rate=learning_rate,
        warmup_ratio=warmup_ratio, weight_decay=weight_decay, grad_accum=grad_accum, mixed_precision=mixed_precision,
        cpu=cpu, seed=seed, eval_every=eval_every, eval_each_epoch=eval_every is None, save_every=save_every,
        log_every=log_every,
        resume="auto" if resume else None,
    )
    result = run_pretrain(args, train)
    _summary(result.path)


def _summary(path: Path) -> None:
    """One closing line from metrics.json (main process only; other ranks have no file to read yet)."""
    import json

    from kgbuild.training.loop import METRICS_FILE, process_state

    if not process_state().is_main_process:
        return
    metrics = json.loads((path / METRICS_FILE).read_text())
    history = metrics["history"]
    losses = [r["loss"] for r in history if "loss" in r]
    evals = [r for r in history if "perplexity" in r]
    initial = metrics["summary"]["run"].get("initial_eval") or {}
    line = f"{path}: {metrics['summary']['state']['step']} steps"
    if losses:
        line += f", train loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    if evals:
        before = f"{initial['perplexity']:.1f} -> " if "perplexity" in initial else ""
        line += f", held-out perplexity {before}{evals[-1]['perplexity']:.1f}"
    typer.echo(line + f"; metrics in {path / METRICS_FILE}")


@app.command()
def distill(
    teacher: str = typer.Option(..., "--teacher", help="Fine-tuned extractor directory (or bundled name)."),
    data: Path = typer.Option(..., "--data", help="Training data: DocRED JSON, SpERT JSON or kgbuild JSONL."),
    out: Path = typer.Option(..., "--out", help="Student model directory to write."),
    student_config: str = typer.Option("layers:3", "--student-config",
                                       help="layers:N (N of the teacher's layers, heads copied) or an encoder dir."),
    dev: Optional[Path] = typer.Option(None, "--dev", help="Dev data: evaluated every epoch, picks the best student."),
    temperature: float = typer.Option(2.0, "--temperature", help="Softmax temperature of the soft labels."),
    hard_weight: float = typer.Option(0.5, "--hard-weight", help="Weight of the gold-label loss."),
    soft_weight: float = typer.Option(1.0, "--soft-weight", help="Weight of the soft-label losses."),
    hidden_weight: float = typer.Option(1.0, "--hidden-weight", help="Weight of the hidden-state MSE."),
    epochs: float = typer.Option(10, "--epochs", help="Passes over the training data."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many optimizer steps."),
    learning_rate: float = typer.Option(1e-4, "--lr", help="Peak learning rate."),
    batch_size: int = typer.Option(8, "--batch-size", help="Documents per micro-batch, per process."),
    grad_accum: int = typer.Option(1, "--grad-accum", help="Micro-batches per optimizer step."),
    patience: int = typer.Option(3, "--patience", help="Early stopping after N evaluations without improvement."),
    mixed_precision: str = typer.Option("auto", "--mixed-precision", help="auto (bf16 on GPU), bf16, fp16, no."),
    cpu: bool = typer.Option(False, "--cpu", help="Train on CPU even with a GPU."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint in --out."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N training documents."),
    dev_limit: Optional[int] = typer.Option(None, "--dev-limit", help="Use only the first N dev documents."),
    seed: int = typer.Option(13, "--seed", help="Random seed."),
) -> None:
    """Distil a fine-tuned extractor into a smaller student (soft labels + hidden-state matching)."""
    from kgbuild.training.distill import DistillArgs, distill as run_distill

    summary = run_distill(DistillArgs(
        teacher=teacher, data=str(data), out=str(out), student_config=student_config, dev=str(dev) if dev else None,
        temperature=temperature, hard_weight=hard_weight, soft_weight=soft_weight, hidden_weight=hidden_weight,
        epochs=epochs, max_steps=max_steps, lr=learning_rate, batch_size=batch_size, grad_accum=grad_accum,
        patience=patience, mixed_precision=mixed_precision, cpu=cpu, resume=resume, limit=limit, dev_limit=dev_limit,
        seed=seed,
    ))
    best = f", best dev score {summary['best_metric']:.3f}" if summary["best_metric"] is not None else ""
    typer.echo(f"{out}: student of {summary['student_parameters']:,} parameters (teacher "
               f"{summary['teacher_parameters']:,}) after {summary['steps']} steps{best}; "
               f"compare with `kgbuild eval --model {out} --data ...`")
