"""Process-level helpers shared by every training entry point: seeding, the process state, sharded loaders.

accelerate sets up DDP from the environment that ``torchrun`` or ``accelerate launch`` provides; on a machine without
a GPU it must be told ``cpu=True`` to use gloo, which :func:`process_state` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch the same way on every process (call before building the model)."""
    from accelerate.utils import set_seed

    set_seed(seed)


def process_state() -> Any:
    """accelerate's process state (rank, world size), set up for gloo when there is no GPU."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def make_dataloader(
    dataset: Any, batch_size: int, collate_fn: Callable | None = None, shuffle: bool = True, seed: int = 13,
    num_workers: int = 0,
) -> torch.utils.data.DataLoader:
    """A DataLoader for a map-style dataset that shards across processes with the same batch count on each."""
    state = process_state()
    sampler: torch.utils.data.Sampler
    if state.num_processes > 1:
        sampler = torch.utils.data.DistributedSampler(
            dataset, num_replicas=state.num_processes, rank=state.process_index, shuffle=shuffle, seed=seed
        )
    elif shuffle:
        sampler = _EpochRandomSampler(dataset, seed)
    else:
        sampler = torch.utils.data.SequentialSampler(dataset)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn, num_workers=num_workers
    )


class _EpochRandomSampler(torch.utils.data.Sampler[int]):
    """Random order that depends only on (seed, epoch), so a resumed epoch replays the same batches."""

    def __init__(self, dataset: Any, seed: int):
        self.n, self.seed, self.epoch = len(dataset), seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())
