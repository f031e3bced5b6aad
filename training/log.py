"""The run's JSON-lines log, ``train_log.jsonl``: one record per optimizer step, plus validation records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LOG_FILE = "train_log.jsonl"


class JsonlLog:
    """Append-only JSON-lines log (rank 0 only; a no-op elsewhere)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop step records beyond ``step`` (left by a run killed after its last checkpoint)."""
        if not (self.enabled and self.path.exists()):
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))
