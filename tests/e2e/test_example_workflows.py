"""API-format versions of the shipped example workflows run in the real server on the tiny checkpoint.

Each UI-format file in example_workflows/ is converted with the server's /object_info (as the frontend
does), pointed at the test inputs and the random-weight checkpoint (custom resolution 64x64 to keep the
CPU time low), run, and its files checked: size, channels, alpha. The alpha of the transparent PNG is
compared with the same computation done here with the library, so the nodes are known to be wired right.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from birefnet import load_model, predict, refine_mask

from .conftest import FIXTURES, TINY_CHECKPOINT, execution_error
from .workflow_api import drop_nodes, node_titled, nodes_of, ui_to_api

EXAMPLES = Path(__file__).resolve().parents[2] / "example_workflows"
LEMUR_SIZE = (680, 440)
SD_MODEL_LOADERS = {"CheckpointLoaderSimple"}  # no Stable Diffusion weights in the test environment


def _prompt(name: str, object_info) -> dict:
    workflow = json.loads((EXAMPLES / f"{name}.json").read_text())
    prompt = drop_nodes(ui_to_api(workflow, object_info), SD_MODEL_LOADERS)
    for node in nodes_of(prompt, "BiRefNetExactLoadModel") + nodes_of(
        prompt, "BiRefNetExactRemoveBackground"
    ):
        node["inputs"].update(model=TINY_CHECKPOINT, allow_download=False)
    for node in nodes_of(prompt, "BiRefNetExactSegment"):
        node["inputs"].update(resolution="custom", width=64, height=64)
    for node in nodes_of(prompt, "LoadImage"):
        node["inputs"]["image"] = "lemur.png"
    return prompt


def _run_ok(comfy_server, prompt):
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    return entry


def _single_output(comfy_server, entry, prompt, class_type) -> list[Path]:
    ids = [nid for nid, node in prompt.items() if node["class_type"] == class_type]
    assert len(ids) == 1
    return comfy_server.output_files(entry, ids[0])


def _expected_alpha(comfy_server, resolution, **refine) -> np.ndarray:
    """The alpha the nodes should produce, computed here with the library on the same checkpoint."""
    image = torch.from_numpy(np.asarray(Image.open(FIXTURES / "lemur.png").convert("RGB"), np.float32) / 255)[
        None
    ]
    model = load_model(comfy_server.base / "models" / "birefnet" / TINY_CHECKPOINT)
    mask = predict(model, image, resolution)
    if refine:
        mask = refine_mask(mask, image, **refine)
    return mask[0].numpy()


def _saved_rgba_alpha(comfy_server, prompt: dict) -> np.ndarray:
    """Run a workflow with one SaveImage, check it wrote an RGBA PNG of the lemur's size, return its alpha 0..1."""
    entry = _run_ok(comfy_server, prompt)
    [png] = _single_output(comfy_server, entry, prompt, "SaveImage")
    image = Image.open(png)
    assert image.mode == "RGBA" and image.size == LEMUR_SIZE
    return np.asarray(image)[..., 3].astype(np.float32) / 255


def test_background_removal_to_transparent_png(comfy_server, object_info):
    alpha = _saved_rgba_alpha(comfy_server, _prompt("background_removal_transparent_png", object_info))
    expected = _expected_alpha(comfy_server, (64, 64), feather_sigma=0.5)
    assert np.abs(alpha - expected).max() <= 1.5 / 255
    assert alpha.std() > 1e-3  # not a constant (random weights give a weak but varying mask)


def test_one_node_remove_background(comfy_server, object_info):
    alpha = _saved_rgba_alpha(comfy_server, _prompt("remove_background_one_node", object_info))
    assert (
        np.abs(alpha - _expected_alpha(comfy_server, None)).max() <= 1.5 / 255
    )  # native: 1024x1024 for unknown files


def test_inpainting_mask_without_the_stable_diffusion_part(comfy_server, object_info):
    prompt = _prompt("inpainting_mask", object_info)
    assert not nodes_of(prompt, "KSampler") and nodes_of(prompt, "MaskToImage")
    entry = _run_ok(comfy_server, prompt)
    [png] = comfy_server.output_files(
        entry, next(k for k, v in prompt.items() if v["class_type"] == "PreviewImage")
    )
    mask_image = np.asarray(Image.open(png).convert("RGB")).astype(np.float32) / 255
    assert mask_image.shape == (LEMUR_SIZE[1], LEMUR_SIZE[0], 3)
    expected = _expected_alpha(comfy_server, (64, 64), grow_pixels=16, feather_sigma=4.0)
    assert np.abs(mask_image[..., 0] - expected).max() <= 1.5 / 255


def test_video_matting_of_a_frame_batch(comfy_server, object_info):
    prompt = _prompt("video_matting", object_info)
    for node in nodes_of(prompt, "LoadVideo"):
        node["inputs"]["file"] = "clip.mp4"
    entry = _run_ok(comfy_server, prompt)
    frames = _single_output(comfy_server, entry, prompt, "SaveImage")
    assert len(frames) == 8
    for path in frames:
        image = Image.open(path)
        assert image.mode == "RGBA" and image.size == (96, 64)
    [video_id] = [nid for nid, node in prompt.items() if node["class_type"] == "SaveVideo"]
    videos = comfy_server.output_files(entry, video_id)
    assert len(videos) == 1 and videos[0].stat().st_size > 0


def test_replace_background(comfy_server, object_info):
    prompt = _prompt("replace_background", object_info)
    node_titled(prompt, "Load Image (new background)")["inputs"]["image"] = "beach.png"
    entry = _run_ok(comfy_server, prompt)
    [png] = _single_output(comfy_server, entry, prompt, "SaveImage")
    image = Image.open(png)
    assert image.mode == "RGB" and image.size == LEMUR_SIZE


def test_composite_mask_output_plugs_into_join_image_with_alpha(comfy_server):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": {
            "class_type": "BiRefNetExactLoadModel",
            "inputs": {
                "model": TINY_CHECKPOINT,
                "device": "cpu",
                "precision": "fp32",
                "patch_order": "auto",
                "allow_download": False,
                "compile": False,
            },
        },  # fmt: skip
        "3": {
            "class_type": "BiRefNetExactSegment",
            "inputs": {
                "model": ["2", 0],
                "image": ["1", 0],
                "resolution": "custom",
                "width": 64,
                "height": 64,
                "dynamic_long_side": 1024,
                "batch_size": 2,
            },
        },  # fmt: skip
        "4": {
            "class_type": "BiRefNetExactComposite",
            "inputs": {
                "image": ["1", 0],
                "mask": ["3", 0],
                "background": "transparent",
                "color": "#000000",
                "fix_edge_colors": False,
                "fit": "cover",
            },
        },  # fmt: skip
        "5": {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["1", 0], "alpha": ["4", 1]}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "ours"}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "joined"}},
    }
    entry = _run_ok(comfy_server, prompt)
    [ours] = comfy_server.output_files(entry, "6")
    [joined] = comfy_server.output_files(entry, "7")
    ours_rgba, joined_rgba = np.asarray(Image.open(ours)), np.asarray(Image.open(joined))
    assert ours_rgba.shape == joined_rgba.shape == (LEMUR_SIZE[1], LEMUR_SIZE[0], 4)
    assert np.abs(ours_rgba.astype(int) - joined_rgba.astype(int)).max() <= 1
