"""The pack's top-level __init__.py, loaded the way ComfyUI loads a custom node folder, outside ComfyUI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from testdata import REPO_ROOT

# ComfyUI imports custom_nodes/<pack>/__init__.py under a module name made from its path.
LOAD_LIKE_COMFYUI = """
import importlib.util, json, sys, types
{prelude}
root = sys.argv[1]
path_before = list(sys.path)
name = root.replace(".", "_x_")
spec = importlib.util.spec_from_file_location(name, root + "/__init__.py")
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
import importlib
library = importlib.import_module(name + ".birefnet.matting.refine")
print(json.dumps({{
    "library_file": sys.modules[name + ".birefnet"].__file__,
    "top_level_birefnet": getattr(sys.modules.get("birefnet"), "__file__", None),
    "sys_path_unchanged": sys.path == path_before,
    "has_entrypoint": hasattr(module, "comfy_entrypoint"),
}}))
"""


def _load(prelude: str = "") -> dict:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_LIKE_COMFYUI.format(prelude=prelude), str(REPO_ROOT)],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pack_keeps_its_library_below_its_own_name_and_leaves_sys_path_alone():
    loaded = _load()
    assert Path(loaded["library_file"]).resolve() == REPO_ROOT / "birefnet" / "__init__.py"
    assert loaded["top_level_birefnet"] is None  # the top-level name `birefnet` stays free for other packs
    assert loaded["sys_path_unchanged"]
    assert loaded["has_entrypoint"] is False  # no comfy_api here: the node classes are not imported


def test_another_top_level_birefnet_package_is_left_alone():
    # What ComfyUI_BiRefNet_ll does: its own top-level `birefnet` (with `birefnet.models`) loaded first.
    prelude = (
        "fake = types.ModuleType('birefnet'); fake.__file__ = '/elsewhere/birefnet/__init__.py'; "
        "fake.__path__ = ['/elsewhere/birefnet']; sys.modules['birefnet'] = fake"
    )
    loaded = _load(prelude)
    assert Path(loaded["library_file"]).resolve() == REPO_ROOT / "birefnet" / "__init__.py"
    assert loaded["top_level_birefnet"] == "/elsewhere/birefnet/__init__.py"
