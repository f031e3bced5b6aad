"""The end of a torchrun batch job: the ranks meet, add up their counts, and rank 0 merges the manifests.

How the ranks wait for each other: a gloo process group through torchrun's rendezvous (MASTER_ADDR /
MASTER_PORT, which torchrun always sets). It is joined at the start, so a rank that cannot reach the others
fails before any work, and used twice at the end: an all-reduce of (done, failed, skipped), which returns
only once every rank has finished its share and closed its manifest, then, after rank 0 has written the
merged manifest, a barrier, so that no rank exits (torchrun stops the whole job when one rank exits with a
non-zero code) before rank 0 is done. The timeout is a week: ranks may finish hours apart. A rank that dies
is not waited for: torchrun then stops the others.

Without MASTER_ADDR (ranks started by some other launcher) each rank reports only its own share.
"""

from __future__ import annotations

import datetime
import os
import pathlib
from typing import Any

from ..errors import BiRefNetError
from .manifest import read_manifest, write_manifest
from .ranks import Rank

WAIT = datetime.timedelta(days=7)


def join_ranks(rank: Rank) -> bool:
    """Join the gloo process group of a torchrun job; False when there is no group to join."""
    if not rank.distributed or not os.environ.get("MASTER_ADDR") or not os.environ.get("MASTER_PORT"):
        return False
    import torch.distributed as dist

    if dist.is_initialized():
        return True
    try:
        dist.init_process_group("gloo", rank=rank.rank, world_size=rank.world_size, timeout=WAIT)
    except Exception as error:  # RuntimeError / DistStoreError, by torch version
        raise BiRefNetError(
            f"Rank {rank.rank} could not join the other ranks at {os.environ['MASTER_ADDR']}:"
            f"{os.environ['MASTER_PORT']} ({error}); check torchrun's --rdzv-endpoint / --master-addr."
        ) from error
    return True


def total_counts(counts: list[int]) -> list[int]:
    """The sum of every rank's counts; returns once every rank has called it."""
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(counts, dtype=torch.int64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def merge_manifests(path: pathlib.Path, rank: Rank) -> list[dict[str, Any]]:
    """Rank 0: every rank's manifest (``Rank.file_name``) merged into ``path``, sorted by input."""
    records = []
    for k in range(rank.world_size):
        records += read_manifest(Rank(k, rank.world_size).file_name(path))
    records.sort(key=lambda record: record["input"])
    write_manifest(path, records)
    return records


def leave_ranks() -> None:
    """Wait until every rank got here (rank 0 has merged), then leave the group."""
    import torch.distributed as dist

    dist.barrier()
    dist.destroy_process_group()
