"""`kgbuild train extract` on slices of real data on CPU: the loss falls, the run writes its files, it resumes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.resources import REPO_ROOT
from tests.datafiles import dataset

CONLL04 = REPO_ROOT / "schemas" / "conll04.yaml"
DEFAULT = REPO_ROOT / "schemas" / "default.yaml"


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
