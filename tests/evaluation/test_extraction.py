"""Strict scoring on hand-made predictions, and `kgbuild eval` end to end with a bundled model."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.records import Extraction, Mention, RelationMention
from kgbuild.datasets import AnnotatedDocument, GoldMention, GoldRelation
from kgbuild.evaluation.extraction import cluster_scores, prf, score
from tests.datafiles import dataset

TEXT = "Ada Lovelace met Babbage in London. Lovelace wrote."
ADA, BABBAGE, LONDON, LOVELACE = (0, 12), (17, 24), (28, 34), (36, 44)


def _doc(docred: bool) -> AnnotatedDocument:
    mentions = (GoldMention(*ADA, "Person"), GoldMention(*BABBAGE, "Person"), GoldMention(*LONDON, "Location"),
                GoldMention(*LOVELACE, "Person"))
    clusters = ((0, 3), (1,), (2,)) if docred else ((0,), (1,), (2,), (3,))
    return AnnotatedDocument("d", TEXT, mentions, clusters, (GoldRelation(0, 2, "RESIDENCE"),), ((0, 35), (36, 51)))


def _pred(clusters, relations, types=None) -> Extraction:
    spans = [(*ADA, "Person"), (*BABBAGE, "Person"), (*LONDON, "Location"), (*LOVELACE, "Person")]
    if types:
        spans = [(s, e, types[i]) for i, (s, e, _) in enumerate(spans)]
    mentions = tuple(Mention("d", s, e, TEXT[s:e], t) for s, e, t in spans)
    return Extraction("d", mentions, tuple(tuple(c) for c in clusters),
                      tuple(RelationMention("d", h, t, r, score) for h, t, r, score in relations))


def test_prf():
    assert prf(1, 2, 4) == {"precision": 50.0, "recall": 25.0, "f1": 33.33, "tp": 1, "predicted": 2, "gold": 4}
    assert prf(0, 0, 0)["f1"] == 0.0


def test_perfect_document_level_prediction_scores_100():
    result = score([_doc(True)], [_pred([[0, 3], [1], [2]], [(0, 2, "RESIDENCE", 0.9)])], docred=True)
    assert result["entities"]["f1"] == result["relations"]["f1"] == 100.0
    assert result["clusters"]["b_cubed"]["f1"] == 100.0 and result["clusters"]["exact"]["f1"] == 100.0


def test_relation_needs_the_exact_cluster_and_type():
    # Lovelace split from Ada: the relation's head cluster {Ada} no longer matches the gold {Ada, Lovelace}
    split = score([_doc(True)], [_pred([[0], [1], [2], [3]], [(0, 2, "RESIDENCE", 0.9)])], docred=True)
    assert split["relations"]["f1"] == 0.0 and split["entities"]["f1"] == 100.0
    assert 0 < split["clusters"]["b_cubed"]["f1"] < 100
    wrong_type = score([_doc(True)], [_pred([[0, 3], [1], [2]], [(0, 2, "RESIDENCE", 0.9)],
                                            types=["Person", "Person", "Organization", "Person"])], docred=True)
    assert wrong_type["relations"]["f1"] == 0.0 and wrong_type["entities"]["per_type"]["Location"]["recall"] == 0.0


def test_sentence_level_relations_are_between_mentions():
    result = score([_doc(False)], [_pred([[0], [1], [2], [3]], [(0, 2, "RESIDENCE", 0.9), (3, 2, "RESIDENCE", 0.5)])],
                   docred=False)
    assert result["relations"]["precision"] == 50.0 and result["relations"]["recall"] == 100.0
    assert result["relations"]["per_type"]["RESIDENCE"]["tp"] == 1


def test_b_cubed_counts_missed_and_spurious_mentions():
    doc = _doc(True)
    full = _pred([[0], [1], [2]], [])
    missing = dataclasses.replace(full, mentions=full.mentions[:3])
    result = cluster_scores([doc], [missing])["b_cubed"]
    # precision: every predicted mention is in a correct (sub)cluster except Ada's half: (1/1 + 1 + 1) / 3 = 1
    assert result["precision"] == 100.0
    # recall: Ada 1/2, Lovelace missed 0, Babbage 1, London 1 -> 2.5 / 4
    assert result["recall"] == 62.5


@pytest.mark.slow
def test_eval_cli_prints_the_stable_json_shape_and_a_table():
    runner = CliRunner()
    data = str(dataset("conll04/conll04_dev.json"))
    result = runner.invoke(app, ["eval", "--model", "conll04", "--data", data, "--limit", "20", "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["documents"] == 20
    for key in ("entities", "relations", "relations_gold_entities"):
        assert {"precision", "recall", "f1", "per_type"} <= set(out[key])
    assert "clusters" not in out  # sentence-level data
    assert out["entities"]["f1"] > 60  # a trained model, not noise
    table = runner.invoke(app, ["eval", "--model", "conll04", "--data", data, "--limit", "5", "--device", "cpu"])
    assert table.exit_code == 0 and "relations (strict RE+)" in table.output


def test_eval_cli_scores_the_news_model_on_crossre_news_and_names_what_it_leaves_out():
    """CrossRE's news sentences (eng.testa's, with relations): the news model is scored through its schema's CrossRE
    labels; win-defeat, opposite and named, which none of its relations means, are left out and said so."""
    runner = CliRunner()
    data = str(dataset("crossre/news-dev.json"))
    result = runner.invoke(app, ["eval", "--model", "conll04", "--data", data, "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["entities"]["gold"] > 0 and out["relations"]["gold"] > 0
    assert {"win-defeat", "opposite", "named"} <= set(out["relations_left_out"])
    table = runner.invoke(app, ["eval", "--model", "conll04", "--data", data, "--device", "cpu"])
    assert table.exit_code == 0 and "not scored" in table.output and "win-defeat" in table.output


def test_eval_cli_needs_model_and_data():
    result = CliRunner().invoke(app, ["eval", "--model", "conll04"])
    assert result.exit_code != 0 and "--data" in result.output


def test_each_data_set_scores_only_the_types_it_annotates():
    """CoNLL-2003 tags no dates or amounts: a predicted Value (conll04) or Time/Number (default) is not scored there,
    while against CoNLL04, whose "Other" tag holds values too, Value is scored as Other; real files' tags decide."""
    from kgbuild.datasets import read_annotations
    from kgbuild.evaluation.matching import scoring_types
    from kgbuild.resources import REPO_ROOT
    from kgbuild.schema import load_schema

    conll04 = load_schema(REPO_ROOT / "schemas" / "conll04.yaml")
    default = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    news = REPO_ROOT / "tests" / "data" / "datasets" / "conll2003" / "eng.testa.sample"  # with or without the full data
    assert scoring_types(conll04, read_annotations(dataset("conll04/conll04_dev.json"), conll04)) == {
        "Person": "Person", "Organization": "Organization", "Location": "Location", "Other": "Other", "Value": "Other"}
    assert scoring_types(conll04, read_annotations(news, conll04))["Value"] is None
    by_default = scoring_types(default, read_annotations(news, default))
    assert by_default["Time"] is None and by_default["Number"] is None and by_default["Misc"] == "Misc"
    redocred = read_annotations(dataset("re-docred/dev_100.json"), default)
    assert all(k == v for k, v in scoring_types(default, redocred).items())

    doc = AnnotatedDocument("d", "Lovelace left on Friday.", (GoldMention(0, 8, "Person", "PER"),), ((0,),), (),
                            ((0, 24),))
    pred = Extraction("d", (Mention("d", 0, 8, "Lovelace", "Person"), Mention("d", 17, 23, "Friday", "Value")), (), ())
    scored = score([doc], [pred], False, scoring_types(conll04, [doc]))
    assert scored["entities"]["predicted"] == 1 and scored["entities"]["precision"] == 100.0
    assert score([doc], [pred], False)["entities"]["predicted"] == 2  # without the map, as before
