"""Calibrated confidence (issue 13, item 3): ECE and thresholds on hand-set scores, cross-fitting on the bundled news
model's real dev predictions (score maps, and the fact model on features), calibration.json round trip,
--min-confidence, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.datasets import read_annotations
from kgbuild.evaluation.calibration import (
    Labelled,
    choose_threshold,
    cross_fitted,
    expected_calibration_error,
    fit,
    fit_isotonic,
    label_predictions,
    pooled,
    threshold_table,
)
from kgbuild.evaluation.extraction import predict_documents
from kgbuild.extract.calibration import (
    FACT_FEATURES,
    Calibration,
    FactModel,
    ScoreMap,
    fact_features,
    keep_confident,
    load_calibration,
)
from kgbuild.records import Extraction, Mention, RelationMention
from tests.datafiles import dataset, needs_full_data

CONLL04_DEV = dataset("conll04/conll04_dev.json")


def test_ece_is_the_weighted_gap_between_confidence_and_accuracy():
    assert expected_calibration_error([0.9] * 10, [True] * 5 + [False] * 5) == pytest.approx(0.4)
    scores = [0.15] * 20 + [0.85] * 20  # two bins, each as accurate as it is confident
    correct = [True] * 3 + [False] * 17 + [True] * 17 + [False] * 3
    assert expected_calibration_error(scores, correct) == pytest.approx(0.0, abs=1e-9)
    assert expected_calibration_error([], []) == 0.0


def test_threshold_table_and_the_chosen_default():
    labelled = Labelled(np.array([0.95, 0.9, 0.7, 0.6, 0.55]), np.array([True, True, True, False, False]),
                        [frozenset({1}), frozenset({2}), frozenset({3}), frozenset(), frozenset()], np.zeros(5, int), 4)
    rows = {row["threshold"]: row for row in threshold_table(labelled)}
    assert rows[0.5] == {"threshold": 0.5, "kept": 5, "precision": 60.0, "recall": 75.0}
    assert rows[0.65]["precision"] == 100.0 and rows[0.95]["kept"] == 1 and rows[0.95]["recall"] == 25.0
    assert choose_threshold(labelled.scores, labelled.correct, 0.8) == (0.65, 1.0, True)
    never = choose_threshold(np.array([0.9, 0.9, 0.55]), np.array([True, False, False]), 0.8)
    assert never == (0.5, pytest.approx(1 / 3), False)  # unreachable: 0.50, and it says so


def test_score_maps_and_the_calibration_file(tmp_path):
    fitted = fit_isotonic([0.1, 0.2, 0.8, 0.9, 0.95], [False, False, True, False, True])
    assert list(fitted([0.0, 0.5, 1.0])) == sorted(fitted([0.0, 0.5, 1.0]))  # monotone
    assert ScoreMap()(np.array([0.3]))[0] == 0.3  # identity
    assert load_calibration(tmp_path) == Calibration()  # no file: raw scores, as older models have
    Calibration(fitted, ScoreMap((0.0, 1.0), (0.1, 0.6)), 0.55, {"data": "dev"}).save(tmp_path)
    loaded = load_calibration(tmp_path)
    assert loaded.min_confidence == 0.55 and loaded.fact.one(0.5) == pytest.approx(0.35)
    assert loaded.entity == fitted
    (tmp_path / "calibration.json").write_text(json.dumps({"entity": {"x": [0.5, 0.1], "y": [0, 1]}}))
    with pytest.raises(Exception, match="calibration.json.*non-decreasing"):
        load_calibration(tmp_path)


def test_fact_features_are_the_scores_logits_and_the_gap_between_the_nearest_names(tmp_path):
    text = "John Smith met Jack in Paris. Later John flew home."
    mentions = (Mention("d", 0, 10, "John Smith", "Person", 0.9), Mention("d", 15, 19, "Jack", "Person", 0.6),
                Mention("d", 23, 28, "Paris", "Location", 1.0), Mention("d", 36, 40, "John", "Person", 0.5))
    assert text[23:28] == "Paris" and text[36:40] == "John"
    p = Extraction("d", mentions, ((0, 3), (1,), (2,)), (RelationMention("d", 0, 2, "LIVE_IN", 0.8),
                                                        RelationMention("d", 1, 2, "LIVE_IN", 0.3)))
    rows = fact_features(p)
    logit = lambda x: np.log(x / (1 - x))  # noqa: E731
    # John Smith's best mention score is 0.9; Paris (a given name, 1.0) is clipped short of certainty; the nearest
    # mentions of John and Paris are "Paris" and "John" 8 characters apart ("Paris. Later John")
    assert rows[0] == pytest.approx([logit(0.8), logit(0.9), logit(1 - 1e-4), np.log1p(8)])
    assert rows[1] == pytest.approx([logit(0.3), logit(0.6), logit(1 - 1e-4), np.log1p(4)])  # "Jack in Paris"
    model = FactModel((1.0, 0.5, 0.0, -1.0), -0.5)
    calibrated = Calibration(ScoreMap(), model, 0.7).apply(p)
    expected = 1 / (1 + np.exp(-(rows @ np.array(model.coef) + model.intercept)))
    assert [r.score for r in calibrated.relations] == [round(float(v), 6) for v in expected]
    assert [m.score for m in calibrated.mentions] == [m.score for m in mentions]  # entities: identity map
    Calibration(ScoreMap((0.0, 1.0), (0.1, 0.9)), model, 0.7).save(tmp_path)
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert saved["format"] == 2 and saved["fact"]["features"] == list(FACT_FEATURES)
    assert load_calibration(tmp_path).fact == model
    held = FactModel(model.coef, model.intercept, (-9.0, -9.0, -9.0, 0.0), (9.0, 5.0, 5.0, 2.0))  # a fit's ranges
    assert held(rows)[0] == pytest.approx(model(np.minimum(rows[0], [9.0, 5.0, 5.0, 2.0]))[0])  # Paris: as sure as 5
    Calibration(ScoreMap(), held).save(tmp_path)
    assert load_calibration(tmp_path).fact == held
    saved["fact"]["features"] = ["fact", "distance"]
    (tmp_path / "calibration.json").write_text(json.dumps(saved))
    with pytest.raises(Exception, match=r"calibration.json: the fact calibration's features .* refit it"):
        load_calibration(tmp_path)


def test_min_confidence_drops_weak_mentions_their_lonely_entities_and_facts():
    mentions = (Mention("d", 0, 4, "John", "Person", 0.9), Mention("d", 10, 14, "Jack", "Person", 0.4),
                Mention("d", 20, 25, "Paris", "Location", 0.3))
    p = Extraction("d", mentions, ((0, 1), (2,)), (RelationMention("d", 0, 1, "LIVE_IN", 0.95),
                                                  RelationMention("d", 1, 0, "X", 0.2)))
    kept = keep_confident(p, 0.5)
    assert kept.mentions == mentions[:1] and kept.clusters == ((0,),) and kept.relations == ()
    assert keep_confident(p, 0.0) is p
    assert keep_confident(p, 0.25).relations == (RelationMention("d", 0, 1, "LIVE_IN", 0.95),)
    calibrated = Calibration(ScoreMap((0.0, 1.0), (0.0, 0.5)), ScoreMap((0.0, 1.0), (0.5, 1.0)), 0.5).apply(p)
    assert [m.score for m in calibrated.mentions] == [0.45, 0.2, 0.15] and calibrated.relations[0].score == 0.975


@pytest.fixture(scope="module")
def conll04_dev_labelled(conll04_extractor):
    """The bundled news model's raw scores on CoNLL04 dev, labelled correct or not."""
    saved = conll04_extractor.calibration
    conll04_extractor.calibration = Calibration()
    try:
        docs = read_annotations(CONLL04_DEV, conll04_extractor.schema)
        return label_predictions(docs, predict_documents(conll04_extractor, docs), docred=False, features=True)
    finally:
        conll04_extractor.calibration = saved


@needs_full_data  # cross-fitting needs every dev sentence
def test_calibrated_scores_beat_raw_ones_on_held_out_dev_documents(conll04_dev_labelled):
    for kind in ("entities", "facts"):
        items = conll04_dev_labelled[kind]
        assert len(items.scores) > 100 and 0 < items.correct.mean() < 1
        raw = expected_calibration_error(items.scores, items.correct)
        held_out = expected_calibration_error(cross_fitted(items, folds=5), items.correct)
        assert held_out < raw, (kind, raw, held_out)


@needs_full_data  # cross-fitting needs every dev sentence
def test_the_fact_model_ranks_held_out_facts_better_than_their_score_alone(conll04_dev_labelled):
    """The relation head's score alone ranks right facts above wrong ones poorly; with the names' scores and the
    distance between them, a fact model fitted on the other folds does better, and is calibrated as well as the map."""
    from sklearn.metrics import roc_auc_score

    facts = conll04_dev_labelled["facts"]
    assert facts.features is not None and facts.features.shape == (len(facts.scores), len(FACT_FEATURES))
    on_score = cross_fitted(facts, folds=5, method="platt")
    on_features = cross_fitted(facts, folds=5, method="features")
    auc_score, auc_features = roc_auc_score(facts.correct, on_score), roc_auc_score(facts.correct, on_features)
    assert auc_features > auc_score + 0.03, (auc_score, auc_features)
    assert expected_calibration_error(on_features, facts.correct) < expected_calibration_error(facts.scores, facts.correct)
    model = fit(facts, "features")
    assert isinstance(model, FactModel) and model.coef[0] > 0 and model.coef[3] < 0  # surer facts, nearer names


def test_the_build_path_keeps_only_confident_output(conll04_extractor):
    from kgbuild.datasets import to_segmented

    docs = read_annotations(CONLL04_DEV, conll04_extractor.schema)[:20]
    segmented = [to_segmented(d, conll04_extractor.count_tokens, conll04_extractor.max_tokens) for d in docs]
    saved = conll04_extractor.min_confidence
    try:
        conll04_extractor.min_confidence = 0.0
        everything = conll04_extractor(segmented)
        before = dict(conll04_extractor.below_threshold)
        conll04_extractor.min_confidence = 0.9
        confident = conll04_extractor(segmented)
        report = conll04_extractor.threshold_report()
    finally:
        conll04_extractor.min_confidence = saved
    count = lambda docs, kind: sum(len(getattr(e.extraction, kind)) for e in docs)  # noqa: E731
    assert count(confident, "mentions") < count(everything, "mentions")
    assert all(m.score >= 0.9 for e in confident for m in e.extraction.mentions)
    assert all(r.score >= 0.9 for e in confident for r in e.extraction.relations)
    # the build summary says what the threshold left out (a graph without facts says why)
    left = {kind: conll04_extractor.below_threshold[kind] - before[kind] for kind in before}
    assert left == {"facts": count(everything, "relations") - count(confident, "relations"),
                    "mentions": count(everything, "mentions") - count(confident, "mentions")}
    assert left["facts"] > 0 and report["mentions below --min-confidence 0.9"] >= left["mentions"]
    assert any(row.startswith("facts below --min-confidence 0.9 (best 0.") for row in report)


@needs_full_data  # fits on 80 dev sentences
def test_calibrate_then_eval_prints_ece_and_thresholds_and_plots(tmp_path):
    runner = CliRunner()
    out = tmp_path / "model"
    fitted = runner.invoke(app, ["train", "calibrate", "--model", "conll04", "--data", str(CONLL04_DEV), "--limit", "80",
                                 "--out", str(out), "--device", "cpu"])
    assert fitted.exit_code == 0, fitted.output
    assert "ECE raw" in fitted.output and (out / "calibration.json").is_file()
    info = json.loads((out / "calibration.json").read_text())
    assert info["fact"]["features"] == list(FACT_FEATURES) and 0.5 <= info["min_confidence"] <= 0.95
    result = runner.invoke(app, ["eval", "--model", str(out), "--data", str(CONLL04_DEV), "--limit", "40",
                                 "--device", "cpu", "--plot", str(tmp_path / "reliability.png")])
    assert result.exit_code == 0, result.output
    assert "expected calibration error" in result.output and "0.95" in result.output
    for name in ("reliability.png", "reliability-pr.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    as_json = runner.invoke(app, ["eval", "--model", str(out), "--data", str(CONLL04_DEV), "--limit", "10",
                                  "--device", "cpu", "--json", "--no-gold-entities"])
    calibration = json.loads(as_json.output)["calibration"]
    assert [row["threshold"] for row in calibration["facts"]["thresholds"]] == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
                                                                               0.85, 0.9, 0.95]
    assert 0 <= calibration["entities"]["ece"] <= 1


def test_pooled_labels_keep_each_datasets_documents_and_gold_apart():
    a = Labelled(np.array([0.9, 0.2]), np.array([True, False]), [frozenset({(0, 1, 4, "Person")}), frozenset()],
                 np.array([0, 1]), 3)
    b = Labelled(np.array([0.7]), np.array([True]), [frozenset({(0, 1, 4, "Person")})], np.array([0]), 2)
    both = pooled([a, b])
    assert both.scores.tolist() == [0.9, 0.2, 0.7] and both.correct.tolist() == [True, False, True]
    assert both.documents.tolist() == [0, 1, 2] and both.n_gold == 5
    assert both.found[0] != both.found[2]  # the same key in two datasets is two gold items


@needs_full_data
def test_entity_data_joins_the_entity_calibration_only(tmp_path):
    """`--entity-data eng.testa`: news entities join the entity map; the fact map and the default threshold come
    from the relation data alone (eng.testa annotates no relation, so its facts would all count as wrong)."""
    runner = CliRunner()
    alone, pooled_dir = tmp_path / "alone", tmp_path / "pooled"
    common = ["train", "calibrate", "--model", "conll04", "--data", str(CONLL04_DEV), "--limit", "60", "--device", "cpu"]
    assert runner.invoke(app, [*common, "--out", str(alone)]).exit_code == 0
    result = runner.invoke(app, [*common, "--out", str(pooled_dir), "--entity-data", str(dataset("conll2003/eng.testa"))])
    assert result.exit_code == 0, result.output
    first, second = (json.loads((d / "calibration.json").read_text()) for d in (alone, pooled_dir))
    assert second["fact"] == first["fact"] and second["min_confidence"] == first["min_confidence"]
    assert second["entity"] != first["entity"]
    assert second["info"]["entity_data"]["documents"] == 60
    assert second["info"]["entities"]["predicted"] > first["info"]["entities"]["predicted"]


def test_fact_method_picks_the_score_map_or_the_fact_model(tmp_path):
    runner = CliRunner()
    common = ["train", "calibrate", "--model", "conll04", "--data", str(CONLL04_DEV), "--device", "cpu"]
    wrong = runner.invoke(app, [*common, "--fact-method", "distance"])
    assert wrong.exit_code != 0 and "use features, platt or isotonic" in wrong.output
    result = runner.invoke(app, [*common, "--limit", "40", "--fact-method", "platt", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "m" / "calibration.json").read_text())
    assert saved["format"] == 1 and saved["fact"]["x"] and saved["method"] == "platt"
    assert isinstance(load_calibration(tmp_path / "m").fact, ScoreMap)
