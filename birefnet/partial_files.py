"""Outputs written under a temporary name beside the final one and renamed only when complete, so the final
name never holds a half-written file (a crash, a full disk, Ctrl-C). One rule for images and videos."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_path(final: Path) -> Path:
    """Where an output is written until it is complete: ``.<name>.partial<ext>`` beside ``final`` (hidden; the
    same suffix, so encoders pick the format from it)."""
    return final.with_name(f".{final.name}.partial{final.suffix or ''}")


def remove_path(path: Path) -> None:
    """Delete a file or a folder (with its contents) if it is there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def publish(temporary: Path, final: Path) -> Path:
    """Rename the complete ``temporary`` (a file or a folder) to ``final``, replacing an earlier ``final`` (a
    file is replaced in one atomic rename; a folder is deleted first)."""
    if final.is_dir() or temporary.is_dir():
        remove_path(final)
    os.replace(temporary, final)
    return final


@contextmanager
def partial_file(final: Path) -> Iterator[Path]:
    """Yield the temporary path to write ``final`` under; publish it when the block ends, delete it (and let
    the error go on) when the block raises. An earlier ``final`` stays untouched until then."""
    temporary = temporary_path(final)
    remove_path(temporary)
    try:
        yield temporary
        publish(temporary, final)
    except BaseException:
        remove_path(temporary)
        raise
