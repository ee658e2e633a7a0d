"""One readable training loop for every kgbuild model: pretraining, extractor fine-tuning and distillation.

The loop is a generator (as in spaCy's ``train_while_improving``): it yields a :class:`StepInfo` after every optimizer
step, so logging, progress bars and tests read from it instead of hooking into it. The model computes its own loss
(nanoGPT style): ``model(**batch)`` must return an object with ``.loss`` or a dict with ``"loss"``.

What it does, top to bottom: seed; AdamW (no weight decay on biases and norms) with linear warm-up and linear decay;
mixed precision (bf16 on a GPU that has it, fp16 with loss scaling on request, fp32 on CPU); gradient accumulation
(DDP gradients synchronised only on the last micro-batch); gradient clipping; evaluation every N steps and at each
epoch end; best-model keeping; callbacks that set flags (early stopping); checkpoints that carry their config and
resume to the same step with the same next loss (model, optimizer, scheduler, RNG states, data position); a
``metrics.json`` and a ``learning_curve.png`` next to the output. Process handling is accelerate's ``Accelerator``:
the same code runs in one process, under ``torchrun --nproc_per_node N`` (gloo on CPU, NCCL on GPU) or under
``accelerate launch``.

Data contract: ``data`` is any re-iterable of batches (dicts of tensors, e.g. a ``DataLoader``). It is iterated once
per epoch; if it (or its ``sampler``/``dataset``) has ``set_epoch(epoch)`` that is called first. Iterating it for a
given epoch must give the same batches every time (seeded shuffling and masking), because resuming skips the
batches already consumed in the current epoch. Under DDP each process must see its own shard with the *same number*
of batches: :func:`make_dataloader` does this for map-style datasets; an ``IterableDataset`` shards itself.

Example::

    from kgbuild.training.loop import TrainConfig, fit, make_dataloader, seed_everything
    from kgbuild.training.callbacks import EarlyStopping

    seed_everything(13)                                  # before building the model: same init on every process
    model = MyModel(...)                                 # forward(**batch) -> has .loss
    data = make_dataloader(train_set, batch_size=16, collate_fn=collate, shuffle=True, seed=13)
    config = TrainConfig(output_dir="runs/x", epochs=3, learning_rate=5e-5, eval_every=200,
                         metric_for_best="f1", greater_is_better=True)
    state = fit(model, data, config,
                evaluate=lambda m: {"f1": my_f1(m)},            # runs on the main process; m is unwrapped
                save_model=lambda m, path: m.save_pretrained(path),  # writes <output_dir>/best and the final model
                callbacks=[EarlyStopping("f1", patience=3)],
                run_config={"task": "extract", "base": "..."})  # stored in every checkpoint and in metrics.json
    # or drive it yourself:  for info in train(model, data, config, ...): print(info.step, info.loss)
    # resume after a crash: the same call with TrainConfig(..., resume="auto")
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kgbuild.training.callbacks import Callback
from kgbuild.training.checkpoint import CHECKPOINTS, find_resume, get_rng_state, latest_checkpoint, save_checkpoint, set_rng_state
from kgbuild.training.curves import plot_curves, read_history, write_metrics
from kgbuild.training.distributed import make_dataloader, process_state, seed_everything
from kgbuild.training.config import TrainConfig
from kgbuild.training.state import Control, StepInfo, TrainState

__all__ = ["CHECKPOINTS", "StepInfo", "TrainConfig", "TrainState", "fit", "latest_checkpoint", "make_dataloader",
           "process_state", "seed_everything", "train"]

Batch = Mapping[str, Any]  # {"input_ids": LongTensor[B, L], "labels": ..., ...}
Evaluate = Callable[[nn.Module], dict[str, float]]
SaveModel = Callable[[nn.Module, Path], None]

METRICS_FILE = "metrics.json"
CURVE_FILE = "learning_curve.png"
RUN_CONFIG_FILE = "run_config.json"


def train(
    model: nn.Module,
    data: Iterable[Batch],
    config: TrainConfig,
    *,
    evaluate: Evaluate | None = None,
    save_model: SaveModel | None = None,
    callbacks: Sequence[Callback] = (),
    run_config: Mapping[str, Any] | None = None,
    batches_per_epoch: int | None = None,
    trainable: Callable[[str, nn.Parameter], bool] | None = None,
) -> Generator[StepInfo, None, TrainState]:
    """Train ``model`` on ``data``, yielding a :class:`StepInfo` after every optimizer step (see module docstring).

    ``batches_per_epoch`` (per process) is needed with ``epochs`` when ``len(data)`` is unknown.
    ``trainable(name, param)`` picks the parameters to train (default: all with ``requires_grad``).
    """
    run = _setup(model, data, config, callbacks, run_config, batches_per_epoch, trainable)
    state = run.state
    run.model.train()
    done = state.step >= run.total_steps
    while not done:
        _set_epoch(data, state.epoch)
        batches = islice(iter(data), state.batches_in_epoch, None)  # resume: skip what this epoch already consumed
        pending = next(batches, None)  # one batch of look-ahead tells us when a step ends the epoch
        if pending is None:
            raise ValueError(f"training data yielded no batches in epoch {state.epoch}")
        if run.resumed_rng is not None:
            # Creating and fast-forwarding the iterator drew from the global RNG (DataLoader seeds, samplers); the
            # saved state was taken after that point in the original run, so re-apply it for identical dropout.
            if state.batches_in_epoch > 0:
                set_rng_state(run.resumed_rng)
            run.resumed_rng = None
        while pending is not None and not done:
            micro = [pending, *islice(batches, config.grad_accum - 1)]
            pending = next(batches, None)
            info = _optimizer_step(run, micro, config)
            done = _bookkeeping(run, info, config, evaluate, save_model, callbacks, ends_epoch=pending is None)
            yield info
    _finish(run, config, save_model)
    return state


@dataclass
class _Run:
    """What :func:`_setup` prepares for one call of :func:`train`: the accelerator, the wrapped model and optimizer,
    the schedule, the counters and the metrics history."""

    acc: Any  # accelerate.Accelerator
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    state: TrainState
    out: Path
    total_steps: int
    run_record: dict[str, Any]
    history: list[dict[str, Any]]
    resumed_rng: Any
    started: float = field(default_factory=time.perf_counter)
    last_step: float = field(default_factory=time.perf_counter)

    def summary(self) -> dict[str, Any]:
        return {**self.run_record, "state": self.state.state_dict(), "total_steps": self.total_steps}


def _setup(model: nn.Module, data: Iterable[Batch], config: TrainConfig, callbacks: Sequence[Callback],
           run_config: Mapping[str, Any] | None, batches_per_epoch: int | None,
           trainable: Callable[[str, nn.Parameter], bool] | None) -> _Run:
    """Accelerator, seed, optimizer and schedule, then a resume from the newest checkpoint when asked."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs
    from transformers import get_linear_schedule_with_warmup

    out = Path(config.output_dir)
    ddp = DistributedDataParallelKwargs(find_unused_parameters=config.find_unused_parameters)
    # accelerate only sets up gloo DDP under torchrun when told cpu=True, so say so whenever there is no GPU
    acc = Accelerator(mixed_precision=_precision(config), cpu=config.cpu or not torch.cuda.is_available(),
                      kwargs_handlers=[ddp])
    seed_everything(config.seed)
    if acc.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 matmuls that remain (e.g. the loss) use tensor cores
        torch.backends.cudnn.allow_tf32 = True

    total_steps, _ = _total_steps(config, data, batches_per_epoch)
    model.to(acc.device)  # before the optimizer: fused AdamW wants its parameters on the GPU already
    optimizer = _adamw(model, config, acc.device.type == "cuda", trainable)
    warmup = config.warmup_steps if config.warmup_steps is not None else int(config.warmup_ratio * total_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    # The scheduler is not prepared: accelerate would step it once per process. It is checkpointed as a custom object.
    model, optimizer = acc.prepare(model, optimizer)
    state = TrainState()
    acc.register_for_checkpointing(scheduler, state, *[c for c in callbacks if hasattr(c, "state_dict")])

    run_record = {"train": config.to_dict(), "run": dict(run_config or {}), "processes": acc.num_processes}
    resume_dir = find_resume(out, config.resume)
    if resume_dir is not None:
        acc.load_state(str(resume_dir))  # model, optimizer, scheduler, TrainState, callbacks, RNG (per process)
        acc.print(f"resumed from {resume_dir} at step {state.step} (epoch {state.epoch}, batch {state.batches_in_epoch})")
    resumed_rng = get_rng_state() if resume_dir is not None else None
    history = [r for r in read_history(out / METRICS_FILE) if r["step"] <= state.step] if resume_dir else []
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_CONFIG_FILE).write_text(json.dumps(run_record, indent=1, default=str) + "\n")
    return _Run(acc, model, optimizer, scheduler, state, out, total_steps, run_record, history, resumed_rng)


def _optimizer_step(run: _Run, micro: list[Batch], config: TrainConfig) -> StepInfo:
    """One optimizer step over ``len(micro)`` micro-batches; advances the counters and says what happened."""
    acc, model, state = run.acc, run.model, run.state
    loss_sum = torch.zeros((), device=acc.device)
    tokens = 0
    for i, batch in enumerate(micro):
        batch = _to_device(batch, acc.device)
        tokens += _count_tokens(batch)
        sync = i == len(micro) - 1  # DDP all-reduces gradients only on the last micro-batch
        with contextlib.nullcontext() if sync else acc.no_sync(model):
            loss = _loss_of(model(**batch)) / len(micro)
            acc.backward(loss)
        loss_sum += loss.detach()
    grad_norm = None
    if config.max_grad_norm > 0:
        grad_norm = float(acc.clip_grad_norm_(model.parameters(), config.max_grad_norm))
    run.optimizer.step()
    if not acc.optimizer_step_was_skipped:  # fp16 overflow: keep the schedule where it was
        run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    totals = acc.reduce(torch.stack([loss_sum.float(), torch.tensor(float(tokens), device=acc.device)]), "sum")
    state.step += 1
    state.batches_in_epoch += len(micro)
    state.tokens_seen += int(totals[1])
    now = time.perf_counter()
    info = StepInfo(
        step=state.step, epoch=state.epoch, loss=float(totals[0]) / acc.num_processes,
        learning_rate=run.scheduler.get_last_lr()[0], grad_norm=grad_norm, tokens=int(totals[1]),
        tokens_per_s=float(totals[1]) / max(now - run.last_step, 1e-9), elapsed_s=now - run.started,
    )
    run.last_step = now
    return info


def _bookkeeping(run: _Run, info: StepInfo, config: TrainConfig, evaluate: Evaluate | None,
                 save_model: SaveModel | None, callbacks: Sequence[Callback], ends_epoch: bool) -> bool:
    """After a step: the schedule's flags, the callbacks', then evaluate, keep the best, save, log, in that order.

    Returns whether training is done.
    """
    acc, state = run.acc, run.state
    done = state.step >= run.total_steps
    control = Control(
        should_evaluate=evaluate is not None and _every(config.eval_every, state.step),
        should_save=_every(config.save_every, state.step),
    )
    if ends_epoch:
        state.epoch, state.batches_in_epoch = state.epoch + 1, 0
        control.should_evaluate = control.should_evaluate or (evaluate is not None and config.eval_each_epoch)
        done = done or (config.epochs is not None and state.epoch >= config.epochs)
    if done:
        control.should_evaluate = evaluate is not None
        control.should_save = control.should_save or bool(config.save_every)
    for cb in callbacks:
        cb.on_step_end(info, control)
    logged = _every(config.log_every, state.step) or control.should_evaluate or done
    if logged:
        run.history.append({"step": info.step, "epoch": info.epoch, "loss": info.loss, "lr": info.learning_rate,
                            "grad_norm": info.grad_norm, "tokens_per_s": info.tokens_per_s,
                            "tokens_seen": state.tokens_seen, "elapsed_s": info.elapsed_s})
    if control.should_evaluate:
        info.metrics = _evaluate(run, evaluate)
        run.history.append({"step": info.step, **{_eval_key(k): v for k, v in info.metrics.items()}})
        for cb in callbacks:
            cb.on_evaluate(info, info.metrics, control)
        info.is_best = _update_best(state, info.metrics, config)
        if info.is_best and save_model is not None and acc.is_main_process:
            save_model(acc.unwrap_model(run.model, keep_fp32_wrapper=False), run.out / "best")
    if control.should_stop:
        control.should_save, done = True, True  # a stopped run can always be resumed
    if control.should_save:
        info.checkpoint = save_checkpoint(acc, run.out, state, run.run_record, config.save_total_limit)
    if acc.is_main_process and (logged or control.should_save):
        write_metrics(run.out / METRICS_FILE, run.history, run.summary())
    return done


def _evaluate(run: _Run, evaluate: Evaluate | None) -> dict[str, float]:
    """Evaluate on the main process with the unwrapped model; every process gets the same metrics back."""
    from accelerate.utils import broadcast_object_list

    metrics: list[Any] = [None]
    if run.acc.is_main_process and evaluate is not None:
        run.model.eval()
        metrics[0] = {k: float(v) for k, v in evaluate(run.acc.unwrap_model(run.model)).items()}
        run.model.train()
    broadcast_object_list(metrics)
    run.acc.wait_for_everyone()
    return metrics[0]


def _finish(run: _Run, config: TrainConfig, save_model: SaveModel | None) -> None:
    """The final metrics, the learning curve and the model, written once by the main process."""
    acc = run.acc
    acc.wait_for_everyone()
    if acc.is_main_process:
        write_metrics(run.out / METRICS_FILE, run.history, run.summary())
        plot_curves(run.out / CURVE_FILE, run.history, title=run.out.name)
        if config.save_final_model and save_model is not None:
            save_model(acc.unwrap_model(run.model, keep_fp32_wrapper=False), run.out)
    acc.wait_for_everyone()


def fit(model: nn.Module, data: Iterable[Batch], config: TrainConfig, *, progress: bool = True,
        **kwargs: Any) -> TrainState:
    """Drain :func:`train` with a progress bar on the main process and return the final counters."""
    from tqdm.auto import tqdm

    show = progress and process_state().is_main_process
    bar = tqdm(total=config.max_steps, disable=not show, desc=Path(config.output_dir).name)
    steps = train(model, data, config, **kwargs)
    while True:
        try:
            info = next(steps)
        except StopIteration as stop:  # the generator returns its TrainState
            bar.close()
            return stop.value
        bar.update(info.step - bar.n)
        postfix = {"loss": f"{info.loss:.4f}", "tok/s": f"{info.tokens_per_s:,.0f}"}
        postfix.update({k: f"{v:.4g}" for k, v in (info.metrics or {}).items()})
        bar.set_postfix(postfix)


# ---- helpers ------------------------------------------------------------------------------------------------------


def _precision(config: TrainConfig) -> str:
    if config.mixed_precision != "auto":
        return config.mixed_precision
    if not config.cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "no"


def _total_steps(config: TrainConfig, data: Iterable[Batch], batches_per_epoch: int | None) -> tuple[int, int | None]:
    """(total optimizer steps, optimizer steps per epoch or None when unknown)."""
    if batches_per_epoch is None:
        try:
            batches_per_epoch = len(data)  # type: ignore[arg-type]
        except TypeError:
            batches_per_epoch = None
    per_epoch = math.ceil(batches_per_epoch / config.grad_accum) if batches_per_epoch else None
    if config.epochs is not None:
        if per_epoch is None:
            raise ValueError("epochs needs the number of batches per epoch: pass batches_per_epoch or use max_steps")
        by_epochs = math.ceil(config.epochs * per_epoch)
        return (min(by_epochs, config.max_steps) if config.max_steps else by_epochs), per_epoch
    return int(config.max_steps or 0), per_epoch


def _adamw(model: nn.Module, config: TrainConfig, cuda: bool,
           trainable: Callable[[str, nn.Parameter], bool] | None) -> torch.optim.AdamW:
    """AdamW with two groups: matrices decay, biases and norm weights (1-D) do not (as in BERT)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad or (trainable is not None and not trainable(name, p)):
            p.requires_grad_(False)
            continue
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=config.adam_betas, eps=config.adam_eps,
                             fused=cuda or None)


def _update_best(state: TrainState, metrics: Mapping[str, float], config: TrainConfig) -> bool:
    key = config.metric_for_best
    if key is None:
        return False
    if key not in metrics:
        raise KeyError(f"metric_for_best={key!r} is not among the evaluation metrics {sorted(metrics)}")
    value = metrics[key]
    better = state.best_metric is None or (
        value > state.best_metric if config.greater_is_better else value < state.best_metric)
    if better:
        state.best_metric, state.best_step = value, state.step
    return better


def _set_epoch(data: Any, epoch: int) -> None:
    for obj in (data, getattr(data, "sampler", None), getattr(data, "dataset", None)):
        if obj is not None and hasattr(obj, "set_epoch"):
            obj.set_epoch(epoch)


def _to_device(batch: Batch, device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _count_tokens(batch: Mapping[str, Any]) -> int:
    """Real tokens: the attention mask's ones when there is a mask (padding excluded), else every input id."""
    if isinstance(batch.get("attention_mask"), torch.Tensor):
        return int(batch["attention_mask"].sum())
    ids = batch.get("input_ids")
    return int(ids.numel()) if isinstance(ids, torch.Tensor) else 0


def _loss_of(output: Any) -> torch.Tensor:
    loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
    if loss is None:
        raise ValueError("the model must return its loss (an output with .loss or a dict with 'loss') in training")
    return loss


def _eval_key(key: str) -> str:
    return key if key.startswith("eval_") or key == "perplexity" else f"eval_{key}"


def _every(n: int | None, step: int) -> bool:
    return bool(n) and step % n == 0  # type: ignore[operator]


