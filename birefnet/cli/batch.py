"""The bookkeeping of a batch job (``cutout``, ``matte-video``) over many inputs.

One input that cannot be read or written is reported (file, reason) and recorded as failed; the job goes
on. ``--skip-existing`` skips an input all of whose outputs exist. At the end a summary line
``N done, M failed, K skipped``; the exit code is 1 when any input failed. Under torchrun each rank takes
its share (``ranks.Rank.share``) and rank 0 adds up all of them (``gather``).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from collections.abc import Iterator, Mapping, Sequence

from tqdm import tqdm

from ..errors import BiRefNetError
from . import gather
from .manifest import STATUSES, ManifestWriter, manifest_record
from .outputs import outputs_exist
from .ranks import Rank

EXIT_FAILED = 1
Job = tuple[pathlib.Path, Mapping[str, pathlib.Path]]
"""An input and its outputs ({kind: final path})."""


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """--skip-existing and --manifest."""
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip inputs whose outputs all exist (continue a stopped job)",
    )
    parser.add_argument(
        "--manifest",
        type=pathlib.Path,
        metavar="FILE",
        help="write a JSON line per input (outputs, status, error, time); under torchrun one file per rank "
        "(FILE with .rank<k> before the suffix) and the merged FILE from rank 0",
    )


def failure_reason(error: Exception) -> str:
    """What a failed input's report says: a BiRefNetError's message (it names the file and what to do),
    else the error's type and message."""
    import torch

    if isinstance(error, BiRefNetError):
        return str(error)
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return "out of GPU memory: use --batch-size 1, a smaller --resolution or --precision fp16"
    return f"{type(error).__name__}: {error}"


def summary_line(counts: Mapping[str, int]) -> str:
    return f"{counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped"


class BatchJob:
    """Counts, reports and records what happens to each input of this rank."""

    def __init__(self, jobs: Sequence[Job], args: argparse.Namespace, rank: Rank | None = None) -> None:
        self.rank = rank or Rank()
        self.grouped = gather.join_ranks(self.rank)
        self.jobs = self.rank.share(jobs, key=lambda job: str(job[0]))
        self.skip_existing = bool(args.skip_existing)
        self.manifest_path = args.manifest
        self.manifest = ManifestWriter(self.rank.file_name(args.manifest)) if args.manifest else None
        self.counts = dict.fromkeys(STATUSES, 0)

    def pending(self) -> Iterator[Job]:
        """This rank's inputs still to do; those whose outputs all exist are recorded as skipped when
        --skip-existing is on."""
        for source, outputs in self.jobs:
            if self.skip_existing and outputs_exist(outputs):
                self.record(source, outputs, "skipped")
            else:
                yield source, outputs

    def record(
        self,
        source: pathlib.Path,
        outputs: Mapping[str, pathlib.Path],
        status: str,
        error: str | None = None,
        started: float | None = None,
    ) -> None:
        """Count one input's result, report a failure on stderr and write the manifest line."""
        self.counts[status] += 1
        if status == "failed":
            tqdm.write(f"failed: {source}: {error}", file=sys.stderr)
        if self.manifest is not None:
            seconds = 0.0 if started is None else time.monotonic() - started
            rank = self.rank.rank if self.rank.distributed else None
            self.manifest.write(manifest_record(source, outputs, status, error, seconds, rank))

    def finish(self, interrupted: bool = False) -> int:
        """Close the manifest, print the summary (rank 0: of all ranks) and return the exit code."""
        if self.manifest is not None:
            self.manifest.close()
        counts = self.counts
        if interrupted:
            print(f"interrupted: {summary_line(counts)}", file=sys.stderr, flush=True)
            return 0  # the caller raises KeyboardInterrupt again
        label = ""
        if self.rank.distributed:
            print(f"rank {self.rank.rank}: {summary_line(counts)}", flush=True)
            if self.grouped:
                counts = dict(zip(STATUSES, gather.total_counts(list(counts.values())), strict=True))
                if self.rank.rank == 0 and self.manifest_path is not None:
                    gather.merge_manifests(self.manifest_path, self.rank)
                label = f"all {self.rank.world_size} ranks: "
        if not self.rank.distributed or (self.grouped and self.rank.rank == 0):
            print(f"{label}{summary_line(counts)}", flush=True)
        if self.grouped:
            gather.leave_ranks()
        return EXIT_FAILED if counts["failed"] else 0
