"""A preview of a batch steps through its images (web/preview_steps.js): a batch of three distinct images
(the photo, its negative, the photo upside down) through Remove background, then ‹ › and the arrow keys."""

from __future__ import annotations

import json

import numpy as np

from .test_front_end import (
    _expected_over_checker,
    _view,
    forget_earlier_results,
    load_remove_background_example,
    preview_frame_box,
)

# Three distinct images from the one photo: photo, negative (ImageInvert), upside down (ImageFlip).
BUILD_BATCH_OF_THREE = """([loadId, targetId]) => {
  const graph = window.app.rootGraph ?? window.app.graph;
  const byId = (id) => graph.nodes.find((n) => String(n.id) === String(id));
  const load = byId(loadId), target = byId(targetId);
  const add = (type, x, y) => {
    const node = window.LiteGraph.createNode(type);
    node.pos = [x, y];
    graph.add(node);
    return node;
  };
  const invert = add("ImageInvert", 420, 40);
  const flip = add("ImageFlip", 420, 160);
  flip.widgets.find((w) => w.name === "flip_method").value = "x-axis: vertically";
  const pair = add("ImageBatch", 700, 40);
  const three = add("ImageBatch", 700, 200);
  load.connect(0, invert, 0);
  load.connect(0, flip, 0);
  load.connect(0, pair, 0);
  invert.connect(0, pair, 1);
  pair.connect(0, three, 0);
  flip.connect(0, three, 1);
  three.connect(0, target, target.inputs.findIndex((i) => i.name === "image"));
}"""


def _shown_index(comfy_page, node_id) -> dict:
    """What the page says is shown: the element's data-index, its count text, and shownPreviewFrame(node)
    from web/preview_widget.js (the function other front-end code reuses)."""
    url = next(u for u in comfy_page.pack_scripts_loaded() if u.endswith("/preview_widget.js"))
    return comfy_page.evaluate(
        """async ([url, id]) => {
          const { shownPreviewFrame } = await import(url);
          const graph = window.app.rootGraph ?? window.app.graph;
          const node = graph.nodes.find((n) => String(n.id) === String(id));
          const shown = shownPreviewFrame(node);
          const root = document.querySelector('.birefnet-preview');
          return { data: Number(root.dataset.index), count: root.querySelector('.steps .count').textContent,
                   index: shown?.index, of: shown?.count, after: shown?.frame?.after?.filename };
        }""",
        [url, node_id],
    )


def test_a_batch_preview_steps_through_its_images(comfy_page):
    node_id = load_remove_background_example(comfy_page)
    comfy_page.evaluate(BUILD_BATCH_OF_THREE, [comfy_page.node_ids("LoadImage")[0], node_id])
    forget_earlier_results(comfy_page.server)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    payload = entry["outputs"][str(node_id)]["birefnet_preview"][0]
    assert (payload["batch"], len(payload["frames"])) == (3, 3), payload
    afters = [_view(comfy_page.server, frame["after"]) for frame in payload["frames"]]
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(afters[i] - afters[j]).mean() > 20, f"images {i} and {j} of the batch are alike"

    comfy_page.page.wait_for_selector(".birefnet-preview[data-ready='true']", timeout=60_000)
    comfy_page.fit_view([node_id], max_scale=1.5)
    comfy_page.page.wait_for_timeout(500)
    preview = comfy_page.page.locator(".birefnet-preview")

    def shown_picture(name: str) -> tuple[list[float], object]:
        """The cut-out side (right of the slider) of the picture on screen, and which batch image it
        matches best (median error against each)."""
        frame = preview_frame_box(comfy_page)
        box = {
            "x": round(frame["x"] + 0.55 * frame["width"]),
            "y": round(frame["y"]) + 2,
            "width": round(0.4 * frame["width"]),
            "height": round(frame["height"] * 0.8),  # above the step bar
        }
        pixels, path = comfy_page.pixels(name, clip=box)
        errors = [
            float(
                np.median(
                    np.abs(pixels - _expected_over_checker(a, frame, box, *pixels.shape[:2])[0]).mean(2)
                )
            )
            for a in afters
        ]
        return errors, path

    def wait_for_index(index: int) -> None:
        comfy_page.page.wait_for_selector(f".birefnet-preview[data-index='{index}']", timeout=30_000)
        comfy_page.page.wait_for_timeout(200)

    bar = preview.locator(".steps")
    assert bar.is_visible(), comfy_page.screenshot("no-step-bar")
    sequence = (0, 1, 2, 0)  # › wraps around after the last image
    for step, index in enumerate(sequence):
        wait_for_index(index)
        errors, shot = shown_picture(f"batch-image-{index}")
        comfy_page.screenshot(f"batch-node-{step}", locator=preview)  # the whole preview, step bar included
        shown = _shown_index(comfy_page, node_id)
        assert shown["count"] == f"{index + 1}/3", (shown, shot)
        assert (shown["data"], shown["index"], shown["of"]) == (index, index, 3), (shown, shot)
        assert shown["after"] == payload["frames"][index]["after"]["filename"], (shown, shot)
        assert errors[index] < 12 and errors[index] < min(e for i, e in enumerate(errors) if i != index), (
            f"image {index + 1} of the batch not shown (median errors against each: {errors}); see {shot}"
        )
        if step < len(sequence) - 1:
            bar.locator(".next").click()
    # Arrow keys, once the preview has the focus (it took it with the click): back to the last image.
    comfy_page.page.keyboard.press("ArrowLeft")
    wait_for_index(2)
    errors, shot = shown_picture("batch-image-arrow-left")
    assert errors[2] < 12, f"ArrowLeft did not show the last image ({errors}); see {shot}"
    comfy_page.assert_no_pack_errors()
