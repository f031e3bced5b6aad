"""Output files of a command-line run: planned before any work (no two inputs write the same file, no output
overwrites an input), written under a temporary name and renamed when complete, and found on a rerun."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence

from ..errors import BiRefNetError
from ..partial_files import partial_file


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


def write_atomically(final: pathlib.Path, write: Callable[[pathlib.Path], object]) -> pathlib.Path:
    """Call ``write(temporary)`` and rename the temporary file to ``final`` once it returns (``partial_file``:
    the video writers' rule). If ``write`` raises (a damaged encoder, a full disk, Ctrl-C), the temporary
    file is deleted and the error goes on: ``final`` never holds a half-written file."""
    with partial_file(final) as temporary:
        write(temporary)
    return final


def outputs_exist(paths: Mapping[str, pathlib.Path]) -> bool:
    """Whether every output of one input is there under its final name (``--skip-existing``)."""
    return all(path.exists() for path in paths.values())
