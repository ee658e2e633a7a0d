"""Checkpoints of the training loop: ``<output_dir>/checkpoints/step-N`` written with accelerate's ``save_state``.

A checkpoint holds the model, optimizer, LR scheduler, loop counters (data position included), callback states and
every process's RNG states, plus ``trainer_state.json`` with the run's full configuration, so resuming is one flag.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

CHECKPOINTS = "checkpoints"


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest ``checkpoints/step-N`` directory of a run, or None."""
    root = Path(output_dir) / CHECKPOINTS
    found = sorted(root.glob("step-*"), key=lambda p: int(p.name.split("-")[1])) if root.is_dir() else []
    return found[-1] if found else None


def find_resume(out: Path, resume: str | None) -> Path | None:
    if resume is None:
        return None
    if resume == "auto":
        return latest_checkpoint(out)
    path = Path(resume)
    if not (path / "trainer_state.json").exists():
        raise FileNotFoundError(f"{path}: not a kgbuild checkpoint (no trainer_state.json); pass a checkpoints/step-N dir")
    return path


def save_checkpoint(acc: Any, out: Path, state: Any, run_record: Mapping[str, Any], limit: int) -> Path:
    """Write checkpoints/step-N (all processes take part: each saves its own RNG state), then prune old ones."""
    path = out / CHECKPOINTS / f"step-{state.step}"
    acc.save_state(str(path), safe_serialization=False)  # pickle keeps tied weights (MLM decoder = embeddings)
    if acc.is_main_process:
        (path / "trainer_state.json").write_text(json.dumps({"state": state.state_dict(), **run_record}, indent=1,
                                                            default=str) + "\n")
        for old in sorted((out / CHECKPOINTS).glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-limit]:
            shutil.rmtree(old, ignore_errors=True)
    acc.wait_for_everyone()
    return path


def get_rng_state() -> dict[str, Any]:
    import random

    import numpy as np

    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(saved: Mapping[str, Any]) -> None:
    import random

    import numpy as np

    random.setstate(saved["python"])
    np.random.set_state(saved["numpy"])
    torch.set_rng_state(saved["torch"])
    if saved["cuda"] is not None:
        torch.cuda.set_rng_state_all(saved["cuda"])
