"""A tiny but real extractor directory for tests: all-MiniLM-L6-v2 cut to its first layers, heads for any schema.

Other stages' tests need an extractor that loads and runs like a trained one (the same directory format, the same
code path) in a second; its predictions are only as good as its training (none by default, a few steps on request).
"""

from __future__ import annotations

from pathlib import Path

import torch

from kgbuild.extract.saved import PACKAGED_BASE, resolve_base, save_extractor
from kgbuild.schema import Schema, load_schema


def make_tiny_extractor(out: str | Path, schema: str | Path | Schema, layers: int = 2, max_len: int = 128,
                        seed: int = 13, train_data: str | Path | None = None, steps: int = 0,
                        batch_size: int = 8) -> Path:
    """Write a model directory to ``out``: the first ``layers`` encoder layers of the packaged base, seeded heads.

    With ``train_data`` (annotations whose tags the schema maps) and ``steps`` > 0 it is fine-tuned that many
    optimizer steps on CPU first, with kgbuild's training loop.
    """
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from kgbuild.extract.model import new_model

    hf_logging.set_verbosity_error()
    out = Path(out)
    schema = schema if isinstance(schema, Schema) else load_schema(schema)
    location = resolve_base(PACKAGED_BASE)
    torch.manual_seed(seed)
    model = new_model(location, list(schema.entity_names), list(schema.relation_names), max_len=max_len, coref="alias")
    encoder = model.encoder
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    tokenizer = AutoTokenizer.from_pretrained(location)
    if train_data is not None and steps > 0:
        _train(model, schema, tokenizer, train_data, steps, batch_size, seed, out)
    model.eval()
    save_extractor(model, out, schema, tokenizer, PACKAGED_BASE, "full",
                   training={"data": str(train_data) if train_data else None, "steps": steps, "tiny": True})
    return out


def _train(model: torch.nn.Module, schema: Schema, tokenizer: object, data: str | Path, steps: int, batch_size: int,
           seed: int, out: Path) -> None:
    from functools import partial

    from kgbuild.extract.batching import collate
    from kgbuild.datasets import read_annotations
    from kgbuild.training.finetune import build_inputs
    from kgbuild.training.loop import TrainConfig, make_dataloader, train

    docs = read_annotations(data, schema)[: steps * batch_size]
    inputs = build_inputs(docs, tokenizer, schema, model.config.max_len)
    loader = make_dataloader(inputs, batch_size, partial(collate, n_relations=len(schema.relation_names)), seed=seed)
    config = TrainConfig(output_dir=str(out / "training"), max_steps=steps, learning_rate=3e-4, warmup_ratio=0.1,
                         cpu=True, seed=seed, log_every=1, save_final_model=False)
    for _ in train(model, loader, config):
        pass
