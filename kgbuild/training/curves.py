"""Metrics history on disk: ``metrics.json`` (written atomically) and a learning-curve PNG beside the model."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

Record = dict[str, Any]  # one log line: {"step": int, "loss": float, ...} or {"step": int, "eval_loss": ...}


def write_metrics(path: Path, history: list[Record], summary: dict[str, Any]) -> None:
    """Write ``{"summary": ..., "history": [...]}`` via a temporary file so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"summary": summary, "history": history}, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def read_history(path: Path) -> list[Record]:
    """The history of an earlier run (empty when there is none), so a resumed run continues its curve."""
    if not path.exists():
        return []
    return list(json.loads(path.read_text()).get("history", []))


def plot_curves(path: Path, history: list[Record], title: str = "") -> Path | None:
    """Plot training loss (and every ``eval_*`` metric, plus perplexity when present) against the optimizer step.

    Returns the PNG path, or None when there is nothing to plot. Uses the Agg backend: no display needed.
    """
    train = [(r["step"], r["loss"]) for r in history if "loss" in r and _finite(r["loss"])]
    evals = sorted({k for r in history for k in r
                    if (k.startswith("eval_") or k == "perplexity") and not k.endswith("_tokens")})  # counts: no curve
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss_keys = [k for k in evals if k.endswith("loss")]
    other_keys = [k for k in evals if not k.endswith("loss")]
    ncols = 2 if other_keys else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
    ax = axes[0][0]
    if train:
        ax.plot(*zip(*train), label="train loss", linewidth=1)
    for key in loss_keys:
        points = [(r["step"], r[key]) for r in history if key in r and _finite(r[key])]
        if points:
            ax.plot(*zip(*points), marker="o", label=key)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    if other_keys:
        ax2 = axes[0][1]
        for key in other_keys:
            points = [(r["step"], r[key]) for r in history if key in r and _finite(r[key])]
            if points:
                ax2.plot(*zip(*points), marker="o", label=key)
        if "perplexity" in other_keys:
            ax2.set_yscale("log")
        ax2.set_xlabel("optimizer step")
        ax2.legend()
        ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
