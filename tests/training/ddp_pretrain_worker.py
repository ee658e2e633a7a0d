"""Run by test_distributed.py under torchrun: the real ``kgbuild train pretrain`` command, then each rank's weights.

Usage: torchrun --standalone --nproc_per_node 2 ddp_pretrain_worker.py WEIGHTS_DIR -- <kgbuild train pretrain args>
The pretrain function is wrapped (not replaced) so that every rank can save the model it ended with.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from kgbuild.training import pretrain as pretrain_module


def main() -> None:
    weights_dir = Path(sys.argv[1])
    argv = sys.argv[sys.argv.index("--") + 1:]
    results = []
    real = pretrain_module.pretrain

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        results.append(real(*args, **kwargs))
        return results[-1]

    pretrain_module.pretrain = recording
    from kgbuild.cli.app import main as cli

    sys.argv = ["kgbuild", "train", "pretrain", *argv]
    try:
        cli()
    except SystemExit as exc:
        if exc.code:
            raise
    rank = int(os.environ["RANK"])
    state = {k: v.detach().cpu() for k, v in results[0].model.state_dict().items()}
    torch.save(state, weights_dir / f"rank{rank}.pt")


if __name__ == "__main__":
    main()
