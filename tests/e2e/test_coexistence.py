"""Beside other BiRefNet packs and ComfyUI core's model folder (set-up: coexistence_setup.py)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from .coexistence_setup import CORE_LAYOUT_CHECKPOINT, NOT_BIREFNET, PEERS, SAME_WEIGHTS_OFFICIAL
from .comfyui_setup import REPO_ROOT
from .conftest import FIXTURES, PACK_NAME, TINY_CHECKPOINT, execution_error

OUR_NODES = [
    "BiRefNetExactLoadModel",
    "BiRefNetExactSegment",
    "BiRefNetExactRefineMask",
    "BiRefNetExactComposite",
    "BiRefNetExactRemoveBackground",
]
FIRST, LAST = list(PEERS)


def _reports(comfy_server) -> dict[str, dict]:
    folder = comfy_server.base / "peer_reports"
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in PEERS}


def _load(model: str, patch_order: str = "legacy") -> dict:
    return {
        "class_type": "BiRefNetExactLoadModel",
        "inputs": {"model": model, "device": "cpu", "precision": "fp32", "patch_order": patch_order,
                   "allow_download": False},
    }  # fmt: skip


def _segment(model_ref: list, image_ref: list) -> dict:
    return {
        "class_type": "BiRefNetExactSegment",
        "inputs": {"model": model_ref, "image": image_ref, "resolution": "custom", "width": 64, "height": 64,
                   "dynamic_long_side": 1024, "batch_size": 1},
    }  # fmt: skip


def _save_mask(mask_ref: list, prefix: str, at: int) -> dict:
    return {
        str(at): {"class_type": "MaskToImage", "inputs": {"mask": mask_ref}},
        str(at + 1): {
            "class_type": "SaveImage",
            "inputs": {"images": [str(at), 0], "filename_prefix": prefix},
        },
    }


def _png(comfy_server, entry, node_id: str) -> np.ndarray:
    (path,) = comfy_server.output_files(entry, node_id)
    return np.asarray(Image.open(path).convert("L"), dtype=np.int16)


def test_peer_packs_load_before_and_after_ours_and_keep_their_birefnet(comfy_server, object_info):
    reports = _reports(comfy_server)
    assert reports[FIRST]["ours_loaded_before"] is False  # ComfyUI loaded this copy before our pack
    assert reports[LAST]["ours_loaded_before"] is True  # ... and this one after it
    first_package = str(comfy_server.base / "custom_nodes_first" / FIRST / "birefnet" / "__init__.py")
    for name, report in reports.items():
        assert report["top_level_birefnet"] == first_package, (name, report)
        assert str(REPO_ROOT) not in report["birefnet_models"], report
    # Our pack loaded between the two and left the top-level name `birefnet` to the peer that owns it.
    assert reports[LAST]["top_level_birefnet_before"] == first_package
    for node_id in OUR_NODES + ["PeerBiRefNetLL_First_Threshold", "PeerBiRefNetLL_Last_Threshold"]:
        assert node_id in object_info, node_id
    log = comfy_server.log.read_text()
    import_lines = [line for line in log.splitlines() if any(line.rstrip().endswith(n) for n in PEERS)]
    assert len(import_lines) == 2 and not any("IMPORT FAILED" in line for line in import_lines), import_lines
    assert not [line for line in log.splitlines() if line.startswith("Cannot import") and PACK_NAME in line]


def test_peer_nodes_and_ours_run_in_one_prompt(comfy_server):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": {"class_type": "PeerBiRefNetLL_First_Threshold", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "PeerBiRefNetLL_Last_Threshold", "inputs": {"image": ["1", 0]}},
        "4": _load(TINY_CHECKPOINT, "auto"),
        "5": _segment(["4", 0], ["1", 0]),
        **_save_mask(["2", 0], "peer_first", 10),
        **_save_mask(["3", 0], "peer_last", 20),
        **_save_mask(["5", 0], "ours_beside_peers", 30),
    }
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    rgb = np.asarray(Image.open(FIXTURES / "lemur.png").convert("RGB"), dtype=np.float32) / 255.0
    expected = np.where(rgb.mean(axis=-1) > 0.5, 255, 0)  # what the peers' birefnet.models code computes
    for node_id in ("11", "21"):
        assert np.array_equal(_png(comfy_server, entry, node_id), expected), node_id
    ours = _png(comfy_server, entry, "31")
    assert ours.shape == expected.shape and ours.std() > 0


def test_comfyui_shared_extension_set_is_unchanged_by_our_pack(comfy_server):
    reports = _reports(comfy_server)
    before, after = reports[FIRST], reports[LAST]  # read before and after our pack registered its folders
    assert "folder_paths_error" not in after, after
    assert after["shared_extensions"] == before["shared_extensions"]
    assert after["background_removal_uses_shared_set"] is True  # core's entry still holds core's set
    assert after["checkpoints_uses_shared_set"] is True


def test_core_repackaged_checkpoint_loads_and_gives_the_official_layouts_mask(comfy_server, object_info):
    options = object_info["BiRefNetExactLoadModel"]["input"]["required"]["model"][1]["options"]
    assert CORE_LAYOUT_CHECKPOINT in options and SAME_WEIGHTS_OFFICIAL in options
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": _load(CORE_LAYOUT_CHECKPOINT),
        "3": _segment(["2", 0], ["1", 0]),
        "4": _load(SAME_WEIGHTS_OFFICIAL),
        "5": _segment(["4", 0], ["1", 0]),
        **_save_mask(["3", 0], "core_layout", 10),
        **_save_mask(["5", 0], "official_layout", 20),
    }
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    core, official = _png(comfy_server, entry, "11"), _png(comfy_server, entry, "21")
    assert core.std() > 0
    assert np.abs(core - official).max() <= 1  # same weights: same mask (8-bit PNG rounding aside)


def test_file_of_another_network_is_hidden_and_refused(comfy_server, object_info):
    options = object_info["BiRefNetExactLoadModel"]["input"]["required"]["model"][1]["options"]
    assert NOT_BIREFNET not in options
    log = comfy_server.log.read_text()
    assert f"{NOT_BIREFNET} is not listed in the model list: it looks like a Segment Anything" in log
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": _load(NOT_BIREFNET),
        "3": _segment(["2", 0], ["1", 0]),
        **_save_mask(["3", 0], "not_birefnet", 10),
    }
    status, body = comfy_server.post_prompt(prompt)
    if status == 400:  # ComfyUI validates combo values: the hidden file is not a choice
        assert NOT_BIREFNET in str(body["node_errors"]["2"])
    else:
        entry = comfy_server.run(prompt)
        error = execution_error(entry)
        assert error is not None and "is not a BiRefNet checkpoint" in error["exception_message"], error
