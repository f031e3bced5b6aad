"""The browser-test helpers do what they say: widget values reach the saved workflow and the API prompt,
and the Run button runs a workflow whose result the page then shows."""

from __future__ import annotations

import numpy as np
import pytest
from e2e.comfy_server import TINY_CHECKPOINT
from e2e.comfyui_setup import REPO_ROOT
from PIL import Image

EXAMPLES = REPO_ROOT / "example_workflows"


def test_set_widget_reaches_saved_workflow_and_api_prompt(comfy_page):
    comfy_page.load_workflow(EXAMPLES / "background_removal_transparent_png.json")
    (segment,) = comfy_page.node_ids("BiRefNetExactSegment")
    comfy_page.set_widget(segment, "resolution", "custom")
    comfy_page.set_widget(segment, "width", 640)
    assert comfy_page.widget(segment, "width")["value"] == 640

    saved = next(n for n in comfy_page.graph_workflow()["nodes"] if n["id"] == segment)
    assert "custom" in saved["widgets_values"] and 640 in saved["widgets_values"], saved["widgets_values"]
    inputs = comfy_page.api_prompt()[str(segment)]["inputs"]
    assert (inputs["resolution"], inputs["width"]) == ("custom", 640), inputs


@pytest.mark.parametrize("renderer", ["classic"])  # run() is the same for both renderers; CPU time is not
def test_run_button_runs_the_background_removal_example(comfy_page):
    comfy_page.load_workflow(EXAMPLES / "background_removal_transparent_png.json")
    (loader,) = comfy_page.node_ids("BiRefNetExactLoadModel")
    (segment,) = comfy_page.node_ids("BiRefNetExactSegment")
    (save,) = comfy_page.node_ids("SaveImage")
    comfy_page.set_widget(loader, "model", TINY_CHECKPOINT)
    comfy_page.set_widget(loader, "allow_download", False)
    for name, value in (("resolution", "custom"), ("width", 256), ("height", 256)):  # quick on a busy CPU
        comfy_page.set_widget(segment, name, value)
    before, before_shot = comfy_page.node_pixels(save, "save-node-before")

    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", entry["status"]
    (saved,) = comfy_page.server.output_files(entry, str(save))
    with Image.open(saved) as image, Image.open(comfy_page.server.base / "input" / "example.png") as source:
        assert (image.mode, image.size) == ("RGBA", source.size)

    comfy_page.page.wait_for_timeout(1000)  # the preview image loads after the run's "executed" message
    after, after_shot = comfy_page.node_pixels(save, "save-node-after")
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 30
    assert changed.mean() > 0.1, f"Save Image shows no result after the run: {before_shot} vs {after_shot}"
