"""The pack in a real ComfyUI front end: its nodes register, its scripts load cleanly, a workflow draws."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from e2e.comfyui_setup import REPO_ROOT
from PIL import Image

from .test_front_end import _view

NODE_IDS = [
    "BiRefNetExactLoadModel",
    "BiRefNetExactSegment",
    "BiRefNetExactRefineMask",
    "BiRefNetExactComposite",
    "BiRefNetExactRemoveBackground",
]
EXAMPLE = REPO_ROOT / "example_workflows" / "background_removal_transparent_png.json"
README_SCREENSHOT = REPO_ROOT / "docs" / "comfyui-nodes.png"
README_COMFYUI = ("0.8.0", "installed")  # the README's picture: ComfyUI 0.8.0, its own front end (1.35.9)
SHOT_VIEWPORT = {"width": 1700, "height": 1200}  # CSS px
LEMUR_ALPHA = REPO_ROOT / "tests" / "fixtures" / "lemur" / "lemur_alpha.png"  # the photo's true matte


def test_nodes_register_and_example_draws_without_errors(comfy_page):
    missing = sorted(set(NODE_IDS) - set(comfy_page.node_types()))
    assert not missing, f"node types not registered in the page: {missing}"

    comfy_page.load_workflow(EXAMPLE)
    ids = {t: comfy_page.node_ids(t) for t in ("BiRefNetExactLoadModel", "BiRefNetExactSegment")}
    assert all(ids.values()), f"example workflow did not load its nodes: {ids}"
    shot = comfy_page.screenshot("background-removal-example")

    rect = comfy_page.node_rect(ids["BiRefNetExactSegment"][0])
    assert rect["x"] >= 0 and rect["y"] >= 0, f"Segment node is off screen at {rect}; see {shot}"
    pixels, node_shot = comfy_page.node_pixels(ids["BiRefNetExactSegment"][0], "segment-node")
    assert pixels.shape[0] > 50 and pixels.shape[1] > 100, (
        f"node box too small: {pixels.shape}; see {node_shot}"
    )
    assert pixels.std() > 10, f"the Segment node draws as a flat area; see {node_shot} and {shot}"
    comfy_page.assert_no_pack_errors()

    if os.environ.get("BIREFNET_README_SCREENSHOT") == "1" and comfy_page.renderer == "classic":
        if (comfy_page.frontend.comfyui, comfy_page.frontend.name) == README_COMFYUI:
            _write_readme_screenshot(comfy_page)


def _write_readme_screenshot(comfy_page) -> None:
    """docs/comfyui-nodes.png: the example run with the checkpoint ``BIREFNET_README_CHECKPOINT`` (made by
    scripts/readme_screenshot.sh), once Composite's before/after preview shows the result; the nodes
    cropped, in 256 colours (kept well under 200 KB)."""
    checkpoint = Path(os.environ.get("BIREFNET_README_CHECKPOINT", ""))
    assert checkpoint.is_file(), (
        f"BIREFNET_README_CHECKPOINT={checkpoint}: no such file; take the README picture with "
        "`bash scripts/readme_screenshot.sh` (it trains and caches the checkpoint)"
    )
    shutil.copyfile(checkpoint, comfy_page.server.base / "models" / "birefnet" / checkpoint.name)
    comfy_page.reload()  # the loader's file list now has the checkpoint
    workflow = json.loads(EXAMPLE.read_text())
    for node in workflow["nodes"]:
        if node["type"] == "BiRefNetExactLoadModel":
            node["widgets_values"][0] = checkpoint.name
    comfy_page.load_workflow(workflow)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    comfy_page.page.wait_for_selector(".birefnet-preview[data-kind='cutout'][data-ready='true']")
    # A taller, wider page than the tests' and the graph at 0.8: the nodes stay clear of the menus, the
    # "job completed" note and the zoom buttons along the page's edges.
    viewport = comfy_page.page.viewport_size
    comfy_page.page.set_viewport_size(SHOT_VIEWPORT)
    comfy_page.page.wait_for_timeout(500)
    comfy_page.fit_view(max_scale=0.8)
    comfy_page.page.wait_for_timeout(1000)

    # The picture must show a real cut-out: the saved PNG's alpha against the photo's true matte.
    (saved,) = entry["outputs"][str(comfy_page.node_ids("SaveImage")[0])]["images"]
    alpha = _view(comfy_page.server, saved)[..., 3] > 127
    truth = np.asarray(Image.open(LEMUR_ALPHA)) > 127
    iou = (alpha & truth).sum() / (alpha | truth).sum()
    print(f"README picture: cut-out IoU against lemur_alpha.png {iou:.3f}")
    assert iou > 0.8, f"the checkpoint's cut-out is poor (IoU {iou:.3f}): retrain it (delete {checkpoint})"

    rects = [comfy_page.node_rect(i) for i in comfy_page.node_ids()]
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            apart = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
            apart = apart or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
            assert apart, f"nodes overlap after the run: {a} and {b}; see {comfy_page.screenshot('overlap')}"
    x0, y0 = min(r["x"] for r in rects) - 12, min(r["y"] for r in rects) - 30
    x1, y1 = max(r["x"] + r["width"] for r in rects) + 12, max(r["y"] + r["height"] for r in rects) + 12
    pixels, _ = comfy_page.pixels("readme", clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    image = Image.fromarray(pixels).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(README_SCREENSHOT, optimize=True)
    comfy_page.page.set_viewport_size(viewport)
