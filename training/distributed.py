"""DDP set-up for runs launched by ``torchrun`` (one or several machines, one process per device).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them the run is a single process. The
backend is NCCL on CUDA and gloo otherwise (CPU runs, tests). Only rank 0 logs and checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str | None = None) -> DistributedContext:
    """Join the process group torchrun describes (if any) and pick this process's device.

    device: "cpu", "cuda", "cuda:1" ... or None for CUDA when available. Under torchrun with CUDA each
    process uses ``cuda:LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    if chosen.type == "cuda" and chosen.index is None:
        chosen = torch.device("cuda", local_rank if world_size > 1 else 0)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return DistributedContext(rank, world_size, local_rank, chosen)


def cleanup_distributed() -> None:
    """Leave the process group (no-op for single-process runs)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(value: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Average a tensor over all ranks (identity for one process)."""
    if not context.enabled:
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / context.world_size


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()
