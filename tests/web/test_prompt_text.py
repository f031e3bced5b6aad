"""The front end's prompt texts and pad geometry (web/prompt_text.js, web/prompt_geometry.js) under Node.js.

prompt_text.js must read every box / points text as the library does (birefnet.parse_boxes, parse_points:
the same items accepted, the same numbers) and write what the library reads back; prompt_geometry.js maps
pad positions to image pixels (checked against hand-computed values). Skipped when ``node`` is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from birefnet import BiRefNetError, format_boxes, format_points, parse_boxes, parse_points

WEB = Path(__file__).resolve().parents[2] / "web"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js (`node`) is not installed: JS modules not run")

BOX_TEXTS = [
    "",
    "  ",
    "10,20,110,220",
    " 10 , 20 ,110, 220 ; 300,40,380,90 ;",
    "-5,+6,7,8",
    "5,5,5,9",  # x1 == x0: empty
    "9,9,3,12",  # x1 < x0
    "1,2,3",
    "1,2,3,4,5",
    "a,b,c,d",
    "1.5,2,3,4",
    "1 0,2,30,40",
    ";;",
]
POINT_TEXTS = [
    "",
    "10,20",
    "10,20; +30,40; -50,60",
    " - 7 , 8 ;+ 9,10",
    "7,-8",
    "1,2,3",
    "x,y",
    "1 0,2",
    "--1,2",
    "1.0,2",
    "5,6;;",
]


def run_js(module: str, script: str):
    """Run ``script`` (an ES module body that prints JSON) with ``module``'s exports imported as M."""
    source = f"import * as M from {json.dumps((WEB / module).as_uri())};\n{script}"
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", source], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def library_reading(js_function: str, text: str):
    """What the library reads from `text`, in the JS parser's shape; None when it refuses the text."""
    try:
        if js_function == "parseBoxes":
            return {"boxes": [list(b) for b in parse_boxes(text)], "bad": []}
        positive, negative = parse_points(text)
    except BiRefNetError:
        return None
    return {"positive": [list(p) for p in positive], "negative": [list(p) for p in negative], "bad": []}


@pytest.mark.parametrize(
    ("js_function", "text"),
    [("parseBoxes", t) for t in BOX_TEXTS] + [("parsePoints", t) for t in POINT_TEXTS],
)
def test_text_is_read_as_the_library_reads_it(js_function, text):
    js = run_js("prompt_text.js", f"console.log(JSON.stringify(M.{js_function}({json.dumps(text)})));")
    expected = library_reading(js_function, text)
    if expected is None:
        assert js["bad"], f"{js_function} accepted {text!r}, the library refuses it"
    else:
        assert js == expected


def test_written_texts_are_the_library_formats():
    boxes = [[0, 0, 64, 48], [12, 3, 40, 30]]
    positive, negative = [[5, 6], [0, 47]], [[63, 0]]
    js = run_js(
        "prompt_text.js",
        f"console.log(JSON.stringify([M.formatBoxes({boxes}), M.formatPoints({positive}, {negative}),"
        " M.formatBoxes([]), M.formatPoints([], [])]));",
    )
    assert js == [format_boxes(boxes), format_points(positive, negative), "", ""]
    assert [list(b) for b in parse_boxes(js[0])] == boxes
    assert parse_points(js[1]) == (tuple(map(tuple, positive)), tuple(map(tuple, negative)))


def test_pad_positions_map_to_image_pixels_through_the_letterbox():
    # A 4000x3000 photo in a 300x200 pad: scale 200/3000 = 1/15, drawn 266.67 px wide from left 16.67.
    js = run_js(
        "prompt_geometry.js",
        """const size = [4000, 3000];
        const fit = M.fitImage(300, 200, size);
        console.log(JSON.stringify({
          fit,
          corner: M.padToImage(fit, [fit.left, 0]),
          inside: M.pixelAt(M.padToImage(fit, [100, 50]), size),
          bar: M.pixelAt(M.padToImage(fit, [5, 50]), size),
          last: M.pixelAt(M.padToImage(fit, [fit.left + fit.width - 0.01, 199.99]), size),
          box: M.boxBetween(M.padToImage(fit, [200, 150]), M.padToImage(fit, [-10, 20]), size),
          thin: M.boxBetween([10.2, 5], [10.4, 90], size),
          back: M.imageToPad(fit, [4000, 3000]),
        }));""",
    )
    fit = js["fit"]
    assert fit["scale"] == pytest.approx(1 / 15)
    assert (fit["left"], fit["top"], fit["width"], fit["height"]) == pytest.approx((50 / 3, 0, 800 / 3, 200))
    assert js["corner"] == pytest.approx([0, 0])
    assert js["inside"] == [1250, 750]  # (100 - 16.67) * 15 = 1250, 50 * 15 = 750
    assert js["bar"] is None  # beside the image: no pixel
    assert js["last"] == [3999, 2999]
    assert js["box"] == [0, 300, 2750, 2250]  # x clamped at 0; (200 - 16.67) * 15 = 2750; 20 * 15, 150 * 15
    assert js["thin"] is None  # rounds to a zero-width box
    assert js["back"] == pytest.approx([50 / 3 + 800 / 3, 200])
