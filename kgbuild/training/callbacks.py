"""Callbacks for :mod:`kgbuild.training.loop`: they change *when* things happen by setting flags, never by calling in.

The loop fills a fresh :class:`Control` every optimizer step from its own schedule (``eval_every``, ``save_every``),
then hands it to each callback; a callback may raise a flag (``should_evaluate``, ``should_save``, ``should_stop``)
and the loop acts on the flags in a fixed order: evaluate, save, stop. This is the transformers-examples rule:
subclass to change what is computed, use a callback to change when.
"""

from __future__ import annotations

import math

from kgbuild.training.state import Control, StepInfo

__all__ = ["Callback", "Control", "EarlyStopping", "StopAtStep"]


class Callback:
    """Base class: override the hooks you need; each one may only read its arguments and set flags on ``control``."""

    def on_step_end(self, info: StepInfo, control: Control) -> None:
        """Called after every optimizer step, before evaluation and saving."""

    def on_evaluate(self, info: StepInfo, metrics: dict[str, float], control: Control) -> None:
        """Called after an evaluation with its metrics (the same on every process)."""


class EarlyStopping(Callback):
    """Stop when ``metric`` has not improved by ``min_delta`` for ``patience`` evaluations in a row."""

    def __init__(self, metric: str, patience: int = 3, greater_is_better: bool = True, min_delta: float = 0.0):
        if patience < 1:
            raise ValueError(f"EarlyStopping patience must be >= 1, got {patience}")
        self.metric = metric
        self.patience = patience
        self.greater_is_better = greater_is_better
        self.min_delta = min_delta
        self.best = -math.inf if greater_is_better else math.inf
        self.bad_evaluations = 0

    def _improved(self, value: float) -> bool:
        if self.greater_is_better:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_evaluate(self, info: StepInfo, metrics: dict[str, float], control: Control) -> None:
        if self.metric not in metrics:
            raise KeyError(f"EarlyStopping watches {self.metric!r} but evaluate() returned only {sorted(metrics)}")
        value = float(metrics[self.metric])
        if self._improved(value):
            self.best = value
            self.bad_evaluations = 0
        else:
            self.bad_evaluations += 1
            if self.bad_evaluations >= self.patience:
                control.should_stop = True

    def state_dict(self) -> dict[str, float | int]:
        """Saved with the checkpoint so that patience survives a resume."""
        return {"best": self.best, "bad_evaluations": self.bad_evaluations}

    def load_state_dict(self, state: dict[str, float | int]) -> None:
        self.best = float(state["best"])
        self.bad_evaluations = int(state["bad_evaluations"])


class StopAtStep(Callback):
    """Stop after a given optimizer step (handy in tests and for time-boxed runs); the run can be resumed later."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, info: StepInfo, control: Control) -> None:
        if info.step >= self.step:
            control.should_stop = True
