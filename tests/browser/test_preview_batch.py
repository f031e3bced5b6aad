"""A preview of a batch steps through its images (web/preview_steps.js): a batch of three distinct images
(the photo, its negative, the photo upside down) through Segment (mask preview: the image on the left of
the slider, the tinted mask on the right), then ‹ › and the arrow keys."""

from __future__ import annotations

import json

import numpy as np

from .test_front_end import (
    _expected_over_checker,
    _view,
    forget_earlier_results,
    load_quick_segment_example,
    preview_frame_box,
    show_mask_preview,
)

# Three distinct images from the one photo: photo, negative (ImageInvert), upside down (ImageFlip).
MASK_PREVIEW = ".birefnet-preview[data-kind='mask']"  # Segment's (Composite shows a cut-out preview too)

# Every input the photo fed now gets a batch of three distinct images built from it: the photo, its
# negative (ImageInvert), the photo upside down (ImageFlip).
BUILD_BATCH_OF_THREE = """(loadId) => {
  const graph = window.app.rootGraph ?? window.app.graph;
  const byId = (id) => graph.nodes.find((n) => String(n.id) === String(id));
  const link = (id) => (graph.links.get ? graph.links.get(id) : graph.links[id]);
  const load = byId(loadId);
  const fed = (load.outputs[0].links ?? []).map(link).map((l) => [byId(l.target_id), l.target_slot]);
  const add = (type, x, y) => {
    const node = window.LiteGraph.createNode(type);
    node.pos = [x, y];
    graph.add(node);
    return node;
  };
  const invert = add("ImageInvert", 100, -300);
  const flip = add("ImageFlip", 100, -180);
  flip.widgets.find((w) => w.name === "flip_method").value = "x-axis: vertically";
  const pair = add("ImageBatch", 400, -300);
  const three = add("ImageBatch", 400, -160);
  load.connect(0, invert, 0);
  load.connect(0, flip, 0);
  load.connect(0, pair, 0);
  invert.connect(0, pair, 1);
  pair.connect(0, three, 0);
  flip.connect(0, three, 1);
  for (const [node, slot] of fed) three.connect(0, node, slot);
}"""


def _shown_index(comfy_page, node_id) -> dict:
    """What the page says is shown: the element's data-index, its count text, and shownPreviewFrame(node)
    from web/preview_widget.js (the function other front-end code reuses)."""
    url = next(u for u in comfy_page.pack_scripts_loaded() if u.endswith("/preview_widget.js"))
    return comfy_page.evaluate(
        """async ([url, id, preview]) => {
          const { shownPreviewFrame } = await import(url);
          const graph = window.app.rootGraph ?? window.app.graph;
          const node = graph.nodes.find((n) => String(n.id) === String(id));
          const shown = shownPreviewFrame(node);
          const root = document.querySelector(preview);
          return { data: Number(root.dataset.index), count: root.querySelector('.steps .count').textContent,
                   index: shown?.index, of: shown?.count, image: shown?.frame?.image?.filename };
        }""",
        [url, node_id, MASK_PREVIEW],
    )


def test_a_batch_preview_steps_through_its_images(comfy_page):
    node_id = load_quick_segment_example(comfy_page)
    comfy_page.evaluate(BUILD_BATCH_OF_THREE, comfy_page.node_ids("LoadImage")[0])
    forget_earlier_results(comfy_page.server)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    payload = entry["outputs"][str(node_id)]["birefnet_preview"][0]
    assert (payload["batch"], len(payload["frames"])) == (3, 3), payload
    images = [_view(comfy_page.server, frame["image"]) for frame in payload["frames"]]
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(images[i] - images[j]).mean() > 20, f"images {i} and {j} of the batch are alike"

    show_mask_preview(comfy_page, node_id)
    comfy_page.page.wait_for_selector(f"{MASK_PREVIEW}[data-ready='true']", timeout=60_000)
    comfy_page.fit_view([node_id], max_scale=1.5)
    comfy_page.page.wait_for_timeout(500)
    preview = comfy_page.page.locator(MASK_PREVIEW)
    # The grown preview reaches over Refine mask below it (Vue nodes): a click on the title brings it to front.
    title = comfy_page.node_rect(node_id)
    comfy_page.page.mouse.click(title["x"] + title["width"] / 2, title["y"] + 12)
    comfy_page.page.wait_for_timeout(300)

    def shown_picture(name: str) -> tuple[list[float], object]:
        """The image side (left of the slider) of the picture on screen, and its median error against
        each image of the batch."""
        frame = preview_frame_box(comfy_page, MASK_PREVIEW)
        box = {
            "x": round(frame["x"] + 0.05 * frame["width"]),
            "y": round(frame["y"] + 0.05 * frame["height"]),
            "width": round(0.4 * frame["width"]),
            "height": round(frame["height"] * 0.75),  # above the step bar
        }
        pixels, path = comfy_page.pixels(name, clip=box)
        expected = [_expected_over_checker(image, frame, box, *pixels.shape[:2])[0] for image in images]
        errors = [float(np.median(np.abs(pixels - e).mean(axis=2))) for e in expected]
        return errors, path

    def wait_for_index(index: int) -> None:
        comfy_page.page.wait_for_selector(f"{MASK_PREVIEW}[data-index='{index}']", timeout=30_000)
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
        assert shown["image"] == payload["frames"][index]["image"]["filename"], (shown, shot)
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
