"""The ComfyUI front ends the browser tests run against, and on which ComfyUI version (``COMBINATIONS``).

- ``installed``: the comfyui-frontend-package that the ComfyUI version's own requirements install (0.3.75:
  1.32.9, 0.8.0: 1.35.9); ComfyUI serves it by itself, no extra argument.
- ``newest``: the newest comfyui-frontend-package on PyPI, on ComfyUI 0.8.0, fetched at test time with
  ``pip download`` and unpacked once under ``<e2e cache root>/frontends/<version>/`` (file-locked; a ``READY``
  marker is written last); ComfyUI serves its ``comfyui_frontend_package/static`` folder (the one with
  ``index.html``) through ``--front-end-root``. ``BIREFNET_FRONTEND_VERSION=1.58.1`` pins the version instead
  of asking PyPI; when PyPI cannot be asked, the newest version already cached is used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from e2e.comfyui_setup import built_once, cache_root, ensure_comfyui, run_logged

PACKAGE = "comfyui-frontend-package"
_VERSION = re.compile(r"^\d+(\.\d+)*$")
COMBINATIONS = (("0.3.75", "installed"), ("0.8.0", "installed"), ("0.8.0", "newest"))
"""(ComfyUI version, front end) pairs the browser tests run: each ComfyUI with its own front end, and the
newest front end on the newest ComfyUI."""


@dataclass(frozen=True)
class FrontEnd:
    """A front end to test: ``name`` ("installed" / "newest"), its ``version``, the ``comfyui`` version
    that serves it, and that ComfyUI's extra args."""

    name: str
    version: str
    comfyui: str
    server_args: tuple[str, ...] = ()


def installed_frontend(comfyui: str) -> FrontEnd:
    """The front end that comes with the cached ComfyUI ``comfyui`` (read from its venv's dist-info).

    Builds the cached ComfyUI first (or waits for a build under way): the browser tests may be the first
    tests of a run on a machine with an empty cache.
    """
    _, comfy_python = ensure_comfyui(comfyui)
    env_dir = comfy_python.parent.parent
    infos = sorted(env_dir.glob("lib/python*/site-packages/comfyui_frontend_package-*.dist-info"))
    if not infos:
        raise RuntimeError(f"no comfyui_frontend_package in ComfyUI's venv {env_dir}")
    version = infos[-1].name.removeprefix("comfyui_frontend_package-").removesuffix(".dist-info")
    return FrontEnd("installed", version, comfyui)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _newest_on_pypi() -> str | None:
    """The newest release's version from ``pip index versions`` (None when PyPI cannot be asked)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", PACKAGE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(rf"^{re.escape(PACKAGE)} \(([^)]+)\)", result.stdout, re.MULTILINE)
    return match.group(1) if match and _VERSION.match(match.group(1)) else None


def frontends_dir() -> Path:
    return cache_root() / "frontends"


def _cached_versions() -> list[str]:
    found = [p.parent.name for p in frontends_dir().glob("*/READY") if _VERSION.match(p.parent.name)]
    return sorted(found, key=_version_key)


def ensure_frontend(version: str) -> Path:
    """The ``static`` folder (holding index.html) of comfyui-frontend-package ``version``, cached."""
    root = frontends_dir() / version
    static = root / "comfyui_frontend_package" / "static"

    def unpack(log: Path) -> None:
        shutil.rmtree(root / "comfyui_frontend_package", ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="frontend-") as tmp:
            command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp]
            run_logged([*command, f"{PACKAGE}=={version}"], log)
            wheel = next(Path(tmp).glob("comfyui_frontend_package-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                members = [m for m in archive.namelist() if m.startswith("comfyui_frontend_package/static/")]
                archive.extractall(root, members)
        if not (static / "index.html").is_file():
            raise RuntimeError(f"{PACKAGE} {version} has no comfyui_frontend_package/static/index.html")

    built_once(root, version, unpack)
    return static


def newest_frontend(comfyui: str, pinned: str | None = None) -> FrontEnd:
    """The newest front end on PyPI (or ``pinned``), downloaded and unpacked if not cached yet, served by
    ComfyUI ``comfyui``."""
    version = pinned or _newest_on_pypi()
    if version is None:
        cached = _cached_versions()
        if not cached:
            raise RuntimeError(
                f"cannot ask PyPI for the newest {PACKAGE}, and none is cached in {frontends_dir()}"
            )
        version = cached[-1]
    static = ensure_frontend(version)
    return FrontEnd("newest", version, comfyui, ("--front-end-root", str(static)))
