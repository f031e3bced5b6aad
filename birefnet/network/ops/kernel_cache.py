"""A small per-machine file remembering which CPU kernel won each operation's trial, so later processes skip it.

The file is ``$XDG_CACHE_HOME/birefnet/kernels.json`` (``~/.cache/birefnet/kernels.json`` without the
variable): ``{"<machine>": {"<entry>": "<backend>"}}`` where the machine is the CPU model with its matrix
features, the torch version and the trial's rule (:func:`machine_key`); an entry ``"<entry> layer=<weight
shape>"`` holds one layer's own backend (see :mod:`.kernel_choice`). It is rewritten atomically
(temporary file + rename); a file that cannot be read or parsed is ignored (debug log) and replaced at the
next write. ``BIREFNET_KERNEL_CACHE=off`` turns the file off.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
from functools import cache
from pathlib import Path

import torch

log = logging.getLogger("birefnet.kernels")


def cache_path() -> Path | None:
    """The cache file, or None when ``BIREFNET_KERNEL_CACHE`` is ``off`` / ``0``."""
    if os.environ.get("BIREFNET_KERNEL_CACHE", "").strip().lower() in ("off", "0", "false", "no"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "birefnet" / "kernels.json"


# The trial's rule: choices saved under an older rule are measured again (2: trials weigh whole passes; 3:
# call shapes with an outlier backend keep it; 4: layers do, for every token count; 5: pointwise_conv adds
# into the decoder's stage input).
CHOICE_RULE = 5
# CPU features that change which kernel wins; a virtual machine may hide some on the same CPU model.
_KERNEL_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16")


@cache
def machine_key() -> str:
    """``"<CPU model> (family f model m stepping s) [<flags>] | torch <version> | rule <n>"``: measurements are
    valid for this CPU, with these matrix features, and this torch only (virtual machines often name just
    "AMD EPYC": the family and model tell the generations apart; some hide AMX), and for one trial rule."""
    fields = {"model name": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                name, _, value = line.partition(":")
                if not name.strip():  # the end of the first processor's block
                    break
                fields[name.strip()] = value.strip()
    except OSError:
        pass
    model = fields["model name"]
    if "cpu family" in fields:
        model += (
            f" (family {fields['cpu family']} model {fields.get('model')} stepping {fields.get('stepping')})"
        )
    if "flags" in fields:
        flags = set(fields["flags"].split())
        model += f" [{' '.join(flag for flag in _KERNEL_FLAGS if flag in flags)}]"
    return f"{model} | torch {torch.__version__} | rule {CHOICE_RULE}"


def _read_all(path: Path) -> dict[str, dict[str, str]]:
    """The whole file as ``{machine: {entry: backend}}``; empty when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.debug("ignoring unreadable kernel cache %s: %s", path, error)
        return {}
    if not isinstance(data, dict) or not all(
        isinstance(entries, dict) and all(isinstance(v, str) for v in entries.values())
        for entries in data.values()
    ):
        log.debug("ignoring kernel cache %s: not a {machine: {entry: backend}} mapping", path)
        return {}
    return data


def load_choices() -> dict[str, str]:
    """This machine's remembered choices, ``{entry: backend}`` (empty without a usable file)."""
    path = cache_path()
    return {} if path is None else dict(_read_all(path).get(machine_key(), {}))


def save_choices(choices: dict[str, str]) -> None:
    """Add ``{entry: backend}`` choices for this machine to the file (merged with what other processes wrote).
    Never raises for file-system problems (read-only home, full disk): the choices then live for this process
    only."""
    path = cache_path()
    if path is None:
        return
    data = _read_all(path)
    data.setdefault(machine_key(), {}).update(choices)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".kernels-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=1, sort_keys=True)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        log.debug("could not write kernel cache %s: %s", path, error)
