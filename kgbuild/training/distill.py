"""Distil a fine-tuned extractor (teacher) into a smaller one (student) that users can ship and run fast.

Losses (Hinton et al. 2015; TinyBERT-style hidden matching, Jiao et al. 2020), summed with weights:
- ``hard``: the student's own supervised loss on the gold labels (entity BIO tags, relations, coreference);
- ``soft``: KL divergence between temperature-softened teacher and student distributions over the entity tags of
  every word and over the 1 + R relation classes (threshold class included) of every gold entity pair, times T²;
  binary cross-entropy to the teacher's probabilities for coreference pairs;
- ``hidden``: mean-squared error between student hidden states (projected when widths differ) and the teacher's at
  mapped layers (embeddings, then student layer i to teacher layer ceil((i+1)·Lt/Ls)-1), over real tokens.

Students (``--student-config``): ``layers:N`` keeps N evenly spaced layers of the teacher's encoder and copies its
heads (DistilBERT's initialisation: the student starts close to the teacher); a directory is another encoder with
the same vocabulary (e.g. one from ``kgbuild train pretrain``), given fresh heads. The teacher is frozen and stays in
eval mode; only the student (and the projections) train, through the shared loop, so checkpoints, resume, DDP and
metrics work as for every other kgbuild training run. The output is an ordinary extractor directory.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from kgbuild.errors import InputError, ModelError


@dataclass
class DistillArgs:
    """Options of ``kgbuild train distill``."""

    teacher: str = field(metadata={"help": "Fine-tuned extractor directory (or bundled name) to learn from."})
    data: str = field(metadata={"help": "Training data: DocRED JSON, SpERT JSON or kgbuild JSONL."})
    out: str = field(metadata={"help": "Student model directory to write."})
    student_config: str = field(default="layers:3", metadata={"help": "layers:N (teacher's layers) or an encoder dir."})
    dev: str | None = field(default=None, metadata={"help": "Dev data: evaluated every epoch, picks the best student."})
    temperature: float = field(default=2.0, metadata={"help": "Softmax temperature of the soft labels."})
    hard_weight: float = field(default=0.5, metadata={"help": "Weight of the gold-label loss."})
    soft_weight: float = field(default=1.0, metadata={"help": "Weight of the soft-label (KL) losses."})
    hidden_weight: float = field(default=1.0, metadata={"help": "Weight of the hidden-state MSE."})
    epochs: float = field(default=10, metadata={"help": "Passes over the training data."})
    max_steps: int | None = field(default=None, metadata={"help": "Stop after this many optimizer steps."})
    lr: float = field(default=1e-4, metadata={"help": "Peak learning rate."})
    batch_size: int = field(default=8, metadata={"help": "Documents per micro-batch."})
    grad_accum: int = field(default=1, metadata={"help": "Micro-batches per optimizer step."})
    seed: int = field(default=13, metadata={"help": "Random seed."})
    patience: int = field(default=3, metadata={"help": "Early stopping: evaluations without improvement."})
    mixed_precision: str = field(default="auto", metadata={"help": "auto, bf16, fp16 or no."})
    cpu: bool = field(default=False, metadata={"help": "Train on CPU even with a GPU."})
    resume: bool = field(default=False, metadata={"help": "Resume from the newest checkpoint in --out."})
    limit: int | None = field(default=None, metadata={"help": "Use only the first N training documents."})
    dev_limit: int | None = field(default=None, metadata={"help": "Use only the first N dev documents."})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar."})


@dataclass
class HeadOutputs:
    """What distillation compares: head logits on the gold structure and the encoder's hidden states."""

    entity: Tensor  # [words, tags]
    relation: Tensor | None  # [pairs, 1 + relations] (gold pairs only)
    coref: Tensor | None  # [mention pairs]
    hidden: tuple[Tensor, ...]  # (embeddings, layer 1, ..., layer L), each [chunks, length, hidden]


def head_outputs(model: nn.Module, batch: dict[str, Any]) -> HeadOutputs:
    """Run a :class:`~kgbuild.extract.model.JointExtractor` step by step, keeping logits and hidden states."""
    from kgbuild.extract.model import SHAPE_SCALE

    ids, mask = batch["input_ids"], batch["attention_mask"]
    shapes = model.shape_embedding(batch["shape_ids"]) * SHAPE_SCALE if model.shape_embedding is not None else None
    if shapes is not None and model.config.word_shapes == "input":
        embeds = model.encoder.get_input_embeddings()(ids) + shapes
        enc = model.encoder(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True)
    else:
        enc = model.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    last = enc.last_hidden_state if shapes is None or model.config.word_shapes == "input" else enc.last_hidden_state + shapes
    flat = last.reshape(-1, last.shape[-1])
    entity = model.entity_logits(flat, batch["word_index"])
    relation = coref = None
    if batch.get("mention_index") is not None and batch["mention_index"].shape[0] > 0:
        mentions = model.mention_embeddings(flat, batch["mention_index"], batch["mention_mask"])
        if bool(batch["pair_mask"].any()):
            entities = model.entity_embeddings(mentions, batch["cluster_index"], batch["cluster_mask"])
            relation = model.relation_logits(flat, entities, batch["entity_types"], batch["context_index"],
                                             batch["context_mask"], batch["pair_index"], batch["pair_mask"])
            relation = relation[batch["pair_mask"]]
        if model.config.coref == "learned" and batch["coref_labels"].numel() > 0:
            coref = model.coref_logits(mentions, batch["coref_index"], batch["coref_features"])
    return HeadOutputs(entity, relation, coref, tuple(enc.hidden_states))


def layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Teacher hidden-state index for each student one (index 0 = embeddings on both sides)."""
    return [0] + [-(-(i + 1) * teacher_layers // student_layers) for i in range(student_layers)]


class Distiller(nn.Module):
    """Student + frozen teacher; ``forward(**batch)`` returns the distillation loss, as the loop expects."""

    def __init__(self, student: nn.Module, teacher: nn.Module, args: DistillArgs):
        super().__init__()
        self.student, self.teacher, self.args = student, teacher.eval(), args
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        s_cfg, t_cfg = student.encoder.config, teacher.encoder.config
        self.layers = layer_map(s_cfg.num_hidden_layers, t_cfg.num_hidden_layers)
        self.project = nn.ModuleList(
            nn.Identity() if s_cfg.hidden_size == t_cfg.hidden_size else nn.Linear(s_cfg.hidden_size, t_cfg.hidden_size)
            for _ in self.layers
        )

    def train(self, mode: bool = True) -> Distiller:
        super().train(mode)
        self.teacher.eval()  # the teacher's dropout stays off: its soft labels must be its best guesses
        return self

    def forward(self, **batch: Any) -> dict[str, Tensor]:
        from kgbuild.extract.model import adaptive_threshold_loss

        with torch.no_grad():
            t = head_outputs(self.teacher, batch)
        s = head_outputs(self.student, batch)
        temp, out = self.args.temperature, {}
        # hard: the student's supervised loss on gold labels (the same terms as JointExtractor.forward)
        hard = F.cross_entropy(s.entity.float(), batch["word_labels"])
        if s.relation is not None:
            hard = hard + adaptive_threshold_loss(s.relation, batch["pair_labels"][batch["pair_mask"]])
        if s.coref is not None:
            hard = hard + F.binary_cross_entropy_with_logits(s.coref.float(), batch["coref_labels"].float())
        # soft: match the teacher's tempered distributions
        soft = _kl(s.entity, t.entity, temp)
        if s.relation is not None and t.relation is not None:
            soft = soft + _kl(s.relation, t.relation, temp)
        if s.coref is not None and t.coref is not None:
            soft = soft + F.binary_cross_entropy_with_logits(s.coref.float() / temp, torch.sigmoid(t.coref.float() / temp))
        # hidden: mapped layers, real tokens only
        real = batch["attention_mask"].bool()  # [chunks, length]
        hidden = sum(F.mse_loss(proj(s.hidden[i])[real].float(), t.hidden[j][real].float())
                     for i, (j, proj) in enumerate(zip(self.layers, self.project))) / len(self.layers)
        out.update(hard_loss=hard.detach(), soft_loss=soft.detach(), hidden_loss=hidden.detach())
        out["loss"] = self.args.hard_weight * hard + self.args.soft_weight * soft + self.args.hidden_weight * hidden
        return out


def _kl(student: Tensor, teacher: Tensor, temperature: float) -> Tensor:
    """KL(teacher || student) on tempered softmaxes, scaled by T² so gradients keep their size (Hinton et al.)."""
    log_s = F.log_softmax(student.float() / temperature, dim=-1)
    log_t = F.log_softmax(teacher.float() / temperature, dim=-1)
    return F.kl_div(log_s, log_t, log_target=True, reduction="batchmean") * temperature**2


def make_student(teacher: nn.Module, spec: str) -> nn.Module:
    """``layers:N``: the teacher with N evenly spaced encoder layers kept (heads copied); a dir: a fresh extractor."""
    if spec.startswith("layers:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise InputError(f"--student-config {spec!r}: expected layers:N with N an integer") from None
        total = teacher.encoder.config.num_hidden_layers
        if not 1 <= n < total:
            raise InputError(f"--student-config {spec!r}: the teacher has {total} layers; N must be 1..{total - 1}")
        student = copy.deepcopy(teacher)
        keep = layer_map(n, total)[1:]  # 1-based teacher layers = 0-based layer index + 1
        student.encoder.encoder.layer = nn.ModuleList(student.encoder.encoder.layer[k - 1] for k in keep)
        student.encoder.config.num_hidden_layers = n
        if student.config.freeze_embeddings:
            student.encoder.get_input_embeddings().weight.requires_grad_(False)
        return student.train()
    path = Path(spec)
    if not path.is_dir():
        raise InputError(f"--student-config {spec!r}: use layers:N or an encoder directory")
    from kgbuild.extract.model import ExtractorConfig, new_model

    config = ExtractorConfig.from_dict(teacher.config.to_dict())
    overrides = {k: v for k, v in config.to_dict().items() if k not in ("entity_types", "relation_types", "lora_rank")}
    return new_model(str(path), config.entity_types, config.relation_types, **overrides)


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def distill(args: DistillArgs) -> dict[str, Any]:
    """Train the student against the teacher; write it to ``args.out``; return a summary (sizes, best dev metric)."""
    from transformers import AutoTokenizer

    from kgbuild.extract.batching import collate
    from kgbuild.extract.engine import Extractor
    from kgbuild.extract.saved import load_extractor, read_manifest, resolve_model, save_extractor
    from kgbuild.training.callbacks import Callback, EarlyStopping
    from kgbuild.datasets import read_annotations
    from kgbuild.evaluation.extraction import evaluate, flat_metrics
    from kgbuild.training.finetune import _promote, build_inputs
    from kgbuild.training.distributed import process_state
    from kgbuild.training.loop import TrainConfig, fit, make_dataloader, seed_everything

    started = time.perf_counter()
    teacher_path = resolve_model(args.teacher)
    teacher, schema, manifest = load_extractor(teacher_path)
    tokenizer = AutoTokenizer.from_pretrained(str(teacher_path))
    seed_everything(args.seed)
    student = make_student(teacher, args.student_config)
    if not args.student_config.startswith("layers:"):
        student_vocab = AutoTokenizer.from_pretrained(args.student_config).get_vocab()
        if student_vocab != tokenizer.get_vocab():
            raise ModelError(f"{args.student_config}: the student's vocabulary differs from the teacher's; "
                             "distillation matches token by token, so use an encoder trained with the teacher's tokenizer")
    docs = read_annotations(args.data, schema)[: args.limit]
    dev_docs = read_annotations(args.dev, schema)[: args.dev_limit] if args.dev else []
    if not docs:
        raise InputError(f"{args.data}: no training documents")
    inputs = build_inputs(docs, tokenizer, schema, min(student.config.max_len, teacher.config.max_len))
    data = make_dataloader(inputs, args.batch_size, partial(collate, n_relations=len(schema.relation_names)),
                           shuffle=True, seed=args.seed)
    model = Distiller(student, teacher, args)
    info = {"teacher": str(teacher_path), "student_config": args.student_config, "args": asdict(args),
            "teacher_parameters": parameters(teacher), "student_parameters": parameters(student)}

    def save(net: nn.Module, path: Path) -> None:
        # fp16 on disk halves what users ship; loading restores fp32 (the extractor computes in fp32/bf16)
        save_extractor(net.student, path, schema, tokenizer, manifest["base"], "full", dtype=torch.float16,
                       training={"distilled_from": str(teacher_path), **info},
                       stored_base_dtype=manifest.get("base_dtype", "float32"))

    def run_dev(net: nn.Module) -> dict[str, float]:
        extractor = Extractor(net.student, tokenizer, schema, device=str(next(net.parameters()).device))
        return flat_metrics(evaluate(extractor, dev_docs, gold_relations=False))

    steps_per_epoch = -(-len(data) // args.grad_accum)
    config = TrainConfig(
        output_dir=args.out, epochs=args.epochs, max_steps=args.max_steps, learning_rate=args.lr,
        grad_accum=args.grad_accum, mixed_precision=args.mixed_precision, cpu=args.cpu, seed=args.seed,
        log_every=max(1, steps_per_epoch // 4), metric_for_best="score" if dev_docs else None,
        resume="auto" if args.resume else None, save_final_model=not dev_docs,
        save_every=steps_per_epoch, save_total_limit=1,
        # DDP: which heads get gradients depends on the data (no coreference head with alias clustering, no relation
        # loss in a batch without entity pairs), so unused parameters are expected
        find_unused_parameters=True,
    )
    callbacks: list[Callback] = [EarlyStopping("score", patience=args.patience)] if dev_docs else []
    state = fit(model, data, config, progress=args.progress, evaluate=run_dev if dev_docs else None, save_model=save,
                callbacks=callbacks, run_config={"task": "distill", **info})
    out = Path(args.out)
    if process_state().is_main_process:  # under torchrun, one process writes the model directory
        if dev_docs and (out / "best").is_dir():
            _promote(out / "best", out)
        read_manifest(out)  # the student directory is a valid extractor
    return {**info, "steps": state.step, "best_metric": state.best_metric,
            "wall_s": round(time.perf_counter() - started, 1)}
