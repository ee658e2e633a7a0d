"""`kgbuild train average` (WiSE-FT weight averaging): the mix is the weighted mean of two real extractors, the
ends are the models themselves, and models of different types are refused in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.datasets import read_annotations
from kgbuild.evaluation.extraction import predict_documents
from kgbuild.extract.engine import Extractor
from kgbuild.extract.saved import load_extractor
from kgbuild.resources import REPO_ROOT
from kgbuild.training.average import interpolate
from tests.datafiles import dataset

CONLL04 = REPO_ROOT / "schemas" / "conll04.yaml"


def _heads(path):
    model, _, _ = load_extractor(path)
    return {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}


def test_the_mix_is_the_weighted_mean_and_its_ends_are_the_models(tiny_extractor_dir, tmp_path):
    first, second = tiny_extractor_dir(CONLL04, seed=1), tiny_extractor_dir(CONLL04, seed=2)
    runner = CliRunner()
    for share in (0.0, 0.25, 1.0):
        out = tmp_path / f"mix{share}"
        result = runner.invoke(app, ["train", "average", "--first", str(first), "--second", str(second),
                                     "--share", str(share), "--out", str(out)])
        assert result.exit_code == 0, result.output
        a, b, mixed = _heads(first), _heads(second), _heads(out)
        assert not torch.allclose(a["entity_head.weight"], b["entity_head.weight"])  # two different models
        for key in a:  # stored in fp16, as shipped
            assert torch.allclose(mixed[key], (1 - share) * a[key] + share * b[key], atol=2e-3), key
    docs = read_annotations(dataset("conll04/conll04_dev.json"))[:5]
    at_zero = predict_documents(Extractor.load(tmp_path / "mix0.0", device="cpu"), docs)
    at_first = predict_documents(Extractor.load(first, device="cpu"), docs)
    assert [[(m.start, m.end, m.type) for m in p.mentions] for p in at_zero] == \
           [[(m.start, m.end, m.type) for m in p.mentions] for p in at_first]


def test_a_tensor_only_the_continued_model_has_starts_from_zero():
    first = {"w": torch.ones(2)}
    second = {"w": torch.full((2,), 3.0), "shape_embedding.weight": torch.full((2, 2), 4.0)}
    mixed = interpolate(first, second, 0.5)
    assert mixed["w"].tolist() == [2.0, 2.0] and mixed["shape_embedding.weight"].eq(2.0).all()
    with pytest.raises(ValueError):
        interpolate(first, second, 1.5)


def test_models_of_different_types_are_refused_in_one_line(tiny_extractor_dir, tmp_path):
    command = [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "train", "average",
               "--first", str(tiny_extractor_dir(CONLL04)), "--second", str(tiny_extractor_dir()), "--share", "0.5",
               "--out", str(tmp_path / "m")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "different types" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "m").exists()
