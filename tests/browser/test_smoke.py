"""The pack in a real ComfyUI front end: its nodes register, its scripts load cleanly, a workflow draws."""

from __future__ import annotations

import os

from e2e.comfyui_setup import REPO_ROOT
from PIL import Image

NODE_IDS = [
    "BiRefNetExactLoadModel",
    "BiRefNetExactSegment",
    "BiRefNetExactRefineMask",
    "BiRefNetExactComposite",
    "BiRefNetExactRemoveBackground",
]
EXAMPLE = REPO_ROOT / "example_workflows" / "background_removal_transparent_png.json"
README_SCREENSHOT = REPO_ROOT / "docs" / "comfyui-nodes.png"


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
        if comfy_page.frontend.name == "installed" and comfy_page.frontend.comfyui == "0.3.75":
            _write_readme_screenshot(comfy_page)


def _write_readme_screenshot(comfy_page) -> None:
    """docs/comfyui-nodes.png: the example's nodes, cropped, in 256 colours (kept well under 200 KB)."""
    rects = [comfy_page.node_rect(i) for i in comfy_page.node_ids()]
    x0, y0 = min(r["x"] for r in rects) - 12, min(r["y"] for r in rects) - 30
    x1, y1 = max(r["x"] + r["width"] for r in rects) + 12, max(r["y"] + r["height"] for r in rects) + 12
    pixels, _ = comfy_page.pixels("readme", clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    image = Image.fromarray(pixels).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(README_SCREENSHOT, optimize=True)
