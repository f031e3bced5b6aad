"""Which object to cut out, for the nodes that segment stills (Segment, Remove background): an optional
``region`` MASK socket and the ``margin``, ``box`` and ``points`` widgets, appended after every other input and
optional, so saved workflows and API prompts written before them run unchanged (the whole image).

The texts are the library's formats (``birefnet.parse_boxes``, ``birefnet.parse_points``); the front end draws
into the ``box`` and ``points`` widgets (web/names.js GUIDE_WIDGETS).
"""

from __future__ import annotations

import torch
from comfy_api.latest import io

from ..birefnet import Prompt, batch_prompts, parse_boxes, parse_points
from .shared_inputs import margin_input

# Names web/names.js GUIDE_WIDGETS copies (with shared_inputs.MARGIN_WIDGET); the front end draws into box, points.
REGION_INPUT = "region"
BOX_WIDGET = "box"
POINTS_WIDGET = "points"


def guided_inputs() -> list[io.Input]:
    """region (MASK socket), margin, box, points; the values go to ``guided_prompts``."""
    return [
        io.Mask.Input(
            REGION_INPUT,
            optional=True,
            tooltip="rough mask of the object to cut out (1 = object: the mask editor's paint, a SAM mask); "
            "BiRefNet segments the region's bounding box plus 'margin' and keeps the parts touching the region",
        ),
        margin_input("pixels added around the box, region or points before the crop the model sees"),
        io.String.Input(
            BOX_WIDGET,
            default="",
            optional=True,
            placeholder="x0,y0,x1,y1; ... (empty: whole image)",
            tooltip="boxes around the objects to cut out, pixels of the image: x0,y0,x1,y1 (x1, y1 exclusive), "
            "several separated by ';'. Each box plus 'margin' is segmented at the model's full input size; "
            "the mask is 0 outside it. Empty: the whole image",
        ),
        io.String.Input(
            POINTS_WIDGET,
            default="",
            optional=True,
            placeholder="x,y; -x,y ... (empty: none)",
            tooltip="clicks on the object: x,y or +x,y keeps the part of the mask it falls in, -x,y removes it; "
            "several separated by ';'. Without a box or region, the crop is the positive points' bounding box "
            "plus 'margin'",
        ),
    ]


def guided_prompts(
    image: torch.Tensor, region: torch.Tensor | None, box: str, points: str
) -> list[Prompt] | None:
    """One ``birefnet.Prompt`` per image of ``image`` ``[N, H, W, C]``: the same boxes and points for every
    image; the region MASK ``[N, H, W]`` one per image, ``[1, H, W]`` or ``[H, W]`` one for all (see
    ``birefnet.batch_prompts``). None when no region, box or point is given: the whole image, exactly as
    without these inputs. Malformed text, or a region batch of another length, raises BiRefNetError."""
    boxes = parse_boxes(box or "")
    positive, negative = parse_points(points or "")
    if region is None and not boxes and not positive and not negative:
        return None
    return batch_prompts(
        image.shape[0], boxes=boxes, points=positive, negative_points=negative, regions=region
    )
