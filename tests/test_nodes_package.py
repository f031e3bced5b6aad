"""The pack's top-level __init__.py, loaded the way ComfyUI loads a custom node folder, outside ComfyUI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# ComfyUI imports custom_nodes/<pack>/__init__.py under a module name made from its path.
LOAD_LIKE_COMFYUI = """
import importlib.util, sys, types
{prelude}
root = sys.argv[1]
name = root.replace(".", "_x_")
spec = importlib.util.spec_from_file_location(name, root + "/__init__.py")
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
import birefnet, birefnet.refine
print(birefnet.__file__)
print(root in sys.path)
print(hasattr(module, "comfy_entrypoint"))
"""


def _load(prelude: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOAD_LIKE_COMFYUI.format(prelude=prelude), str(REPO_ROOT)],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pack_imports_its_own_birefnet_and_leaves_sys_path_alone():
    result = _load()
    assert result.returncode == 0, result.stderr
    birefnet_file, on_path, has_entrypoint = result.stdout.split()
    assert Path(birefnet_file).resolve() == REPO_ROOT / "birefnet" / "__init__.py"
    assert on_path == "False"  # the pack folder is not left on sys.path (it would shadow ComfyUI's `nodes`)
    assert has_entrypoint == "False"  # no comfy_api here: the node classes are not imported


def test_another_birefnet_package_is_a_clear_import_error():
    prelude = "fake = types.ModuleType('birefnet'); fake.__file__ = '/elsewhere/birefnet/__init__.py'; "
    prelude += "sys.modules['birefnet'] = fake"
    result = _load(prelude)
    assert result.returncode != 0
    assert "Another Python package named 'birefnet' is already loaded (from /elsewhere)" in result.stderr
