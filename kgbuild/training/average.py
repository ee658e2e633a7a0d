"""Weight averaging of two fine-tuned extractors from one lineage (WiSE-FT, Wortsman et al., 2022).

A model continued on new data (CoNLL-2003 news entities) gains there and loses some of what it learned first
(CoNLL04 relations). Interpolating the weights of the model before and after, ``(1 - a) * first + a * second``,
keeps most of both where the two lie in one basin, which holds when the second was trained from the first. No
training is run: the mix is chosen by evaluating a few ``a`` on dev (docs/training.md has the figures).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from kgbuild.errors import InputError
from kgbuild.extract.saved import _base_encoder, load_extractor, read_manifest, requantize, resolve_model, save_extractor
from kgbuild.schema import Schema


def interpolate(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor], share: float) -> dict[str, torch.Tensor]:
    """``(1 - share) * first + share * second`` per floating-point tensor; a tensor only the second has (word
    shapes added while continuing) counts as zero in the first, which predicts the same as not having it."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie in [0, 1], not {share}")
    missing = [k for k in first if k not in second]
    if missing:
        raise InputError(f"the second model lacks {missing[:3]}: average models of one lineage")
    mixed = {}
    for key, value in second.items():
        base = first.get(key, torch.zeros_like(value))
        if base.shape != value.shape:
            raise InputError(f"{key}: shapes differ ({tuple(base.shape)} vs {tuple(value.shape)})")
        mixed[key] = torch.lerp(base.float(), value.float(), share) if value.is_floating_point() else value
    return mixed


def average(first: str | Path, second: str | Path, share: float, out: str | Path,
            schema: Schema | None = None) -> dict[str, Any]:
    """Write the averaged extractor to ``out`` with the second model's config, tokenizer and schema, its encoder as
    an int8 delta against the base when the second is stored as a delta (the shipping format); returns the record
    kept in the new manifest's ``training``."""
    started = time.perf_counter()
    first_path, second_path = resolve_model(first), resolve_model(second)
    model_a, schema_a, _ = load_extractor(first_path, schema)
    model_b, schema_b, manifest = load_extractor(second_path, schema)
    if model_a.config.entity_types != model_b.config.entity_types or \
            model_a.config.relation_types != model_b.config.relation_types:
        raise InputError(f"{first_path} and {second_path} have different types; they cannot be averaged")
    model_b.load_state_dict(interpolate(model_a.state_dict(), model_b.state_dict(), share))
    delta = manifest["encoder"] in ("delta", "delta8")
    base_weights = {k: v.detach().clone() for k, v in _base_encoder(manifest).state_dict().items()} if delta else None
    from transformers import AutoTokenizer

    record = {"averaged": {"first": str(first), "second": str(second), "share_of_second": share},
              "first": read_manifest(first_path).get("training", {}), "second": manifest.get("training", {})}
    save_extractor(model_b, out, schema or schema_b, AutoTokenizer.from_pretrained(str(second_path)), manifest["base"],
                   "delta" if delta else "full", base_weights, dtype=torch.float16, training=record,
                   stored_base_dtype=manifest.get("base_dtype", "float32"))
    if delta:
        requantize(out)
    record["seconds"] = round(time.perf_counter() - started, 1)
    return record
