"""Other packs and core's model files beside ours, for tests/e2e/test_coexistence.py (written at run time).

- Two copies of a stand-in for ComfyUI_BiRefNet_ll (our own few lines, no third-party code): each inserts its
  folder at ``sys.path[0]`` for good and imports its own top-level package ``birefnet`` with a ``models``
  sub-package, whose function its node uses. ComfyUI loads custom node folders in ``os.listdir`` order (not
  sorted), folder after folder of the ``custom_nodes`` paths; so the copies sit in two extra
  ``custom_nodes`` paths from extra_model_paths.yaml, one first (``is_default``) and one last, and their names
  also sort before and after ours. Each writes what it saw at import to ``peer_reports/<name>.json``.
- A stand-in for ComfyUI >= 0.38's own registration of ``models/background_removal`` (with ComfyUI's shared
  ``supported_pt_extensions`` set), loaded first, as core does before any pack; the last peer reports whether
  that set and the folder entry are unchanged after our pack loaded.
- In ``models/background_removal``: ``birefnet.safetensors`` in core's repackaged layout (official keys, fp16,
  format metadata), and ``sam_vit_b.safetensors``, a file of another network.
"""

from __future__ import annotations

from pathlib import Path

import torch

PEERS = {"AAA_birefnet_ll_stand_in_first": "first", "zzz_birefnet_ll_stand_in_last": "last"}
CORE_STAND_IN = "AAA_core_background_removal_stand_in"
CORE_LAYOUT_CHECKPOINT = "birefnet.safetensors"
SAME_WEIGHTS_OFFICIAL = "tiny-fp16-rounded-official.safetensors"
NOT_BIREFNET = "sam_vit_b.safetensors"

_PEER_INIT = '''"""Stand-in for ComfyUI_BiRefNet_ll's loading: its folder on sys.path for good, its own top-level birefnet."""
import json, os, sys

_here = os.path.dirname(os.path.abspath(__file__))
_before = getattr(sys.modules.get("birefnet"), "__file__", None)
sys.path.insert(0, _here)
from birefnet.models import peer_model  # noqa: E402

_report = {
    "ours_loaded_before": any(name.endswith("/@PACK@") for name in sys.modules),
    "top_level_birefnet_before": _before,
    "top_level_birefnet": sys.modules["birefnet"].__file__,
    "birefnet_models": peer_model.__file__,
}
try:
    import folder_paths
    _shared = folder_paths.supported_pt_extensions
    _report["shared_extensions"] = sorted(_shared)
    _report["background_removal_uses_shared_set"] = folder_paths.folder_names_and_paths["background_removal"][1] is _shared
    _report["checkpoints_uses_shared_set"] = folder_paths.folder_names_and_paths["checkpoints"][1] is _shared
except Exception as error:  # the report says what went wrong
    _report["folder_paths_error"] = repr(error)
os.makedirs("@REPORTS@", exist_ok=True)
with open(os.path.join("@REPORTS@", "@NAME@.json"), "w") as out:
    json.dump(_report, out)


class PeerThreshold:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    RETURN_TYPES = ("MASK",)
    FUNCTION = "run"
    CATEGORY = "peer"

    def run(self, image):
        return (peer_model.threshold(image),)


NODE_CLASS_MAPPINGS = {"PeerBiRefNetLL_@TAG@_Threshold": PeerThreshold}
'''

_PEER_MODEL = '''"""The stand-in peer's own model code (top-level package birefnet, sub-package models)."""


def threshold(image):
    """MASK [B, H, W]: 1 where the mean of the RGB channels is above 0.5."""
    return (image[..., :3].mean(dim=-1) > 0.5).float()
'''

_CORE_STAND_IN = '''"""Registers models/background_removal as ComfyUI >= 0.38 does (its shared supported_pt_extensions set)."""
import os
import folder_paths

if "background_removal" not in folder_paths.folder_names_and_paths:
    folder_paths.folder_names_and_paths["background_removal"] = (
        [os.path.join(folder_paths.models_dir, "background_removal")], folder_paths.supported_pt_extensions
    )
NODE_CLASS_MAPPINGS = {}
'''


def install(base: Path, pack_name: str, official_checkpoint: Path) -> str:
    """Write the stand-in packs and model files under ``base``; returns the extra_model_paths.yaml sections."""
    reports = base / "peer_reports"
    folders = {"first": base / "custom_nodes_first", "last": base / "custom_nodes_last"}
    for name, where in PEERS.items():
        package = folders[where] / name / "birefnet" / "models"
        package.mkdir(parents=True)
        (package.parent / "__init__.py").write_text('"""The peer\'s own top-level package."""\n')
        (package / "__init__.py").write_text("")
        (package / "peer_model.py").write_text(_PEER_MODEL)
        init = _PEER_INIT
        for key, value in {
            "@PACK@": pack_name,
            "@REPORTS@": str(reports),
            "@NAME@": name,
            "@TAG@": where.capitalize(),
        }.items():
            init = init.replace(key, value)
        (folders[where] / name / "__init__.py").write_text(init)
    (folders["first"] / CORE_STAND_IN).mkdir()
    (folders["first"] / CORE_STAND_IN / "__init__.py").write_text(_CORE_STAND_IN)
    _write_background_removal(base / "models", official_checkpoint)
    return (
        f"peers_first:\n    base_path: {folders['first']}\n    is_default: true\n    custom_nodes: .\n"
        f"peers_last:\n    base_path: {folders['last']}\n    custom_nodes: .\n"
    )


def _write_background_removal(models: Path, official_checkpoint: Path) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(official_checkpoint))
    folder = models / "background_removal"
    folder.mkdir(parents=True, exist_ok=True)
    core = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    save_file(core, str(folder / CORE_LAYOUT_CHECKPOINT), metadata={"format": "pt"})
    rounded = {k: (v.half().float() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    save_file(rounded, str(models / "birefnet" / SAME_WEIGHTS_OFFICIAL))
    other = {
        "image_encoder.patch_embed.proj.weight": torch.zeros(8, 3, 16, 16),
        "mask_decoder.iou_token.weight": torch.zeros(1, 8),
    }
    save_file(other, str(folder / NOT_BIREFNET))
