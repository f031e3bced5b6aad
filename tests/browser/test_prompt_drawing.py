"""Drawing the object's box and points on Segment / Remove background (web/prompt_input.js).

A Load Image with a known 96x64 grey picture feeds a Segment node; the node's pad shows that picture.
Playwright's mouse drags boxes and clicks points on it; the test maps image pixels to page positions
itself (the picture fitted, centred, into the pad's canvas, whatever the canvas zoom) and asserts the
widget texts in the library's formats, the colours drawn over the picture (a screenshot), that "clear"
empties both widgets and the drawing, and that a box typed into the widget is drawn.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from .comfy_page import _NODE

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
    comfy_page.page.wait_for_function(
        "(id) => { const node = " + _NODE + "(id);"
        " const pad = node.widgets.find((w) => w.name === 'birefnet_prompt');"
        " return pad && !pad.hidden && pad.element.dataset.ready === 'true'; }",
        arg=node_id,
        timeout=30_000,
    )
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
    comfy_page.assert_no_pack_errors()
