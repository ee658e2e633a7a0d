"""Distributed training: the unchanged CLI commands (pretrain, extract, distill) under torchrun, 2 CPU processes
over gloo; both ranks end with the same weights, and the model written is what they trained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kgbuild.resources import REPO_ROOT
from tests.datafiles import dataset

pytestmark = pytest.mark.usefixtures("one_thread")
HERE = Path(__file__).resolve().parent


def test_two_process_torchrun_pretraining_agrees_on_weights(tmp_path: Path, small_tokenizer_dir: Path,
                                                             training_corpus: Path, tiny_bert_config: Path) -> None:
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from kgbuild.training.corpus import iter_texts
    from kgbuild.training.mlm_data import PackedMlmDataset

    out = tmp_path / "model"
    args = ["--corpus", str(training_corpus), "--config", str(tiny_bert_config), "--tokenizer", str(small_tokenizer_dir),
            "--epochs", "1", "--batch-size", "4", "--max-length", "64", "--lr", "1e-3", "--out", str(out)]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent.parent)}
    proc = subprocess.run([*torchrun, str(HERE / "ddp_pretrain_worker.py"), str(tmp_path), "--", *args],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]

    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # DDP kept both replicas identical
    saved = load_file(out / "model.safetensors")
    assert all(torch.equal(saved[k], rank0[k]) for k in saved if k in rank0)

    metrics = json.loads((out / "metrics.json").read_text())["summary"]
    tokenizer = AutoTokenizer.from_pretrained(str(small_tokenizer_dir))
    shard = PackedMlmDataset(lambda: iter_texts([training_corpus]), tokenizer, max_length=64, batch_size=4,
                             rank=0, world_size=2)
    assert metrics["processes"] == 2
    assert metrics["state"]["step"] == shard.count_batches()  # each process trained on its half of the corpus
    rows = sum(len(batch["input_ids"]) for batch in shard)
    assert metrics["state"]["tokens_seen"] == 2 * rows * 64  # both ranks' tokens are counted


def torchrun_cli(tmp_path: Path, *command: str) -> tuple[dict, dict]:
    """Run ``kgbuild *command`` under ``torchrun --nproc_per_node 2`` on CPU; each rank's final weights."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent.parent)}
    proc = subprocess.run([*torchrun, str(HERE / "ddp_cli_worker.py"), str(tmp_path), "--", *command],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # DDP kept both replicas identical
    return rank0, json.loads((Path(command[command.index("--out") + 1]) / "metrics.json").read_text())


def assert_saved_model_is_rank0s(out: Path, rank0: dict, prefix: str = "") -> None:
    """The written model directory loads, and its weights are the trained ones (saved fp16 or fp32)."""
    from kgbuild.extract.engine import Extractor

    extractor = Extractor.load(out, device="cpu")
    loaded = extractor.model.state_dict()
    trained = {k.removeprefix(prefix): v for k, v in rank0.items() if k.startswith(prefix)}
    assert trained and set(trained) <= set(loaded)
    for key, value in trained.items():
        torch.testing.assert_close(loaded[key].float(), value.float(), atol=2e-3, rtol=2e-3)


@pytest.mark.slow
def test_two_process_torchrun_fine_tuning(tmp_path: Path, tiny_base_dir: Path) -> None:
    out = tmp_path / "model"
    rank0, metrics = torchrun_cli(
        tmp_path, "train", "extract", "--data", str(dataset("conll04/conll04_train.json")),
        "--dev", str(dataset("conll04/conll04_dev.json")), "--schema", str(REPO_ROOT / "schemas" / "conll04.yaml"),
        "--out", str(out), "--base", str(tiny_base_dir), "--limit", "16", "--dev-limit", "4", "--epochs", "1",
        "--batch-size", "4", "--max-len", "64", "--cpu")
    summary = metrics["summary"]
    assert summary["processes"] == 2
    assert summary["state"]["step"] == 2  # 16 documents, 4 per batch, split over 2 processes: 2 steps each
    assert [r["step"] for r in metrics["history"] if "eval_score" in r] == [2]  # dev on the main process
    assert_saved_model_is_rank0s(out, rank0)


@pytest.mark.slow
def test_two_process_torchrun_distillation(tmp_path: Path, tiny_extractor_dir) -> None:  # type: ignore[no-untyped-def]
    schema = REPO_ROOT / "schemas" / "conll04.yaml"
    teacher = tiny_extractor_dir(schema, train_data=dataset("conll04/conll04_train.json"), steps=4)
    out = tmp_path / "student"
    rank0, metrics = torchrun_cli(
        tmp_path, "train", "distill", "--teacher", str(teacher), "--data", str(dataset("conll04/conll04_train.json")),
        "--out", str(out), "--student-config", "layers:1", "--max-steps", "3", "--limit", "16", "--batch-size", "4",
        "--cpu")
    assert metrics["summary"]["processes"] == 2 and metrics["summary"]["state"]["step"] == 3
    assert_saved_model_is_rank0s(out, rank0, prefix="student.")
