"""The server side of the front end without ComfyUI: model list JSON (nodes/model_info.py) and preview files
(nodes/previews.py), over the stand-in ``folder_paths`` (tests/comfy_stand_ins.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from comfy_stand_ins import use_folder_paths
from PIL import Image


@pytest.fixture
def comfy_folders(tmp_path, monkeypatch):
    folders = {"birefnet": tmp_path / "models" / "birefnet", "BiRefNet": tmp_path / "extra" / "BiRefNet"}
    use_folder_paths(
        monkeypatch, tmp_path, {name: [path] for name, path in folders.items()}, {".safetensors"}
    )
    return folders, tmp_path / "temp"


def test_model_entries_say_local_file_variant_on_disk_and_download(comfy_folders):
    from comfyui_birefnet_exact.nodes.model_info import model_entries

    from birefnet.weights.registry import VARIANTS

    folders, _ = comfy_folders
    (folders["birefnet"] / "my-finetune.safetensors").write_bytes(b"x" * 1234)
    (folders["BiRefNet"] / "BiRefNet_lite.safetensors").write_bytes(b"y" * 99)

    body = json.loads(json.dumps(model_entries()))  # what the route sends
    entries = {e["name"]: e for e in body["models"]}
    assert [e["name"] for e in body["models"]][:2] == ["BiRefNet_lite.safetensors", "my-finetune.safetensors"]
    assert set(VARIANTS) <= set(entries)

    mine = entries["my-finetune.safetensors"]
    assert (mine["kind"], mine["size_bytes"], mine["variant"]) == ("file", 1234, None)
    named = entries["BiRefNet_lite.safetensors"]  # a file named like a variant is recognised
    assert named["kind"] == "file" and named["variant"]["name"] == "BiRefNet_lite"
    lite = entries["BiRefNet_lite"]  # the variant name: its file is already in a model folder
    assert lite["kind"] == "variant_on_disk"
    assert lite["file"] == str(folders["BiRefNet"] / "BiRefNet_lite.safetensors") and lite["size_bytes"] == 99

    hr = entries["BiRefNet_HR"]
    assert hr["kind"] == "download"
    assert hr["file"] == str(folders["birefnet"] / "BiRefNet_HR.safetensors")  # downloads go to "birefnet"
    # Swin-L BiRefNet: 220,700,285 values (the released fp32 files are 883 MB, the fp16 ones 441 MB).
    assert hr["size_bytes"] == 220_700_285 * 2
    assert entries["BiRefNet"]["size_bytes"] == 220_700_285 * 4
    assert hr["variant"] | {"description": None} == {
        "name": "BiRefNet_HR",
        "repo_id": "ZhengPeng7/BiRefNet_HR",
        "page_url": "https://huggingface.co/ZhengPeng7/BiRefNet_HR",
        "backbone": "swin_v1_l",
        "resolution": [2048, 2048],
        "task": "general",
        "license": "MIT",
        "gated": False,
        "non_commercial": False,
        "description": None,
    }
    rmbg = entries["RMBG-2.0"]["variant"]
    assert rmbg["gated"] and rmbg["non_commercial"]
    assert entries["BiRefNet_dynamic"]["variant"]["resolution"] is None
    assert body["download_folder"] == str(folders["birefnet"])
    models = folders["birefnet"].parent  # the pack adds models/<name> after the paths already registered
    assert body["folders"] == [
        str(folders["birefnet"]),
        str(folders["BiRefNet"]),
        str(models / "BiRefNet"),
        str(models / "background_removal"),
    ]


def test_swin_t_parameter_count_matches_the_lite_release():
    from comfyui_birefnet_exact.nodes.model_info import parameter_count

    assert parameter_count("swin_v1_t") * 4 == 177_450_812  # BiRefNet_lite's model.safetensors, 177 MB


def _read(temp: Path, file: dict) -> np.ndarray:
    assert file["type"] == "temp" and file["subfolder"] == ""
    return np.asarray(Image.open(temp / file["filename"]))


def _u8(frame: torch.Tensor) -> np.ndarray:
    return (frame.numpy() * 255).round().astype(np.uint8)


def test_cutout_preview_writes_each_result_and_its_original_to_the_temp_folder(comfy_folders, tmp_path):
    from comfyui_birefnet_exact.nodes.previews import cutout_preview

    _, temp = comfy_folders
    image = torch.rand(3, 20, 30, 3)
    rgba = torch.cat([image, torch.linspace(0, 1, 30).expand(3, 20, 30)[..., None]], dim=-1)
    ui = cutout_preview(image, rgba)
    (payload,) = ui["birefnet_preview"]
    assert (payload["kind"], payload["batch"], len(payload["frames"])) == ("cutout", 3, 3)
    # the payload's own files are the first frame's (what front-end code before "frames" reads)
    assert (payload["before"], payload["after"]) == (
        payload["frames"][0]["before"],
        payload["frames"][0]["after"],
    )
    for i, frame in enumerate(payload["frames"]):
        after = _read(temp, frame["after"])
        before = _read(temp, frame["before"])
        assert after.shape == (20, 30, 4) and before.shape == (20, 30, 3)
        np.testing.assert_array_equal(after, _u8(rgba[i]))
        np.testing.assert_array_equal(before, _u8(image[i]))
    assert len(os.listdir(temp)) == 6 and not (tmp_path / "output").exists()


def test_cutout_preview_of_a_long_batch_writes_only_the_first_frames(comfy_folders):
    from comfyui_birefnet_exact.nodes.previews import MAX_PREVIEW_FRAMES, cutout_preview

    _, temp = comfy_folders
    image = torch.rand(MAX_PREVIEW_FRAMES + 5, 8, 8, 3)
    (payload,) = cutout_preview(image[:1], image)["birefnet_preview"]  # one original for the whole batch
    assert (payload["batch"], len(payload["frames"])) == (MAX_PREVIEW_FRAMES + 5, MAX_PREVIEW_FRAMES)
    assert len(os.listdir(temp)) == 2 * MAX_PREVIEW_FRAMES
    last = payload["frames"][-1]
    np.testing.assert_array_equal(_read(temp, last["after"]), _u8(image[MAX_PREVIEW_FRAMES - 1]))
    np.testing.assert_array_equal(_read(temp, last["before"]), _u8(image[0]))


def test_a_preview_never_writes_more_files_than_the_temp_folder_cap(comfy_folders, monkeypatch):
    from comfyui_birefnet_exact.nodes.previews import mask_preview

    _, temp = comfy_folders
    monkeypatch.setenv("BIREFNET_MAX_PREVIEW_FILES", "5")  # room for 2 images (mask and image each)
    mask = torch.rand(6, 8, 8)
    (payload,) = mask_preview(mask, torch.rand(6, 8, 8, 3))["birefnet_preview"]
    assert (payload["batch"], len(payload["frames"])) == (6, 2)
    assert len(os.listdir(temp)) == 4


def test_mask_preview_writes_the_masks_and_their_images_when_sizes_match(comfy_folders):
    from comfyui_birefnet_exact.nodes.previews import mask_preview

    _, temp = comfy_folders
    mask = torch.zeros(2, 16, 24)
    mask[0, 4:12, 6:18] = 1.0
    mask[1, 0:3, 0:5] = 1.0
    image = torch.rand(2, 16, 24, 3)
    (payload,) = mask_preview(mask, image)["birefnet_preview"]
    assert (payload["kind"], payload["batch"], len(payload["frames"])) == ("mask", 2, 2)
    assert payload["mask"] == payload["frames"][0]["mask"]
    for i, frame in enumerate(payload["frames"]):
        saved = _read(temp, frame["mask"])
        assert saved.shape == (16, 24) and saved.dtype == np.uint8
        np.testing.assert_array_equal(saved, _u8(mask[i]))
        np.testing.assert_array_equal(_read(temp, frame["image"]), _u8(image[i]))
    # Without an image of the same size (Refine without its optional guide image): the masks alone.
    (alone,) = mask_preview(mask, None)["birefnet_preview"]
    assert alone["image"] is None and [f["image"] for f in alone["frames"]] == [None, None]
    (other,) = mask_preview(mask, torch.rand(2, 8, 8, 3))["birefnet_preview"]
    assert other["image"] is None
