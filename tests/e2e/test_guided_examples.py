"""The object-choice example workflows (a box, a painted region, crop to the subject for SD) and Paste back, run
in the real server on the tiny checkpoint (custom resolution 64x64, see test_example_workflows.py).

Each result is compared with the same computation done here with the library, and with what the contract
fixes by hand: 0 outside the grown box, a crop of the asked aspect and multiple, an exact paste-back.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from birefnet import Prompt, load_model, predict, predict_guided, subject_box

from .conftest import FIXTURES, TINY_CHECKPOINT
from .test_example_workflows import LEMUR_SIZE, _prompt, _run_ok, _saved_rgba_alpha, _single_output
from .workflow_api import nodes_of

SIZE = (64, 64)  # the model input the tests set on every Segment (test_example_workflows._prompt)
BOXED = (210, 60, 470, 310)  # the box saved in cutout_boxed_object.json
PAINTED = (250, 90, 430, 280)  # the rectangle the refine test paints (x0, y0, x1, y1)
MARGIN = 32  # the examples' margin (the default)


def _lemur() -> torch.Tensor:
    """The lemur as a ComfyUI IMAGE [1, H, W, 3] in 0..1."""
    pixels = np.asarray(Image.open(FIXTURES / "lemur.png").convert("RGB"), np.float32) / 255
    return torch.from_numpy(pixels)[None]


def _model(comfy_server):
    return load_model(comfy_server.base / "models" / "birefnet" / TINY_CHECKPOINT)


def _outside(box, margin: int) -> np.ndarray:
    """True outside ``box`` grown by ``margin`` (clipped to the lemur)."""
    x0, y0, x1, y1 = box
    outside = np.ones((LEMUR_SIZE[1], LEMUR_SIZE[0]), bool)
    outside[max(y0 - margin, 0) : y1 + margin, max(x0 - margin, 0) : x1 + margin] = False
    return outside


def test_cutout_of_the_boxed_object(comfy_server, object_info):
    prompt = _prompt("cutout_boxed_object", object_info)
    [segment] = nodes_of(prompt, "BiRefNetExactSegment")
    assert segment["inputs"]["box"] == ",".join(map(str, BOXED)) and segment["inputs"]["margin"] == MARGIN
    alpha = _saved_rgba_alpha(comfy_server, prompt)
    expected = predict_guided(_model(comfy_server), _lemur(), Prompt(boxes=(BOXED,)), SIZE, margin=MARGIN)
    assert np.abs(alpha - expected[0].numpy()).max() <= 1.5 / 255
    assert alpha[_outside(BOXED, MARGIN)].max() == 0 and alpha.std() > 1e-3


def test_refine_a_painted_mask(comfy_server, object_info):
    """Load Image of a PNG whose alpha was painted away (what the mask editor saves): its MASK is the region."""
    rgba = np.asarray(Image.open(FIXTURES / "lemur.png").convert("RGBA")).copy()
    x0, y0, x1, y1 = PAINTED
    rgba[y0:y1, x0:x1, 3] = 0
    Image.fromarray(rgba).save(comfy_server.base / "input" / "lemur_painted.png")
    prompt = _prompt("refine_sam_mask", object_info)
    for node in nodes_of(prompt, "LoadImage"):
        node["inputs"]["image"] = "lemur_painted.png"
    alpha = _saved_rgba_alpha(comfy_server, prompt)
    region = torch.zeros(LEMUR_SIZE[1], LEMUR_SIZE[0])
    region[y0:y1, x0:x1] = 1.0
    expected = predict_guided(_model(comfy_server), _lemur(), Prompt(region=region), SIZE, margin=MARGIN)
    assert np.abs(alpha - expected[0].numpy()).max() <= 1.5 / 255
    assert alpha[_outside(PAINTED, MARGIN)].max() == 0


def test_crop_to_subject_for_sd_without_the_stable_diffusion_part(comfy_server, object_info):
    prompt = _prompt("crop_to_subject_for_sd", object_info)
    assert not nodes_of(prompt, "KSampler") and not nodes_of(prompt, "BiRefNetExactPasteBack")
    [crop_id] = [nid for nid, node in prompt.items() if node["class_type"] == "BiRefNetExactCropToSubject"]
    prompt["90"] = {"class_type": "SaveImage", "inputs": {"images": [crop_id, 0], "filename_prefix": "crop"}}
    entry = _run_ok(comfy_server, prompt)
    [scaled] = _single_output(comfy_server, entry, prompt, "PreviewImage")
    assert Image.open(scaled).size == (1024, 1024)  # what SD sees
    [saved] = comfy_server.output_files(entry, "90")
    crop = np.asarray(Image.open(saved).convert("RGB"))
    lemur = _lemur()
    mask = predict(_model(comfy_server), lemur, SIZE)[0]
    x0, y0, x1, y1 = subject_box(mask, threshold=0.5, margin=MARGIN, aspect=(1, 1), multiple=64)
    assert x1 - x0 == y1 - y0 and (x1 - x0) % 64 == 0 and 0 <= x0 < x1 <= 680 and 0 <= y0 < y1 <= 440
    expected = np.asarray(Image.open(FIXTURES / "lemur.png").convert("RGB"))[y0:y1, x0:x1]
    np.testing.assert_array_equal(crop, expected)


def test_paste_back_of_an_unchanged_crop_restores_the_photo(comfy_server):
    crop = {"threshold": 0.5, "aspect": "free", "multiple": 8, "per_image": True, "margin": 16}
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": {"class_type": "BiRefNetExactLoadModel",
              "inputs": {"model": TINY_CHECKPOINT, "device": "cpu", "precision": "fp32", "patch_order": "auto",
                         "allow_download": False}},
        "3": {"class_type": "BiRefNetExactSegment",
              "inputs": {"model": ["2", 0], "image": ["1", 0], "resolution": "custom", "width": 64, "height": 64,
                         "dynamic_long_side": 1024, "batch_size": 2}},
        "4": {"class_type": "BiRefNetExactCropToSubject", "inputs": {"image": ["1", 0], "mask": ["3", 0], **crop}},
        "5": {"class_type": "BiRefNetExactPasteBack",
              "inputs": {"image": ["1", 0], "patch": ["4", 0], "boxes": ["4", 2], "mask": ["4", 1]}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "pasted"}},
    }  # fmt: skip
    entry = _run_ok(comfy_server, prompt)
    [pasted] = comfy_server.output_files(entry, "6")
    original = np.asarray(Image.open(FIXTURES / "lemur.png").convert("RGB"))
    np.testing.assert_array_equal(np.asarray(Image.open(pasted).convert("RGB")), original)
