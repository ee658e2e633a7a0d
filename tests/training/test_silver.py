"""Self-training (`kgbuild train extract --extra-relations-from`): the bundled news model labels the relations of real
CoNLL-2003 news sentences given their gold entities; sure facts are taught as true and every other pair is left out
of the relation loss (with negatives: pairs without a fact are taught as no relation, doubtful facts left out)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kgbuild.resources import REPO_ROOT
from tests.datafiles import SAMPLES, dataset

CONLL04 = REPO_ROOT / "schemas" / "conll04.yaml"
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def news_sentences(conll04_extractor):
    from kgbuild.datasets import read_conll2003

    return [d for d in read_conll2003(SAMPLES / "conll2003" / "eng.testa.sample", conll04_extractor.schema, documents=False)
            if d.text]


def test_the_teachers_sure_facts_become_relations_and_its_doubtful_ones_are_left_out(conll04_extractor, news_sentences):
    from kgbuild.evaluation.extraction import predict_documents
    from kgbuild.training.silver import silver_relations

    labelled, left_out, summary = silver_relations(conll04_extractor, news_sentences, THRESHOLD, negatives=True)
    teacher = predict_documents(conll04_extractor, news_sentences, gold=True)
    sure = [{(r.head, r.tail, r.type) for r in p.relations if r.score >= THRESHOLD} for p in teacher]
    doubtful = [{(r.head, r.tail) for r in p.relations if r.score < THRESHOLD} for p in teacher]
    assert [{(r.head, r.tail, r.type) for r in d.relations} for d in labelled] == sure
    assert left_out == [d - {(h, t) for h, t, _ in s} for d, s in zip(doubtful, sure)]
    assert summary.positives == sum(map(len, sure)) >= 2 and summary.left_out >= 2  # both kinds occur in this news
    # the entities are the gold ones, untouched
    assert [d.mentions for d in labelled] == [d.mentions for d in news_sentences]
    # the default: without negatives every pair but the sure facts is left out
    _, unlabelled, _ = silver_relations(conll04_extractor, news_sentences, THRESHOLD)
    for doc, s, u in zip(news_sentences, sure, unlabelled):
        n = len(doc.clusters)
        assert u == {(h, t) for h in range(n) for t in range(n) if h != t} - {(h, t) for h, t, _ in s}


def test_left_out_pairs_are_no_training_example_and_sure_facts_are_positive(conll04_extractor, news_sentences):
    from transformers import AutoTokenizer

    from kgbuild.resources import base_encoder_path
    from kgbuild.schema import load_schema
    from kgbuild.training.finetune import build_inputs
    from kgbuild.training.silver import silver_relations

    schema = load_schema(CONLL04)
    labelled, left_out, _ = silver_relations(conll04_extractor, news_sentences, THRESHOLD, negatives=True)
    tokenizer = AutoTokenizer.from_pretrained(str(base_encoder_path()))
    inputs = build_inputs(labelled, tokenizer, schema, 256, left_out_pairs=left_out)
    relation_index = {t: i for i, t in enumerate(schema.relation_names)}
    positives = negatives = 0
    for doc, skipped, example in zip(labelled, left_out, inputs):
        n = len(doc.clusters)  # one gold mention per cluster, every one with subwords here
        assert set(example.pairs) == {(h, t) for h in range(n) for t in range(n) if h != t} - skipped
        labels = dict(zip(example.pairs, example.pair_labels))
        for relation in doc.relations:
            assert relation_index[relation.type] in labels[(relation.head, relation.tail)]
        positives += sum(1 for v in labels.values() if v)
        negatives += sum(1 for v in labels.values() if not v)
    assert positives >= 2 and negatives > positives
    # the default (no negatives): the sure facts are the only relation examples
    labelled, left_out, _ = silver_relations(conll04_extractor, news_sentences, THRESHOLD)
    for doc, example in zip(labelled, build_inputs(labelled, tokenizer, schema, 256, left_out_pairs=left_out)):
        assert sorted(example.pairs) == sorted({(r.head, r.tail) for r in doc.relations}) and all(example.pair_labels)


def test_a_teacher_of_another_schema_is_refused_in_one_line_before_training(tmp_path):
    command = [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "train", "extract",
               "--data", str(dataset("conll04/conll04_train.json")), "--schema", str(CONLL04), "--out", str(tmp_path / "m"),
               "--extra-data", str(SAMPLES / "conll2003" / "eng.testa.sample"), "--extra-relations-from", "default", "--cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.startswith("error: default: the teacher's schema differs"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "m").exists()
