"""The pack in a real ComfyUI front end: its nodes register, its scripts load cleanly, a workflow draws."""

from __future__ import annotations

from e2e.comfyui_setup import REPO_ROOT

NODE_IDS = [
    "BiRefNetExactLoadModel",
    "BiRefNetExactSegment",
    "BiRefNetExactRefineMask",
    "BiRefNetExactComposite",
    "BiRefNetExactRemoveBackground",
]
EXAMPLE = REPO_ROOT / "example_workflows" / "background_removal_transparent_png.json"


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
