"""Per-rank batch sampler: splits each global batch between ranks and accumulation micro-steps.

One optimizer step consumes a global batch of ``batch_size * world_size * accumulation`` indices
taken in order from the epoch's permutation (``torch.randperm`` seeded by seed + epoch). Slot
``(micro-step a, rank r)`` gets the slice ``[(a * world_size + r) * batch_size, ... + batch_size)``.
So 2 ranks x 1 micro-step see exactly the micro-batches that 1 rank x 2 micro-steps sees: DDP and
gradient accumulation are interchangeable, BatchNorm groups included. Incomplete global batches at
the end of an epoch are dropped. ``skip_steps`` resumes in the middle of an epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from birefnet import BiRefNetError


class DistributedBatchSampler(Sampler[list[int]]):
    """Yields this rank's micro-batches (lists of dataset indices) for one epoch."""

    def __init__(
        self,
        dataset_size: int,
        batch_size: int,
        world_size: int = 1,
        rank: int = 0,
        accumulation: int = 1,
        seed: int = 0,
        shuffle: bool = True,
    ) -> None:
        self.dataset_size = dataset_size
        self.batch_size = batch_size
        self.world_size = world_size
        self.rank = rank
        self.accumulation = accumulation
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.skip_steps = 0
        if self.steps_per_epoch == 0:
            raise BiRefNetError(
                f"The dataset has {dataset_size} samples, fewer than one global batch "
                f"({batch_size} per process x {world_size} processes x {accumulation} accumulation steps); "
                "lower --batch-size or --grad-accum, or add data."
            )

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size * self.accumulation

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch."""
        return self.dataset_size // self.global_batch

    def set_epoch(self, epoch: int, skip_steps: int = 0) -> None:
        """Select the epoch's permutation and skip its first ``skip_steps`` optimizer steps."""
        self.epoch = epoch
        self.skip_steps = skip_steps

    def epoch_order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.dataset_size))
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(self.dataset_size, generator=generator).tolist()

    def __iter__(self) -> Iterator[list[int]]:
        order = self.epoch_order()
        for step in range(self.skip_steps, self.steps_per_epoch):
            base = step * self.global_batch
            for micro in range(self.accumulation):
                start = base + (micro * self.world_size + self.rank) * self.batch_size
                yield order[start : start + self.batch_size]

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.skip_steps) * self.accumulation
