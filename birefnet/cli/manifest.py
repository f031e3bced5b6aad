"""The ``--manifest`` file of a batch job: JSON lines, one per input, written as each input finishes.

A line: ``{"input": "photos/a.jpg", "outputs": {"cutout": "out/a.png", "mask": "out/a_mask.png"},
"status": "done" | "failed" | "skipped", "error": null | "what went wrong", "seconds": 1.23,
"time": "2025-01-31T23:59:59+00:00"}`` (plus ``"rank": k`` under torchrun). Each line is flushed when
written, so a job that is killed leaves a manifest of everything it finished. A new run starts the file anew.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any, TextIO

from ..errors import BiRefNetError

STATUSES = ("done", "failed", "skipped")


def manifest_record(
    source: pathlib.Path,
    outputs: Mapping[str, pathlib.Path],
    status: str,
    error: str | None = None,
    seconds: float = 0.0,
    rank: int | None = None,
) -> dict[str, Any]:
    """One manifest line as a dict (``rank`` only when given)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    record = {
        "input": str(source),
        "outputs": {kind: str(path) for kind, path in outputs.items()},
        "status": status,
        "error": error,
        "seconds": round(seconds, 3),
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if rank is not None:
        record["rank"] = rank
    return record


class ManifestWriter:
    """Writes manifest lines to ``path`` (created anew), each flushed to the file as it is written."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = pathlib.Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: TextIO = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise BiRefNetError(f"Cannot write the manifest {self.path}: {error}") from error

    def write(self, record: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def read_manifest(path: pathlib.Path) -> list[dict[str, Any]]:
    """The records of a manifest file, in order."""
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def write_manifest(path: pathlib.Path, records: list[Mapping[str, Any]]) -> None:
    """Write whole ``records`` to ``path`` (the merged manifest of several ranks)."""
    writer = ManifestWriter(path)
    try:
        for record in records:
            writer.write(record)
    finally:
        writer.close()
