"""`kgbuild train extract` on slices of real data on CPU: the loss falls, the run writes its files, it resumes."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.resources import REPO_ROOT
from tests.datafiles import dataset, needs_full_data

CONLL04 = REPO_ROOT / "schemas" / "conll04.yaml"
DEFAULT = REPO_ROOT / "schemas" / "default.yaml"
# eng.testa (first 200 sentences) after the 2-layer run below: Person 58.1, Location 55.1 on 2026-11-30; chance is ~0
FLOOR_PERSON, FLOOR_LOCATION = 30, 30


@pytest.mark.slow
def test_training_on_conll04_lowers_the_loss_and_writes_a_loadable_model(tiny_base_dir, tmp_path):
    from kgbuild.extract.engine import Extractor

    out = tmp_path / "model"
    result = CliRunner().invoke(app, [
        "train", "extract", "--data", str(dataset("conll04/conll04_train.json")),
        "--dev", str(dataset("conll04/conll04_dev.json")), "--schema", str(CONLL04), "--out", str(out),
        "--base", str(tiny_base_dir), "--limit", "32", "--dev-limit", "8", "--epochs", "3", "--batch-size", "8",
        "--lr", "5e-4", "--max-len", "128", "--cpu",
    ])
    assert result.exit_code == 0, result.output
    history = json.loads((out / "metrics.json").read_text())["history"]
    losses = [r["loss"] for r in history if "loss" in r]
    assert len(losses) >= 6 and sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3
    assert [r["step"] for r in history if "eval_score" in r] == [4, 8, 12]  # dev after every epoch
    assert (out / "learning_curve.png").stat().st_size > 1000 and (out / "run_config.json").exists()
    manifest = json.loads((out / "kgbuild_extractor.json").read_text())
    assert manifest["training"]["steps"] == 12 and manifest["extractor"]["coref"] == "alias"
    assert manifest["extractor"]["relation_scope"] == "sentence"  # CoNLL04 shows no pair across sentences
    extractor = Extractor.load(out, device="cpu")
    assert extractor.max_tokens == 126 and extractor.schema.name == "conll04"


@pytest.mark.slow
def test_document_level_training_resumes_from_its_checkpoint(tiny_base_dir, tmp_path):
    from kgbuild.training.finetune import FinetuneArgs, finetune

    args = dict(data=str(dataset("re-docred/train_400.json")), schema=str(DEFAULT), out=str(tmp_path / "m"),
                base=str(tiny_base_dir), limit=4, epochs=2, batch_size=2, max_len=128, cpu=True, progress=False,
                save_format="delta8")
    first = finetune(FinetuneArgs(**args, max_steps=2))
    assert first["steps"] == 2
    manifest = json.loads((tmp_path / "m" / "kgbuild_extractor.json").read_text())
    assert manifest["extractor"]["coref"] == "learned" and manifest["encoder"] == "delta8"
    assert manifest["extractor"]["relation_scope"] == "window"  # document-level data: pairs across sentences
    second = finetune(FinetuneArgs(**args, resume=True))
    assert second["steps"] == 4
    history = json.loads((tmp_path / "m" / "metrics.json").read_text())["history"]
    assert [r["step"] for r in history if "loss" in r] == [1, 2, 3, 4]


def test_unknown_tags_stop_training_with_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "Ada met Bob.", "entities": [{"start": 0, "end": 3, "type": "ALIEN"}]}) + "\n")
    result = CliRunner().invoke(app, ["train", "extract", "--data", str(bad), "--schema", str(CONLL04),
                                      "--out", str(tmp_path / "m"), "--cpu"])
    assert result.exit_code != 0
    assert "entity tag 'ALIEN' is not in schema 'conll04'" in str(result.exception)
    assert not (tmp_path / "m").exists()


@needs_full_data  # eng.train is not among the shipped samples
def test_entity_only_extra_data_masks_relations_and_loosens_the_unannotated_type():
    """CoNLL-2003 beside CoNLL04: no entity pair is scored (relation loss masked, not "no relation"), and MISC or O
    words may be O or Other (CoNLL-2003's MISC is not CoNLL04's Other, which also holds dates and amounts)."""
    from transformers import AutoTokenizer

    from kgbuild.datasets import read_annotations, read_conll2003
    from kgbuild.extract.batching import collate
    from kgbuild.extract.decode import bio_labels_for
    from kgbuild.resources import base_encoder_path
    from kgbuild.schema import load_schema
    from kgbuild.training.finetune import build_inputs

    schema = load_schema(CONLL04)
    tokenizer = AutoTokenizer.from_pretrained(str(base_encoder_path()))
    docs = read_conll2003(dataset("conll2003/eng.train"), schema, documents=False)[:40]
    assert docs[0].text == "EU rejects German call to boycott British lamb."
    labels = bio_labels_for(schema.entity_names)
    extra = build_inputs(docs, tokenizer, schema, 128, relations_annotated=False, unannotated_types=("Other",))
    assert all(d.pairs == [] and d.pair_labels == [] for d in extra) and sum(len(d.clusters) for d in extra) > 40
    first = extra[0]
    words = [docs[0].text[s:e] for s, e in first.enc.words]
    loose = sorted(labels.index(t) for t in ("O", "B-Other", "I-Other"))
    assert first.word_allowed[words.index("EU")] == [labels.index("B-Organization")]
    assert first.word_allowed[words.index("German")] == loose and first.word_allowed[words.index("rejects")] == loose
    conll04 = build_inputs(read_annotations(dataset("conll04/conll04_train.json"), schema)[:4], tokenizer,
                           schema, 128)
    assert all(d.word_allowed is None for d in conll04) and any(any(p) for d in conll04 for p in d.pair_labels)
    batch = collate(conll04 + extra[:4], n_relations=len(schema.relation_names), n_tags=len(labels))
    allowed = batch["word_allowed"]
    assert allowed.shape == (len(batch["word_labels"]), len(labels))
    assert allowed[torch.arange(len(allowed)), batch["word_labels"]].all()  # the gold tag is always allowed
    n04 = sum(len(d.enc.words) for d in conll04)
    assert (allowed[:n04].sum(-1) == 1).all() and (allowed[n04:].sum(-1) == 3).any()
    assert batch["pair_index"].shape[0] == 8 and not batch["pair_mask"][4:].any()


@needs_full_data
def test_an_open_type_keeps_the_extra_datas_spans_and_frees_its_o_words():
    """`--extra-open MISC`: CoNLL-2003's MISC words must be Other ("German"), its O words may be O or Other (it
    leaves as O the dates and amounts CoNLL04 calls Other), and its other types stay strict."""
    from transformers import AutoTokenizer

    from kgbuild.datasets import read_conll2003
    from kgbuild.extract.decode import bio_labels_for
    from kgbuild.resources import base_encoder_path
    from kgbuild.schema import load_schema
    from kgbuild.training.finetune import build_inputs

    schema = load_schema(CONLL04)
    tokenizer = AutoTokenizer.from_pretrained(str(base_encoder_path()))
    docs = read_conll2003(dataset("conll2003/eng.train"), schema, documents=False)[:1]
    labels = bio_labels_for(schema.entity_names)
    first = build_inputs(docs, tokenizer, schema, 128, relations_annotated=False, open_types=("Other",))[0]
    words = [docs[0].text[s:e] for s, e in first.enc.words]
    assert first.word_allowed[words.index("German")] == [labels.index("B-Other")]
    assert first.word_allowed[words.index("rejects")] == sorted(labels.index(t) for t in ("O", "B-Other", "I-Other"))
    assert first.word_allowed[words.index("EU")] == [labels.index("B-Organization")]


def test_data_repeat_passes_over_the_relation_data_more_than_once_and_init_keeps_the_lineage(tmp_path):
    from kgbuild.extract.saved import read_manifest, resolve_model

    out = tmp_path / "m"
    result = CliRunner().invoke(app, [
        "train", "extract", "--data", str(dataset("conll04/conll04_train.json")), "--schema", str(CONLL04),
        "--out", str(out), "--limit", "6", "--data-repeat", "3", "--batch-size", "6", "--epochs", "1",
        "--init", str(resolve_model("conll04")), "--save-format", "delta", "--cpu",
    ])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "kgbuild_extractor.json").read_text())
    assert manifest["training"]["train_documents"] == 18 and "3 steps" in result.output
    assert manifest["training"]["init_training"] == read_manifest(resolve_model("conll04"))["training"]
    bad = CliRunner().invoke(app, ["train", "extract", "--data", str(dataset("conll04/conll04_train.json")),
                                   "--schema", str(CONLL04), "--out", str(tmp_path / "n"), "--data-repeat", "0"])
    assert bad.exit_code != 0 and "--data-repeat must be at least 1" in str(bad.exception)


@pytest.mark.slow
@needs_full_data
def test_word_shapes_and_conll2003_extra_data_train_an_entity_tagger(tiny_base_dir, tmp_path):
    """`--word-shapes output --extra-data eng.train`: a 2-layer encoder trained a few minutes tags eng.testa's
    people, places and organisations well above chance, and the shape vectors it learned are saved with it."""
    from safetensors.torch import load_file

    from kgbuild.datasets import read_annotations
    from kgbuild.evaluation.extraction import evaluate
    from kgbuild.extract.engine import Extractor

    out = tmp_path / "model"
    result = CliRunner().invoke(app, [
        "train", "extract", "--data", str(dataset("conll04/conll04_train.json")),
        "--schema", str(CONLL04), "--out", str(out), "--base", str(tiny_base_dir), "--limit", "32",
        "--extra-data", str(dataset("conll2003/eng.train")), "--extra-limit", "320",
        "--extra-unannotated", "MISC", "--word-shapes", "output", "--epochs", "2", "--batch-size", "16",
        "--lr", "5e-4", "--max-len", "128", "--cpu",
    ])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "kgbuild_extractor.json").read_text())
    assert manifest["extractor"]["word_shapes"] == "output" and manifest["training"]["extra_documents"] == 320
    assert load_file(str(out / "heads.safetensors"))["shape_embedding.weight"].abs().sum() > 0
    extractor = Extractor.load(out, device="cpu")
    docs = read_annotations(dataset("conll2003/eng.testa"), extractor.schema)[:200]
    scores = evaluate(extractor, docs, gold_relations=False)["entities"]["per_type"]
    assert scores["Person"]["f1"] > FLOOR_PERSON and scores["Location"]["f1"] > FLOOR_LOCATION, scores


@needs_full_data
def test_data_open_frees_the_nationalities_conll04_leaves_untagged():
    """`--data-open Other`: the words CoNLL-2003 names alone as MISC ("American", "Spanish") may be O or Other where
    CoNLL04 leaves them O; every other CoNLL04 word keeps its one tag, and a tagged word is never loosened."""
    from transformers import AutoTokenizer

    from kgbuild.datasets import read_conll2003, read_spert
    from kgbuild.extract.decode import bio_labels_for
    from kgbuild.resources import base_encoder_path
    from kgbuild.schema import load_schema
    from kgbuild.training.finetune import build_inputs, words_named_alone

    schema = load_schema(CONLL04)
    extra = [d for d in read_conll2003(dataset("conll2003/eng.train"), schema, documents=False) if d.text]
    opened = words_named_alone(extra, ("Other",))
    assert {opened[w] for w in ("American", "Spanish", "German", "Russian", "Olympic")} == {"Other"}
    assert not {"EU", "the", "U.S.", "Germany", "Reuters", "World"} & set(opened)
    labels = bio_labels_for(schema.entity_names)
    tokenizer = AutoTokenizer.from_pretrained(str(base_encoder_path()))
    docs = [d for d in read_spert(dataset("conll04/conll04_train.json"), schema)
            if " American " in d.text or " Spanish " in d.text][:6]
    assert len(docs) == 6
    loose = sorted(labels.index(t) for t in ("O", "B-Other"))
    freed = 0
    for doc, inputs in zip(docs, build_inputs(docs, tokenizer, schema, 128, open_words=opened)):
        for (start, end), gold, allowed in zip(inputs.enc.words, inputs.word_labels, inputs.word_allowed):
            if doc.text[start:end] in opened and gold == labels.index("O"):
                assert allowed == loose
                freed += 1
            else:
                assert allowed == [gold], doc.text[start:end]
    assert freed >= 4  # "American" inside a tagged name ("American Airlines") stays as tagged


def test_split_values_types_conll04s_dates_and_amounts_apart_from_its_names():
    """`--split-values Other:Value` on real CoNLL04 training sentences: "1900 GMT", "two years", "$1 million" become
    Value; "Warren Commission Report", "Thanksgiving" and "1996 World Cup"-like names stay Other."""
    from kgbuild.datasets import read_spert
    from kgbuild.names import looks_like_value
    from kgbuild.schema import load_schema
    from kgbuild.training.finetune import split_values

    schema = load_schema(CONLL04)
    docs = read_spert(dataset("conll04/conll04_train.json"), schema)
    split = split_values(docs, "Other:Value", schema)
    before = [(d.text[m.start:m.end], m.type) for d in docs for m in d.mentions]
    after = [(d.text[m.start:m.end], m.type) for d in split for m in d.mentions]
    assert [t for t, _ in before] == [t for t, _ in after]  # same spans, only types change
    values = {t for t, ty in after if ty == "Value"}
    names = {t for t, ty in after if ty == "Other"}
    assert values and names and all(looks_like_value(t) for t in values) and not any(looks_like_value(t) for t in names)
    assert {ty for (_, ty), (_, old) in zip(after, before) if ty != old} == {"Value"}
    for text in ("1900 GMT", "two years", "Sunday", "$218 , 592", "5 Apr 94", "14 billion crowns"):
        assert looks_like_value(text), text
    for text in ("Warren Commission Report", "Thanksgiving", "1996 World Cup", "Boeing 747", "rice"):
        assert not looks_like_value(text), text
    with pytest.raises(Exception, match="FROM:TO"):
        split_values(docs, "Other:Nothing", schema)


def test_init_from_a_model_whose_schema_lacks_a_new_type_starts_it_as_its_twin():
    """A schema that adds types at its end (as conll04's Value did, sharing CoNLL04's "Other" tag with Other): the
    saved model's weights load unchanged, a new type sharing a tag starts as that twin, one without as never chosen."""
    from kgbuild.extract.saved import load_extractor
    from kgbuild.schema import Schema
    from kgbuild.training.finetune import _from_trained

    path = REPO_ROOT / "kgbuild" / "models" / "conll04"
    saved, saved_schema, _ = load_extractor(path)
    grown = saved_schema.model_dump()
    grown["entities"] = [*grown["entities"], {"name": "Amount", "labels": ["Other"]}, {"name": "Gadget"}]
    model, _, _ = _from_trained(str(path), Schema.model_validate(grown), None)
    n_old = len(saved.config.entity_types)
    assert model.config.entity_types == [*saved.config.entity_types, "Amount", "Gadget"]
    other = saved.config.entity_types.index("Other")
    head = saved.entity_head.weight.float()
    assert torch.equal(model.entity_head.weight[: 1 + 2 * n_old].float(), head)
    assert torch.equal(model.entity_head.weight[1 + 2 * n_old : 3 + 2 * n_old].float(), head[1 + 2 * other : 3 + 2 * other])
    assert torch.equal(model.type_embedding.weight[n_old].float(), saved.type_embedding.weight[other].float())
    assert not model.entity_head.weight[3 + 2 * n_old :].any()  # no twin: zero rows, scored below every tag
    assert (model.entity_head.bias[3 + 2 * n_old :] < model.entity_head.bias[: 3 + 2 * n_old].min()).all()
