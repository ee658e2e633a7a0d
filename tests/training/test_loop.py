"""The shared training loop: kill-and-resume to the same step and loss, accumulation, epochs, best model, early stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from kgbuild.training.callbacks import Callback, Control, EarlyStopping
from kgbuild.training.loop import TrainConfig, StepInfo, fit, latest_checkpoint, seed_everything, train

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parent.parent.parent


class Toy(nn.Module):
    """Linear regression that returns its own loss; no dropout, so runs are exactly comparable."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": nn.functional.mse_loss(self.lin(x).squeeze(-1), y)}


def _toy_data(n: int, batch: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n * batch, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1
    return [{"x": x[i:i + batch], "y": y[i:i + batch]} for i in range(0, n * batch, batch)]


def _toy(seed: int = 0) -> Toy:
    seed_everything(seed)
    return Toy()


class _KillAfter(Callback):
    """SIGKILL this process at the end of a step: nothing is flushed or cleaned up, as in a real crash."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, info: StepInfo, control: Control) -> None:
        if info.step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def run_tiny_pretraining(out: str, tokenizer: str, config: str, corpus: str, kill_at: int | None = None,
                         resume: bool = False) -> None:
    """A 12-step tiny-BERT pretraining run with a checkpoint every 5 steps (also run in a subprocess below)."""
    from kgbuild.training.pretrain import PretrainArgs, pretrain

    torch.set_num_threads(1)
    args = PretrainArgs(corpus=[corpus], config=config, tokenizer=tokenizer, max_length=32, batch_size=4,
                        shuffle_buffer=8)
    train_config = TrainConfig(output_dir=out, max_steps=12, learning_rate=1e-3, save_every=5, log_every=1,
                               resume="auto" if resume else None)
    pretrain(args, train_config, callbacks=[_KillAfter(kill_at)] if kill_at else ())


def test_killed_run_resumes_to_the_same_step_and_loss(tmp_path: Path, small_tokenizer_dir: Path,
                                                      training_corpus: Path, tiny_bert_config: Path) -> None:
    common = dict(tokenizer=str(small_tokenizer_dir), config=str(tiny_bert_config), corpus=str(training_corpus))
    reference = tmp_path / "reference"
    run_tiny_pretraining(str(reference), **common)
    crashed = tmp_path / "crashed"
    code = (f"from tests.training.test_loop import run_tiny_pretraining as r; "
            f"r({str(crashed)!r}, **{common!r}, kill_at=8)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert latest_checkpoint(crashed).name == "step-5" and not (crashed / "model.safetensors").exists()

    run_tiny_pretraining(str(crashed), **common, resume=True)
    want = json.loads((reference / "metrics.json").read_text())["history"]
    got = json.loads((crashed / "metrics.json").read_text())["history"]
    assert [r["step"] for r in got] == list(range(1, 13))
    for a, b in zip(want, got):  # steps 6..12 ran after the resume: same data, masks, dropout and updates
        assert b["loss"] == pytest.approx(a["loss"], abs=1e-5), a["step"]
        assert b["lr"] == pytest.approx(a["lr"])
    ckpt = json.loads((latest_checkpoint(crashed) / "trainer_state.json").read_text())
    assert ckpt["state"]["step"] == 12 and ckpt["train"]["max_steps"] == 12 and ckpt["run"]["task"] == "pretrain"
    from safetensors.torch import load_file

    w_ref, w_res = load_file(reference / "model.safetensors"), load_file(crashed / "model.safetensors")
    assert all(torch.allclose(w_ref[k], w_res[k], atol=1e-6) for k in w_ref)


def test_accumulation_matches_one_large_batch(tmp_path: Path) -> None:
    small, large = _toy_data(12, 4), _toy_data(6, 8)
    cfg = dict(max_steps=6, learning_rate=0.05, warmup_steps=0, weight_decay=0.0, max_grad_norm=0.0)
    a, b = _toy(), _toy()
    fit(a, small, TrainConfig(output_dir=str(tmp_path / "a"), grad_accum=2, **cfg), progress=False)
    fit(b, large, TrainConfig(output_dir=str(tmp_path / "b"), grad_accum=1, **cfg), progress=False)
    assert torch.allclose(a.lin.weight, b.lin.weight, atol=1e-6)
    assert not torch.allclose(a.lin.weight, _toy().lin.weight)


def test_epochs_partial_steps_and_evaluation_at_each_epoch_end(tmp_path: Path) -> None:
    data = _toy_data(10, 4)
    evaluations: list[int] = []

    def evaluate(model: nn.Module) -> dict[str, float]:
        evaluations.append(len(evaluations))
        with torch.no_grad():
            return {"loss": float(sum(model(**b)["loss"] for b in data) / len(data))}

    infos = list(train(_toy(), data, TrainConfig(output_dir=str(tmp_path), epochs=2, grad_accum=3,
                                                 learning_rate=0.05), evaluate=evaluate))
    assert [i.step for i in infos] == list(range(1, 9))  # ceil(10 / 3) = 4 steps per epoch, the last one partial
    assert [i.epoch for i in infos] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert [i.step for i in infos if i.metrics] == [4, 8] and len(evaluations) == 2
    assert sum(i.tokens for i in infos) == 0  # no input_ids: the toy batches carry no tokens
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["eval_loss"] for r in metrics["history"] if "eval_loss" in r] == [i.metrics["loss"] for i in infos if i.metrics]
    assert (tmp_path / "learning_curve.png").exists() and (tmp_path / "run_config.json").exists()


def test_best_model_is_kept_and_early_stopping_stops(tmp_path: Path) -> None:
    scores = iter([0.5, 0.8, 0.7, 0.75, 0.6, 0.9])
    saved: list[Path] = []
    model = _toy()
    config = TrainConfig(output_dir=str(tmp_path), max_steps=100, eval_every=2, learning_rate=0.01,
                         metric_for_best="f1", greater_is_better=True)
    infos = list(train(model, _toy_data(50, 4), config, evaluate=lambda m: {"f1": next(scores)},
                       save_model=lambda m, p: saved.append(p),
                       callbacks=[EarlyStopping("f1", patience=2)]))
    assert infos[-1].step == 8  # evaluations at 2, 4 (best), 6, 8: two without improvement -> stop
    assert [i.step for i in infos if i.is_best] == [2, 4]
    assert saved == [tmp_path / "best", tmp_path / "best", tmp_path]  # best twice, then the final model
    assert infos[-1].checkpoint is not None and latest_checkpoint(tmp_path).name == "step-8"
    state = json.loads((tmp_path / "metrics.json").read_text())["summary"]["state"]
    assert state["best_step"] == 4 and state["best_metric"] == 0.8


def test_user_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_steps or epochs"):
        TrainConfig(output_dir=str(tmp_path))

    class NoLoss(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.lin(x)

    with pytest.raises(ValueError, match="must return its loss"):
        list(train(NoLoss(), _toy_data(2, 2), TrainConfig(output_dir=str(tmp_path), max_steps=1)))
    with pytest.raises(ValueError, match="no batches"):
        list(train(_toy(), [], TrainConfig(output_dir=str(tmp_path), max_steps=1)))
