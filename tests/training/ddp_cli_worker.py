"""Run by test_distributed.py under torchrun: a real ``kgbuild train ...`` command, then each rank's final weights.

Usage: torchrun --standalone --nproc_per_node 2 ddp_cli_worker.py WEIGHTS_DIR -- train extract|distill <args>
The training loop's ``fit`` is wrapped (not replaced) to note the model it trained, so that every rank can save it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from kgbuild.training import loop


def main() -> None:
    weights_dir = Path(sys.argv[1])
    argv = sys.argv[sys.argv.index("--") + 1:]
    trained = []
    real = loop.fit

    def recording(model, *args, **kwargs):  # type: ignore[no-untyped-def]
        trained.append(model)
        return real(model, *args, **kwargs)

    loop.fit = recording  # the commands import fit from kgbuild.training.loop when they run
    from kgbuild.cli.app import main as cli

    sys.argv = ["kgbuild", *argv]
    try:
        cli()
    except SystemExit as exc:
        if exc.code:
            raise
    rank = int(os.environ["RANK"])
    state = {k: v.detach().cpu() for k, v in trained[0].state_dict().items()}
    torch.save(state, weights_dir / f"rank{rank}.pt")


if __name__ == "__main__":
    main()
