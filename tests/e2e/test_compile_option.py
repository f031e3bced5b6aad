"""The loader's 'compile' option in the real server: Inductor builds the model and the masks stay the same."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from .comfyui_params import version_params
from .conftest import TINY_CHECKPOINT, execution_error


def _branch(prefix: str, compile_model: bool) -> dict:
    """Load (compiled or not) -> segment the lemur at 64x64 -> save the mask as an image."""
    return {
        f"{prefix}1": {
            "class_type": "BiRefNetExactLoadModel",
            "inputs": {"model": TINY_CHECKPOINT, "device": "cpu", "precision": "fp32", "patch_order": "auto",
                       "allow_download": False, "compile": compile_model},
        },
        f"{prefix}2": {
            "class_type": "BiRefNetExactSegment",
            "inputs": {"model": [f"{prefix}1", 0], "image": ["0", 0], "resolution": "custom", "width": 64,
                       "height": 64, "dynamic_long_side": 1024, "batch_size": 1},
        },
        f"{prefix}3": {"class_type": "MaskToImage", "inputs": {"mask": [f"{prefix}2", 0]}},
        f"{prefix}4": {"class_type": "SaveImage", "inputs": {"images": [f"{prefix}3", 0], "filename_prefix": prefix}},
    }  # fmt: skip


def test_compiled_model_gives_the_same_mask(comfyui_version, request):
    # torch compiles here, not ComfyUI, and a compile takes minutes on 2 cores: one ComfyUI version (the newest
    # built here) is enough.
    if comfyui_version != version_params()[-1]:
        pytest.skip(f"the compile option is checked on ComfyUI {version_params()[-1]} only")
    comfy_server = request.getfixturevalue("comfy_server")
    prompt = {"0": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}}}
    prompt |= _branch("eager", False) | _branch("compiled", True)
    # Inductor's compile of the tiny model took about 4 min on a busy 2-core host, 5+ on a slow one.
    entry = comfy_server.run(prompt, timeout_s=900)
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    [eager] = comfy_server.output_files(entry, "eager4")
    [compiled] = comfy_server.output_files(entry, "compiled4")
    eager_mask = np.asarray(Image.open(eager).convert("L")).astype(int)
    compiled_mask = np.asarray(Image.open(compiled).convert("L")).astype(int)
    assert eager_mask.shape == (440, 680)
    assert np.abs(eager_mask - compiled_mask).max() <= 1
    log = comfy_server.log.read_text()
    assert "compiled on first use" in log  # the loader took the option
    assert "BiRefNet: compiling for input [1, 3, 64, 64] torch.float32 on cpu" in log  # the wait is announced
    assert "torch.compile failed" not in log  # and Inductor really compiled it: no fall-back to eager
    assert any((comfy_server.base / "inductor-cache").rglob("*.py"))
