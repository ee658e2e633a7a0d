"""`kgbuild eval fusion` and `kgbuild train fusion` (and its old spelling `kgbuild fusion calibrate`) through the real CLI, on small slices of Re-DocRED."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.fusion import FusionConfig
from tests.datafiles import dataset

RESOLVERS = ("kgbuild", "exact", "fuzzy_wratio_0.8", "cosine_0.97")


@pytest.fixture(scope="module")
def redocred() -> Path:
    return dataset("re-docred")


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_eval_fusion_json_has_the_stable_shape(redocred: Path, fusion_embedder) -> None:
    out = json.loads(run("eval", "fusion", "--data", str(redocred / "dev_100.json"), "--limit", "3", "--set", "in-document", "--json"))
    assert set(out) == {"mentions", *RESOLVERS}
    mentions = json.loads((redocred / "dev_100.json").read_text())[:3]
    assert out["mentions"] == sum(len(v) for doc in mentions for v in doc["vertexSet"])
    gold = {out[r]["clusters"]["gold"] for r in RESOLVERS}
    assert gold == {sum(len(doc["vertexSet"]) for doc in mentions)}
    for resolver in RESOLVERS:
        assert set(out[resolver]) == {"pairwise", "b_cubed", "clusters"}
        for metric in ("pairwise", "b_cubed"):
            assert set(out[resolver][metric]) == {"precision", "recall", "f1"}
            assert all(0.0 <= v <= 100.0 for v in out[resolver][metric].values())  # percentages
    assert out["exact"]["pairwise"]["precision"] >= 90  # identical names in one document are nearly always one entity


def test_eval_fusion_table_shows_the_three_sets_and_the_anchors(redocred: Path, fusion_embedder) -> None:
    text = run("eval", "fusion", "--data", str(redocred / "dev_100.json"), "--limit", "3")
    for needle in ("in-document", "predicted", "cross-document", "extractor", *RESOLVERS, "JEREX", "gold mention recall"):
        assert needle in text


def test_eval_fusion_json_on_the_identity_gold_has_the_three_settings(fusion_embedder) -> None:
    gold = Path(__file__).resolve().parents[1] / "data" / "fusion" / "conll2003_testa_fusion.jsonl"
    out = json.loads(run("eval", "fusion", "--data", str(gold), "--limit", "6", "--json"))
    assert set(out) == {"in-document", "predicted", "cross-document"}
    assert set(out["predicted"]) == {"mentions", "mention_recall", "predicted_mentions", "extractor", *RESOLVERS}
    # the predicted set scores gold and predicted mentions together: at least every gold mention is an item
    assert out["predicted"]["mentions"] >= out["in-document"]["mentions"]
    assert 50 < out["predicted"]["mention_recall"] <= 100
    assert out["cross-document"]["kgbuild"]["pairwise"]["precision"] >= 90


def test_calibrate_writes_settings_that_eval_uses(redocred: Path, tmp_path: Path, fusion_embedder) -> None:
    out = tmp_path / "model"
    text = run("train", "fusion", "--data", str(redocred / "train_400.json"), "--limit", "6",
               "--context-weights", "0.25", "--out", str(out))
    assert "wrote" in text
    config = FusionConfig.load(out)
    assert config.context_weight == 0.25 and config.meta["calibrated_on"] == "train_400.json"
    assert set(config.thresholds) == {"same_document", "cross_document"}
    assert "Person" in config.thresholds["same_document"]
    result = json.loads(run("eval", "fusion", "--data", str(redocred / "dev_100.json"), "--limit", "2",
                            "--set", "cross-document", "--thresholds", str(out), "--json"))
    assert result["kgbuild"]["b_cubed"]["f1"] > 0


def test_the_old_spelling_fusion_calibrate_stays_as_a_hidden_alias() -> None:
    from typer.testing import CliRunner

    from kgbuild.cli.app import app

    runner = CliRunner()
    assert "--context-weights" in runner.invoke(app, ["fusion", "calibrate", "--help"]).output
    assert "--context-weights" in runner.invoke(app, ["train", "fusion", "--help"]).output
    top = runner.invoke(app, ["--help"]).output
    assert "train" in top and not any(line.strip().startswith("fusion") for line in top.splitlines())


def test_a_broken_settings_file_is_a_one_line_error(redocred: Path, tmp_path: Path) -> None:
    bad = tmp_path / "fusion.json"
    bad.write_text('{"weights": {}, "colour": 1}')
    done = subprocess.run(
        [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "eval", "fusion",
         "--data", str(redocred / "dev_100.json"), "--thresholds", str(bad)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and str(bad) in lines[-1] and "colour" in lines[-1]
    bad.write_text("{not json")
    with pytest.raises(Exception, match="not valid JSON"):
        FusionConfig.load(bad)


def test_loading_the_sentence_encoder_prints_no_progress_bar() -> None:
    """transformers' "Loading weights" bar and load report once reached stderr on every build and evaluation."""
    code = "from kgbuild.fusion.embed import default_model, load_model; load_model(default_model())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Loading weights" not in result.stderr and "LOAD REPORT" not in result.stderr, result.stderr[-500:]
