"""The arguments of one training run, shared by every ``kgbuild train`` command (each field is a CLI option)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping


@dataclass
class TrainConfig:
    """Arguments of one training run (every field is a CLI option of the ``kgbuild train`` commands)."""

    output_dir: str = field(metadata={"help": "Directory for checkpoints, metrics.json, the curve and the model."})
    max_steps: int | None = field(default=None, metadata={"help": "Stop after this many optimizer steps."})
    epochs: float | None = field(default=None, metadata={"help": "Stop after this many passes over the data."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak AdamW learning rate, reached after warm-up."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW decay; never applied to biases and norms."})
    adam_betas: tuple[float, float] = field(default=(0.9, 0.999), metadata={"help": "AdamW betas."})
    adam_eps: float = field(default=1e-8, metadata={"help": "AdamW epsilon."})
    warmup_ratio: float = field(default=0.06, metadata={"help": "Fraction of steps with a linear warm-up."})
    warmup_steps: int | None = field(default=None, metadata={"help": "Warm-up steps; overrides warmup_ratio."})
    grad_accum: int = field(default=1, metadata={"help": "Micro-batches per optimizer step."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Clip the global gradient norm (0 disables)."})
    mixed_precision: str = field(default="auto", metadata={"help": "auto (bf16 on a capable GPU), bf16, fp16, no."})
    cpu: bool = field(default=False, metadata={"help": "Train on CPU even when a GPU is present."})
    seed: int = field(default=13, metadata={"help": "Seed for Python, NumPy and torch (all processes)."})
    log_every: int = field(default=10, metadata={"help": "Append a training record to metrics.json every N steps."})
    eval_every: int | None = field(default=None, metadata={"help": "Evaluate every N steps."})
    eval_each_epoch: bool = field(default=True, metadata={"help": "Also evaluate when an epoch ends."})
    save_every: int | None = field(default=None, metadata={"help": "Write a resumable checkpoint every N steps."})
    save_total_limit: int = field(default=2, metadata={"help": "Keep only the newest N checkpoints."})
    metric_for_best: str | None = field(default=None, metadata={"help": "Keep <output_dir>/best by this metric."})
    greater_is_better: bool = field(default=True, metadata={"help": "Direction of metric_for_best."})
    resume: str | None = field(default=None, metadata={"help": "'auto' (newest checkpoint, if any) or a path."})
    find_unused_parameters: bool = field(default=False, metadata={"help": "DDP: allow parameters without grads."})
    save_final_model: bool = field(default=True, metadata={"help": "Call save_model(model, output_dir) at the end."})

    def __post_init__(self) -> None:
        if self.max_steps is None and self.epochs is None:
            raise ValueError("TrainConfig needs max_steps or epochs")
        if self.grad_accum < 1:
            raise ValueError(f"grad_accum must be >= 1, got {self.grad_accum}")
        if self.mixed_precision not in {"auto", "bf16", "fp16", "no"}:
            raise ValueError(f"mixed_precision must be auto, bf16, fp16 or no, got {self.mixed_precision!r}")
        self.adam_betas = tuple(self.adam_betas)  # type: ignore[assignment]  # JSON gives a list

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Rebuild from a saved dict, ignoring keys a newer or older version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
