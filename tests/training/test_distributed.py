"""Distributed pretraining: the unchanged CLI command under torchrun, 2 CPU processes over gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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
