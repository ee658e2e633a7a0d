"""Masked-LM pretraining: from scratch (a BERT config + a trained tokenizer) or continued from an encoder (DAPT).

The result is a plain model directory (``config.json``, ``model.safetensors``, tokenizer files) that
``AutoModel.from_pretrained`` and ``kgbuild train extract --base DIR`` load. Training runs through the shared loop
(:mod:`kgbuild.training.loop`), so checkpoints resume, DDP works under torchrun, and ``metrics.json`` plus
``learning_curve.png`` (loss and held-out perplexity) land next to the model.

Speed: batches are packed (no padding, :mod:`kgbuild.training.mlm_data`) and, for BERT-family models, the MLM
head runs only on the masked positions (~15% of tokens) instead of all of them: the vocabulary projection is the
single largest matrix product in a small encoder, so this saves a large share of the FLOPs at identical loss.
Importable without pydantic or spaCy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kgbuild.errors import InputError, ModelError
from kgbuild.training.callbacks import Callback
from kgbuild.training.corpus import CorpusStats, iter_texts
from kgbuild.training.loop import TrainConfig, fit, process_state, seed_everything
from kgbuild.training.mlm_data import PackedMlmDataset

PRESETS: dict[str, dict[str, int]] = {
    # BERT-tiny: small enough for tests and CPU smoke runs
    "small": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512},
    # BERT-base
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}


@dataclass
class PretrainArgs:
    """Arguments of ``kgbuild train pretrain`` besides the loop's :class:`TrainConfig`."""

    corpus: list[str] = field(metadata={"help": "Raw text: files, directories or globs (any format kgbuild reads)."})
    base: str | None = field(default=None, metadata={"help": "Continue pretraining this encoder (dir or hub id)."})
    config: str | None = field(default=None, metadata={"help": "From scratch: small, base or a BertConfig JSON."})
    tokenizer: str | None = field(default=None, metadata={"help": "Tokenizer dir (from scratch; default: the base's)."})
    eval_corpus: list[str] = field(default_factory=list, metadata={"help": "Held-out text for perplexity."})
    max_length: int = field(default=128, metadata={"help": "Tokens per packed sequence."})
    batch_size: int = field(default=32, metadata={"help": "Sequences per micro-batch (per process)."})
    mlm_probability: float = field(default=0.15, metadata={"help": "Share of tokens to predict."})
    whole_word_mask: bool = field(default=False, metadata={"help": "Mask whole words, not single word pieces."})
    nsp: bool = field(default=False, metadata={"help": "Add next-sentence prediction (BertForPreTraining)."})
    shuffle_buffer: int = field(default=1000, metadata={"help": "Packed sequences held for streaming shuffling."})
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes for tokenizing."})
    eval_batches: int = field(default=16, metadata={"help": "Held-out batches for each perplexity evaluation."})
    sparse_head: bool = field(default=True, metadata={"help": "Run the MLM head on masked positions only."})
    head_only: bool = field(default=False, metadata={"help": "Freeze the encoder, train the MLM head only (a probe: "
                                                              "fair perplexity of a base that ships without a head)."})
    strict: bool = field(default=False, metadata={"help": "Stop at the first unreadable corpus file."})


class SparseMaskedLM(nn.Module):
    """Wraps a BERT MLM/pretraining model so that the vocabulary projection runs on the masked positions only.

    Same loss as the wrapped model's own (mean cross-entropy over labelled positions, plus NSP when labelled).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.config = model.config

    def forward(
        self, input_ids: torch.Tensor, labels: torch.Tensor, token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None, next_sentence_label: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        out = self.model.bert(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)
        hidden = out[0]  # [B, L, H]
        selected = labels != -100  # [B, L]
        logits = self.model.cls.predictions(hidden[selected])  # [N_masked, V]
        loss = nn.functional.cross_entropy(logits.float(), labels[selected])
        if next_sentence_label is not None:
            nsp_logits = self.model.cls.seq_relationship(out[1])  # [B, 2] from the pooled [CLS]
            loss = loss + nn.functional.cross_entropy(nsp_logits.float(), next_sentence_label)
        return {"loss": loss, "masked_tokens": selected.sum()}


def load_tokenizer(args: PretrainArgs) -> Any:
    """The tokenizer: --tokenizer, else the base model's. A model from scratch needs one trained first."""
    from transformers import AutoTokenizer

    source = args.tokenizer or args.base
    if source is None:
        raise InputError("--config needs --tokenizer DIR (train one with `kgbuild train tokenizer`)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{source}: cannot load a tokenizer ({exc}); pass a tokenizer directory") from None
    if not tokenizer.is_fast or tokenizer.mask_token is None:
        raise ModelError(f"{source}: pretraining needs a fast tokenizer with a [MASK] token")
    return tokenizer


def build_model(args: PretrainArgs, tokenizer: Any) -> nn.Module:
    """A BERT masked-LM (BertForPreTraining with --nsp) from a preset/JSON config, or from the base encoder."""
    from transformers import AutoModelForMaskedLM, BertConfig, BertForMaskedLM, BertForPreTraining

    if (args.base is None) == (args.config is None):
        raise InputError("pass exactly one of --base DIR (continue pretraining) or --config small|base|FILE.json")
    if args.base is not None:
        cls = BertForPreTraining if args.nsp else AutoModelForMaskedLM
        try:
            model = cls.from_pretrained(args.base)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{args.base}: cannot load a masked-LM model ({exc})") from None
        if len(tokenizer) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(len(tokenizer))
        return model.float()  # fp32 master weights even from a half-precision copy; autocast does bf16
    if args.config in PRESETS:
        config = BertConfig(**PRESETS[args.config])
    else:
        path = Path(str(args.config))
        if not path.is_file():
            raise InputError(f"{path}: --config must be small, base or a BertConfig JSON file")
        try:
            config = BertConfig.from_json_file(str(path))
        except ValueError as exc:
            raise InputError(f"{path}: not a valid BertConfig JSON ({exc})") from None
    config.vocab_size = len(tokenizer)
    config.pad_token_id = tokenizer.pad_token_id
    config.max_position_embeddings = max(config.max_position_embeddings, args.max_length)
    return (BertForPreTraining if args.nsp else BertForMaskedLM)(config)


def wrap_for_training(model: nn.Module, args: PretrainArgs) -> nn.Module:
    """The sparse-head wrapper for BERT models; other families train through their own (dense) forward."""
    if args.nsp and not hasattr(model, "cls"):
        raise ModelError(f"--nsp needs a BERT model with a next-sentence head, not {type(model).__name__}")
    if args.sparse_head and hasattr(model, "bert") and hasattr(getattr(model, "cls", None), "predictions"):
        return SparseMaskedLM(model)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    return model.model if isinstance(model, SparseMaskedLM) else model


def make_dataset(args: PretrainArgs, tokenizer: Any, paths: Sequence[str], seed: int, stats: CorpusStats | None = None,
                 shuffle: bool = True) -> PackedMlmDataset:
    state = process_state()
    return PackedMlmDataset(
        lambda: iter_texts(paths, strict=args.strict, stats=stats), tokenizer, max_length=args.max_length,
        batch_size=args.batch_size, mlm_probability=args.mlm_probability, whole_word_mask=args.whole_word_mask,
        nsp=args.nsp, shuffle_buffer=args.shuffle_buffer if shuffle else 0, seed=seed,
        rank=state.process_index, world_size=state.num_processes,
    )


@torch.inference_mode()
def masked_lm_loss(model: nn.Module, batches: Sequence[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Token-weighted mean MLM cross-entropy over fixed, pre-masked batches, and its perplexity exp(loss)."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items() if k != "next_sentence_label"}
        n = int((batch["labels"] != -100).sum())
        out = model(**batch)
        loss = out["loss"] if isinstance(out, dict) else out.loss
        total, count = total + float(loss) * n, count + n
    mean = total / max(count, 1)
    return {"eval_loss": mean, "perplexity": math.exp(min(mean, 50.0)), "eval_masked_tokens": float(count)}


def _head_parameter(name: str, _: nn.Parameter) -> bool:
    """The MLM head's own parameters (its decoder matrix is tied to the frozen word embeddings)."""
    return ".cls." in f".{name}" or ".lm_head." in f".{name}"


@dataclass
class PretrainResult:
    """The model directory written (main process) and the trained model (every process)."""

    path: Path
    model: nn.Module


def pretrain(args: PretrainArgs, config: TrainConfig, callbacks: Sequence[Callback] = ()) -> PretrainResult:
    """Run masked-LM pretraining and write the model directory ``config.output_dir``."""
    out = Path(config.output_dir)
    seed_everything(config.seed)  # same initial weights on every process
    tokenizer = load_tokenizer(args)
    model = wrap_for_training(build_model(args, tokenizer), args)
    stats = CorpusStats()
    train_set = make_dataset(args, tokenizer, args.corpus, config.seed, stats)
    data = torch.utils.data.DataLoader(train_set, batch_size=None, num_workers=args.num_workers)
    per_epoch = train_set.count_batches(args.num_workers) if config.epochs is not None else None

    evaluate = None
    initial: dict[str, float] = {}
    if args.eval_corpus:
        held_out = make_dataset(args, tokenizer, args.eval_corpus, seed=1234, shuffle=False)
        if process_state().num_processes > 1:  # every process evaluates the same text on the main process
            held_out.rank, held_out.world_size = 0, 1
        eval_batches = [b for _, b in zip(range(args.eval_batches), held_out)]
        if not eval_batches:
            raise InputError(f"{', '.join(args.eval_corpus)}: held-out text is shorter than one {args.max_length}-token block")
        evaluate = lambda m: masked_lm_loss(m, eval_batches)  # noqa: E731
        if config.resume is None and process_state().is_main_process:
            was_training = model.training
            model.eval()
            initial = masked_lm_loss(model, eval_batches)
            model.train(was_training)

    def save(m: nn.Module, path: Path) -> None:
        unwrap(m).save_pretrained(str(path))
        tokenizer.save_pretrained(str(path))

    run_config = {"task": "pretrain", **{k: v for k, v in vars(args).items()}, "initial_eval": initial,
                  "parameters": sum(p.numel() for p in unwrap(model).parameters())}
    trainable = _head_parameter if args.head_only else None
    fit(model, data, config, evaluate=evaluate, save_model=save, run_config=run_config, batches_per_epoch=per_epoch,
        callbacks=callbacks, trainable=trainable)
    if stats.skipped and process_state().is_main_process:
        print(f"skipped {len(stats.skipped)} unreadable input(s): " + "; ".join(stats.skipped[:5]))
    return PretrainResult(out, unwrap(model))
