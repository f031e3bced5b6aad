"""Drawing the object's box and points on Segment / Remove background (web/prompt_input.js).

A Load Image with a known 96x64 grey picture feeds a Segment node; the node's pad shows that picture.
Playwright's mouse drags boxes and clicks points on it; the test maps image pixels to page positions
itself (the picture fitted, centred, into the pad's canvas, whatever the canvas zoom) and asserts the
widget texts in the library's formats, the colours drawn over the picture (a screenshot), that "clear"
empties both widgets and the drawing, and that a box typed into the widget (or a value set without its
callback) is drawn.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from e2e.comfy_server import TINY_CHECKPOINT
from e2e.comfyui_setup import REPO_ROOT
from PIL import Image

from .comfy_page import _NODE
from .test_front_end import forget_earlier_results

PICTURE = "birefnet_prompt_grid.png"
SIZE = (96, 64)  # width, height: not the pad's aspect, so the picture is letterboxed
GREY = 128
SHADE = 0.45  # web/prompt_overlay.js OUTSIDE_SHADE: black at 45 % outside the boxes
BOX_RGB, POSITIVE_RGB, NEGATIVE_RGB = (0x00, 0xE5, 0xFF), (0x1E, 0xFF, 0x5A), (0xFF, 0x2A, 0x3C)


def add_nodes(comfy_page, picture: str, segment_type: str = "BiRefNetExactSegment") -> int:
    """Load Image (`picture`) -> `segment_type`'s image input; returns the segment node's id."""
    return comfy_page.evaluate(
        """([picture, type]) => {
          const graph = window.app.rootGraph ?? window.app.graph;
          const load = window.LiteGraph.createNode("LoadImage");
          load.pos = [40, 120];
          graph.add(load);
          const image = load.widgets.find((w) => w.name === "image");
          image.value = picture;
          image.callback?.(picture);
          const node = window.LiteGraph.createNode(type);
          node.pos = [420, 60];
          graph.add(node);
          load.connect(0, node, node.inputs.findIndex((i) => i.name === "image"));
          return node.id;
        }""",
        [picture, segment_type],
    )


def wait_for_pad(comfy_page, node_id, timeout_ms: int = 30_000) -> None:
    """Wait until the node's pad is shown with its picture drawn."""
    comfy_page.page.wait_for_function(
        "(id) => { const node = " + _NODE + "(id);"
        " const pad = node.widgets.find((w) => w.name === 'birefnet_prompt');"
        " return pad && !pad.hidden && pad.element.dataset.ready === 'true'; }",
        arg=node_id,
        timeout=timeout_ms,
    )


def pad_state(comfy_page, node_id) -> dict:
    """The pad's canvas box on the page (CSS px) and its data attributes."""
    return comfy_page.evaluate(
        "(id) => { const node = " + _NODE + "(id);"
        """
          const pad = node.widgets.find((w) => w.name === "birefnet_prompt");
          const root = pad?.element;
          if (!root || pad.hidden) return null;
          const r = root.querySelector("canvas").getBoundingClientRect();
          return {x: r.x, y: r.y, width: r.width, height: r.height, ...root.dataset};
        }""",
        node_id,
    )


class PictureOnPage:
    """Where image pixels are on the page: the picture fitted (aspect kept) and centred in the canvas box.
    Computed here from the canvas's page box and the picture's size, independently of the pad's code."""

    def __init__(self, pad: dict):
        self.scale = min(pad["width"] / SIZE[0], pad["height"] / SIZE[1])
        self.left = pad["x"] + (pad["width"] - SIZE[0] * self.scale) / 2
        self.top = pad["y"] + (pad["height"] - SIZE[1] * self.scale) / 2

    def edge(self, x: float, y: float) -> tuple[float, float]:
        """Page position of image coordinates (x, y): pixel edges are whole numbers."""
        return self.left + x * self.scale, self.top + y * self.scale

    def centre(self, x: int, y: int) -> tuple[float, float]:
        """Page position of the centre of pixel (x, y)."""
        return self.edge(x + 0.5, y + 0.5)


def drag(comfy_page, start, end, shift: bool = False) -> None:
    mouse, keyboard = comfy_page.page.mouse, comfy_page.page.keyboard
    if shift:
        keyboard.down("Shift")
    mouse.move(*start)
    mouse.down()
    mouse.move(*end, steps=8)
    mouse.up()
    if shift:
        keyboard.up("Shift")
    comfy_page.page.wait_for_timeout(150)


def click(comfy_page, at, button: str = "left", key: str | None = None) -> None:
    """Click at page position `at`, holding `key` (e.g. "Alt") when given."""
    if key:
        comfy_page.page.keyboard.down(key)
    comfy_page.page.mouse.click(*at, button=button)
    if key:
        comfy_page.page.keyboard.up(key)
    comfy_page.page.wait_for_timeout(150)


def clear_button(comfy_page, node_id) -> tuple[float, float]:
    """Page position of the middle of the pad's "clear" button."""
    return tuple(
        comfy_page.evaluate(
            "(id) => { const node = " + _NODE + "(id);"
            " const r = node.widgets.find((w) => w.name === 'birefnet_prompt').element"
            ".querySelector('.clear').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }",
            node_id,
        )
    )


def texts(comfy_page, node_id) -> tuple[str, str]:
    return comfy_page.widget(node_id, "box")["value"], comfy_page.widget(node_id, "points")["value"]


def colour_at(pixels: np.ndarray, shot_box: dict, at) -> np.ndarray:
    """The screenshot's colour at page position `at` (median of the 3x3 pixels around it)."""
    col, row = round(at[0] - shot_box["x"]), round(at[1] - shot_box["y"])
    return np.median(pixels[row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3), axis=0)


def near(colour, rgb, tolerance=40) -> bool:
    return bool(np.abs(np.asarray(colour, float) - rgb).max() <= tolerance)


def line_across(pixels: np.ndarray, shot_box: dict, at, rgb, reach: int = 3) -> bool:
    """True when a pixel of the row through page position `at`, within `reach` px of it, has colour `rgb`
    (a line of the drawing crosses there; its anti-aliased edges blend with what lies beside it)."""
    col, row = round(at[0] - shot_box["x"]), round(at[1] - shot_box["y"])
    return any(near(pixels[row, c], rgb) for c in range(col - reach, col + reach + 1))


@pytest.fixture
def grey_picture(browser_server):
    Image.new("RGB", SIZE, (GREY,) * 3).save(browser_server.base / "input" / PICTURE)
    return PICTURE


def open_pad(comfy_page, picture: str, segment_type: str = "BiRefNetExactSegment"):
    node_id = add_nodes(comfy_page, picture, segment_type)
    wait_for_pad(comfy_page, node_id)
    comfy_page.fit_view([node_id], max_scale=1.3)  # a zoomed canvas: page px are not pad px
    comfy_page.page.wait_for_timeout(400)
    return node_id, pad_state(comfy_page, node_id)


def test_box_and_points_drawn_with_the_mouse_land_in_the_widgets_in_image_pixels(comfy_page, grey_picture):
    node_id, pad = open_pad(comfy_page, grey_picture)
    assert pad["size"] == f"{SIZE[0]},{SIZE[1]}", pad
    at = PictureOnPage(pad)
    comfy_page.screenshot("node", clip=comfy_page.node_rect(node_id))  # for a look at the node's layout
    assert at.scale > 2, f"the picture is shown too small to click single pixels: {pad}"

    drag(comfy_page, at.edge(10, 8), at.edge(70, 50))
    assert texts(comfy_page, node_id) == ("10,8,70,50", "")
    click(comfy_page, at.centre(40, 30))
    click(comfy_page, at.centre(20, 40), button="right")
    drag(comfy_page, at.edge(90, 20), at.edge(75, 5), shift=True)  # dragged up-left: same box
    click(comfy_page, at.centre(80, 45), key="Alt")
    assert texts(comfy_page, node_id) == ("10,8,70,50;75,5,90,20", "40,30;-20,40;-80,45")
    drag(comfy_page, at.edge(2, 3), at.edge(30, 33))  # a plain drag replaces the boxes
    assert texts(comfy_page, node_id)[0] == "2,3,30,33"
    drag(comfy_page, at.edge(10, 8), at.edge(70, 50))
    assert pad_state(comfy_page, node_id)["shapes"] == "4"  # 1 box, 3 points
    comfy_page.screenshot("node-drawn", clip=comfy_page.node_rect(node_id))  # the widgets show the texts

    pixels, shot = comfy_page.pixels("drawn", clip=pad)
    assert near(colour_at(pixels, pad, at.centre(40, 30)), POSITIVE_RGB), f"no positive point; see {shot}"
    assert near(colour_at(pixels, pad, at.centre(20, 40)), NEGATIVE_RGB), f"no negative point; see {shot}"
    assert near(colour_at(pixels, pad, at.centre(80, 45)), NEGATIVE_RGB), f"no negative point; see {shot}"
    assert line_across(pixels, pad, at.edge(10, 30), BOX_RGB), f"no box outline; see {shot}"
    inside, outside = colour_at(pixels, pad, at.centre(50, 20)), colour_at(pixels, pad, at.centre(4, 30))
    assert near(inside, (GREY,) * 3, 6), f"the box's inside is not the picture; see {shot}"
    assert near(outside, (GREY * (1 - SHADE),) * 3, 8), f"outside the box is not shaded; see {shot}"

    click(comfy_page, clear_button(comfy_page, node_id))
    comfy_page.page.wait_for_timeout(200)
    assert texts(comfy_page, node_id) == ("", "")
    cleared, cleared_shot = comfy_page.pixels("cleared", clip=pad)
    for spot in (at.centre(40, 30), at.centre(20, 40), at.edge(10, 30), at.centre(4, 30)):
        assert near(colour_at(cleared, pad, spot), (GREY,) * 3, 6), (
            f"drawing left after clear; see {cleared_shot}"
        )
    assert pad_state(comfy_page, node_id)["shapes"] == "0"

    comfy_page.set_widget(node_id, "box", "48,0,96,32")  # typed into the widget: drawn
    comfy_page.page.wait_for_timeout(200)
    typed, typed_shot = comfy_page.pixels("typed", clip=pad)
    assert line_across(typed, pad, at.edge(48, 16), BOX_RGB), f"typed box not drawn; see {typed_shot}"
    assert near(colour_at(typed, pad, at.centre(20, 40)), (GREY * (1 - SHADE),) * 3, 8), typed_shot
    assert near(colour_at(typed, pad, at.centre(70, 16)), (GREY,) * 3, 6), typed_shot

    # A value set without the widget's callback (undo, another extension) is drawn too, within a second.
    comfy_page.evaluate(
        "(id) => { " + _NODE + "(id).widgets.find((w) => w.name === 'points').value = '20,40'; }", node_id
    )
    comfy_page.page.wait_for_timeout(1500)
    quiet, quiet_shot = comfy_page.pixels("set-quietly", clip=pad)
    assert near(colour_at(quiet, pad, at.centre(20, 40)), POSITIVE_RGB), f"point not drawn; see {quiet_shot}"
    comfy_page.assert_no_pack_errors()


def pad_menu(comfy_page, node_id, starts_with: str) -> None:
    """Pick the node menu's entry that starts with `starts_with` (as the context menu calls it)."""
    comfy_page.evaluate(
        "([id, start]) => { const node = " + _NODE + "(id); const options = [];"
        " node.getExtraMenuOptions(window.app.canvas, options);"
        " options.find((o) => o && String(o.content).startsWith(start)).callback(); }",
        [node_id, starts_with],
    )
    comfy_page.page.wait_for_timeout(300)


def segment_of(workflow: dict, node_id) -> dict:
    return next(n for n in workflow["nodes"] if str(n["id"]) == str(node_id))


def test_saved_workflows_keep_their_layout_and_values_until_the_pad_is_turned_on(comfy_page, grey_picture):
    node_id, _ = open_pad(comfy_page, grey_picture)
    saved = comfy_page.graph_workflow()
    values = segment_of(saved, node_id)["widgets_values"]
    assert segment_of(saved, node_id)["properties"]["birefnet_prompt_pad"] is True
    prompt = comfy_page.api_prompt()[str(node_id)]["inputs"]
    assert not any(k.startswith("birefnet_") for k in prompt), prompt  # the pad is no input

    # A workflow saved before the pad existed: no pad (the node keeps its saved size) ...
    old = json.loads(json.dumps(saved))
    del segment_of(old, node_id)["properties"]["birefnet_prompt_pad"]
    comfy_page.load_workflow(old)
    comfy_page.page.wait_for_timeout(1500)  # longer than the pad's look at the upstream picture
    assert pad_state(comfy_page, node_id) is None, comfy_page.screenshot("old-workflow")
    # ... until the node menu turns it on; the widget values stay as they were.
    pad_menu(comfy_page, node_id, "Draw a box / points")
    wait_for_pad(comfy_page, node_id)
    turned_on = segment_of(comfy_page.graph_workflow(), node_id)
    assert turned_on["properties"]["birefnet_prompt_pad"] is True
    assert turned_on["widgets_values"] == values
    pad_menu(comfy_page, node_id, "Hide the box / points")
    assert pad_state(comfy_page, node_id) is None, comfy_page.screenshot("turned-off")

    # An old workflow whose node holds a box shows the pad with the box drawn.
    names = [w["name"] for w in comfy_page.widgets(node_id) if w["name"] != "birefnet_prompt"]
    segment_of(old, node_id)["widgets_values"][names.index("box")] = "10,8,70,50"
    comfy_page.load_workflow(old)
    wait_for_pad(comfy_page, node_id)
    assert comfy_page.widget(node_id, "box")["value"] == "10,8,70,50"
    assert pad_state(comfy_page, node_id)["shapes"] == "1", comfy_page.screenshot("old-workflow-with-box")
    comfy_page.assert_no_pack_errors()


def test_without_a_picked_picture_upstream_the_pad_shows_the_last_run_image(comfy_page, grey_picture):
    """Load Image -> Upscale Image By 0.5 -> Remove background: before a run there is nothing to draw on;
    after it, the pad shows the image the node received (48x32) and clicks are in its pixels."""
    node_id = comfy_page.evaluate(
        """([picture, model]) => {
          const graph = window.app.rootGraph ?? window.app.graph;
          const add = (type, pos) => { const n = window.LiteGraph.createNode(type); n.pos = pos; graph.add(n); return n; };
          const load = add("LoadImage", [20, 120]);
          load.widgets.find((w) => w.name === "image").value = picture;
          const scale = add("ImageScaleBy", [360, 120]);
          scale.widgets.find((w) => w.name === "scale_by").value = 0.5;
          const node = add("BiRefNetExactRemoveBackground", [660, 60]);
          node.widgets.find((w) => w.name === "model").value = model;
          const save = add("PreviewImage", [1100, 60]);
          load.connect(0, scale, 0);
          scale.connect(0, node, node.inputs.findIndex((i) => i.name === "image"));
          node.connect(0, save, 0);
          return node.id;
        }""",
        [grey_picture, TINY_CHECKPOINT],
    )
    comfy_page.fit_view()
    comfy_page.page.wait_for_timeout(1500)
    assert pad_state(comfy_page, node_id) is None, comfy_page.screenshot("before-run")
    forget_earlier_results(comfy_page.server)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    wait_for_pad(comfy_page, node_id, 60_000)
    comfy_page.fit_view([node_id], max_scale=1.3)
    comfy_page.page.wait_for_timeout(400)
    pad = pad_state(comfy_page, node_id)
    assert pad["size"] == "48,32", pad
    scale = min(pad["width"] / 48, pad["height"] / 32)
    left, top = pad["x"] + (pad["width"] - 48 * scale) / 2, pad["y"] + (pad["height"] - 32 * scale) / 2
    click(comfy_page, (left + 47.5 * scale, top + 0.5 * scale))  # the top-right pixel
    shot = comfy_page.screenshot("after-run", clip=comfy_page.node_rect(node_id))
    assert comfy_page.widget(node_id, "points")["value"] == "47,0", shot
    comfy_page.assert_no_pack_errors()


def test_boxed_example_draws_its_box_on_the_picture_and_keeps_clear_of_its_note(comfy_page):
    comfy_page.load_workflow(REPO_ROOT / "example_workflows" / "cutout_boxed_object.json")
    segment = comfy_page.node_ids("BiRefNetExactSegment")[0]
    wait_for_pad(comfy_page, segment)
    comfy_page.fit_view()
    comfy_page.page.wait_for_timeout(500)
    shot = comfy_page.screenshot("example")
    pad = pad_state(comfy_page, segment)
    assert (pad["size"], pad["shapes"]) == ("680,440", "1"), (pad, shot)  # example.png, the saved box
    node, note = comfy_page.node_rect(segment), comfy_page.node_rect(comfy_page.node_ids("Note")[0])
    assert node["y"] + node["height"] <= note["y"] + 1, f"Segment covers the example's note; see {shot}"
