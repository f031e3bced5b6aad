"""Scale-out with ``torchrun``: which share of the inputs this process does, and on which GPU.

torchrun (or any launcher) sets RANK, WORLD_SIZE and LOCAL_RANK. The inputs, sorted by path, are dealt out
round-robin: rank k takes inputs k, k + WORLD_SIZE, ... Every rank computes the same list from the same
arguments, so every input is processed exactly once and no communication is needed for the split.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import BiRefNetError

T = TypeVar("T")


@dataclass(frozen=True)
class Rank:
    """This process's place in a torchrun job (rank 0 of 1 when not started by a launcher)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Rank:
        """RANK / WORLD_SIZE / LOCAL_RANK from the environment (defaults 0 / 1 / RANK)."""
        try:
            rank = int(os.environ.get("RANK", "0"))
            world_size = int(os.environ.get("WORLD_SIZE", "1"))
            local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError as error:
            raise BiRefNetError(
                f"RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers ({error}); start the job with torchrun."
            ) from error
        if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
            raise BiRefNetError(
                f"RANK={rank} does not fit WORLD_SIZE={world_size} (LOCAL_RANK={local_rank}); start the job "
                "with torchrun."
            )
        return cls(rank, world_size, local_rank)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def share(self, items: Sequence[T], key: Callable[[T], Any] = str) -> list[T]:
        """This rank's items: sorted by ``key`` (default: as text), then every WORLD_SIZE-th from RANK."""
        return sorted(items, key=key)[self.rank :: self.world_size]

    def file_name(self, path: pathlib.Path) -> pathlib.Path:
        """``path`` with ``.rank<k>`` before the suffix when several ranks run (``log.jsonl`` ->
        ``log.rank1.jsonl``); ``path`` itself for a single process."""
        if not self.distributed:
            return path
        return path.with_name(f"{path.stem}.rank{self.rank}{path.suffix}")

    def cuda_index(self, device_count: int) -> int:
        """The GPU of this rank: LOCAL_RANK, wrapped round when there are fewer GPUs than ranks per machine."""
        return self.local_rank % max(device_count, 1)
