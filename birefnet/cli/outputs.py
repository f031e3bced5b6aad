"""Output files of a command-line run, planned before any work: no two inputs write the same file, and no
output overwrites an input."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

from ..errors import BiRefNetError


def check_output_plan(
    files: Sequence[pathlib.Path], outputs: Sequence[Mapping[str, pathlib.Path]], what: str
) -> None:
    """Raise BiRefNetError when two inputs would write the same path or an output is an input.

    files: the inputs; outputs: per input, {kind: output path}; what: "image" / "video" for the message.
    """
    seen: dict[pathlib.Path, pathlib.Path] = {}
    inputs = {f.resolve() for f in files}
    for source, paths in zip(files, outputs, strict=True):
        for path in paths.values():
            if path in seen:
                raise BiRefNetError(
                    f"{source} and {seen[path]} would both be written to {path}: rename one or run them separately."
                )
            seen[path] = source
            if path.resolve() in inputs:
                raise BiRefNetError(f"Writing {path} would overwrite an input {what}: choose another --out.")
