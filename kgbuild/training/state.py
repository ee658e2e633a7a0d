"""What the training loop and its callbacks share: the counters a checkpoint saves, what each optimizer step yields,
and the flags a callback may raise. Kept apart from the loop so that callbacks never import it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass
class TrainState:
    """Counters saved in every checkpoint; with the RNG states they put a resumed run exactly where it stopped."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0  # micro-batches of the current epoch already consumed
    tokens_seen: int = 0
    best_metric: float | None = None
    best_step: int | None = None

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)


@dataclass
class StepInfo:
    """What the loop yields after each optimizer step; ``metrics`` is set when this step evaluated."""

    step: int
    epoch: int
    loss: float  # mean over micro-batches and processes
    learning_rate: float
    grad_norm: float | None
    tokens: int  # real (non-padding) tokens in this step, all processes
    tokens_per_s: float
    elapsed_s: float
    metrics: dict[str, float] | None = None
    checkpoint: Path | None = None
    is_best: bool = False


@dataclass
class Control:
    """Flags for the current optimizer step; the loop resets them every step."""

    should_evaluate: bool = False
    should_save: bool = False
    should_stop: bool = False
