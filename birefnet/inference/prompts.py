"""Which object of an image to cut out: boxes, a rough region mask, positive and negative points.

Text formats (the one parser each; the command line, the nodes and the front end read and write these):
- boxes: ``x0,y0,x1,y1`` integers, pixels of the original image, 0-based, x1 / y1 exclusive (the edges);
  several separated by ``;``. Whitespace is ignored; an empty string means no box.
- points: items separated by ``;``, each ``x,y`` or ``+x,y`` (positive) or ``-x,y`` (negative), pixels of the
  original image (x to the right, y down, 0-based). An empty string means no point.
A region is a float mask ``[H, W]`` in 0..1 at the image's size, 1 = the object (ComfyUI's MASK).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import BiRefNetError

DEFAULT_MARGIN = 32
"""Pixels a box, a region's bounding box or the points' bounding box is grown by before the crop is predicted
(also the video tracking margin)."""
REGION_THRESHOLD = 0.5
"""Region pixels above this are the object."""

Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in pixels of the original image, x1 / y1 exclusive."""
Point = tuple[int, int]
"""(x, y) in pixels of the original image."""

_INT = r"\s*([+-]?\d+)\s*"
_BOX = re.compile(",".join([_INT] * 4))
_POINT = re.compile(r"\s*([+-]?)\s*(\d+)\s*,\s*(\d+)\s*")
BOX_FORMAT = "x0,y0,x1,y1 (pixels, x1/y1 exclusive; several separated by ';')"
POINT_FORMAT = "x,y, +x,y (positive) or -x,y (negative), separated by ';'"


@dataclass(frozen=True)
class Prompt:
    """Which object(s) of one image to cut out. Empty (all defaults) = the whole image (plain predict).

    boxes: objects given as boxes, one object each. region: float ``[H, W]`` 0..1 at the image size, 1 = the
    object (one object). points / negative_points: (x, y) pixels; positive points keep the components they fall
    in (and, with no box and no region, their bounding box is the object), negative points remove theirs.
    """

    boxes: tuple[Box, ...] = ()
    region: torch.Tensor | None = None
    points: tuple[Point, ...] = ()
    negative_points: tuple[Point, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is chosen: the whole image is predicted as by `birefnet.predict`."""
        return not self.boxes and self.region is None and not self.points and not self.negative_points


def _items(text: str) -> list[str]:
    return [item for item in (part.strip() for part in text.split(";")) if item]


def parse_boxes(text: str) -> tuple[Box, ...]:
    """``"10,20,110,220; 300,40,380,90"`` -> ((10, 20, 110, 220), (300, 40, 380, 90)); ``""`` -> ().

    Raises BiRefNetError quoting a malformed item or a box with x1 <= x0 or y1 <= y0."""
    if not isinstance(text, str):
        raise BiRefNetError(f"box must be text in the form {BOX_FORMAT}, got {type(text).__name__}.")
    boxes = []
    for item in _items(text):
        match = _BOX.fullmatch(item)
        if match is None:
            raise BiRefNetError(f"Cannot read box {item!r}: use {BOX_FORMAT}, e.g. '10,20,110,220'.")
        boxes.append(check_box_order(tuple(int(v) for v in match.groups())))
    return tuple(boxes)


def check_box_order(box: Sequence[int]) -> Box:
    """`box` as a Box of ints; raise BiRefNetError naming it when it is not 4 numbers or x1 <= x0 or y1 <= y0."""
    if len(box) != 4:
        raise BiRefNetError(f"Box {tuple(box)} must have 4 numbers: {BOX_FORMAT}.")
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise BiRefNetError(
            f"Box {x0},{y0},{x1},{y1} is empty: x1 must be greater than x0 and y1 greater than y0 "
            f"(x0,y0,x1,y1 = left, top, right, bottom edges in pixels)."
        )
    return x0, y0, x1, y1


def parse_points(text: str) -> tuple[tuple[Point, ...], tuple[Point, ...]]:
    """``"10,20; +30,40; -50,60"`` -> (((10, 20), (30, 40)), ((50, 60),)): (positive, negative); ``""`` -> ((), ()).

    Raises BiRefNetError quoting a malformed item and the expected format."""
    if not isinstance(text, str):
        raise BiRefNetError(f"points must be text in the form {POINT_FORMAT}, got {type(text).__name__}.")
    positive, negative = [], []
    for item in _items(text):
        match = _POINT.fullmatch(item)
        if match is None:
            raise BiRefNetError(f"Cannot read point {item!r}: use {POINT_FORMAT}, e.g. '120,80; -40,30'.")
        sign, x, y = match.groups()
        (negative if sign == "-" else positive).append((int(x), int(y)))
    return tuple(positive), tuple(negative)


def format_boxes(boxes: Sequence[Sequence[int]]) -> str:
    """The text `parse_boxes` reads back: ``"x0,y0,x1,y1;x0,y0,x1,y1"``."""
    return ";".join(",".join(str(int(v)) for v in box) for box in boxes)


def format_points(positive: Sequence[Sequence[int]], negative: Sequence[Sequence[int]] = ()) -> str:
    """The text `parse_points` reads back: positive points as ``x,y``, negative ones as ``-x,y``, ``;``-separated."""
    items = [f"{int(x)},{int(y)}" for x, y in positive] + [f"-{int(x)},{int(y)}" for x, y in negative]
    return ";".join(items)


def clip_box(box: Sequence[int], height: int, width: int) -> Box:
    """`box` clipped to a `width` x `height` image; BiRefNetError naming it when it is empty or wholly outside."""
    x0, y0, x1, y1 = check_box_order(box)
    clipped = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        raise BiRefNetError(
            f"Box {x0},{y0},{x1},{y1} lies outside the {width}x{height} image: give a box that overlaps it "
            f"(pixels of the original image, {BOX_FORMAT})."
        )
    return clipped


def grow_box(box: Box, margin: int, height: int, width: int) -> Box:
    """`box` grown by `margin` pixels on every side, clipped to a `width` x `height` image."""
    x0, y0, x1, y1 = box
    return max(x0 - margin, 0), max(y0 - margin, 0), min(x1 + margin, width), min(y1 + margin, height)


def check_points(points: Sequence[Point], height: int, width: int, what: str = "point") -> tuple[Point, ...]:
    """`points` as int tuples; BiRefNetError quoting the first one outside a `width` x `height` image."""
    checked = []
    for point in points:
        x, y = (int(v) for v in point)
        if not (0 <= x < width and 0 <= y < height):
            raise BiRefNetError(
                f"The {what} {x},{y} is outside the {width}x{height} image: give x in 0..{width - 1} and y in "
                f"0..{height - 1} (pixels of the original image; {POINT_FORMAT})."
            )
        checked.append((x, y))
    return tuple(checked)


def check_region(region: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`region` as float32 ``[H, W]`` on the CPU (a leading batch axis of 1 is dropped).

    Raises BiRefNetError when it is not a mask, has another size than the `width` x `height` image, or is empty
    (nothing above 0.5)."""
    if not isinstance(region, torch.Tensor):
        raise BiRefNetError(
            f"region must be a mask tensor [H, W] with values in 0..1, got {type(region).__name__}."
        )
    mask = region.detach()
    while mask.dim() > 2 and mask.shape[0] == 1:
        mask = mask[0]
    if mask.dim() != 2:
        raise BiRefNetError(
            f"region must be one mask [H, W] with values in 0..1, got shape {list(region.shape)}."
        )
    if tuple(mask.shape) != (height, width):
        raise BiRefNetError(
            f"The region mask is {mask.shape[1]}x{mask.shape[0]} but the image is {width}x{height}: give a "
            f"region of the image's size (width x height)."
        )
    mask = mask.float().cpu()
    if not bool((mask > REGION_THRESHOLD).any()):
        raise BiRefNetError(
            "The region mask is empty (no pixel above 0.5): paint the object white, or leave the region out "
            "to cut out the whole image."
        )
    return mask


def check_prompt(
    prompt: Prompt,
    height: int,
    width: int,
    point_names: tuple[str, str] = ("positive point", "negative point"),
) -> Prompt:
    """`prompt` checked against a `width` x `height` image: boxes clipped, the region as float32 ``[H, W]``,
    points as int tuples. BiRefNetError names the first box, region or point (called by `point_names`: positive,
    negative) that does not fit. The one check both `predict_guided` and the command line's pre-check run."""
    return Prompt(
        boxes=tuple(clip_box(box, height, width) for box in prompt.boxes),
        region=None if prompt.region is None else check_region(prompt.region, height, width),
        points=check_points(prompt.points, height, width, point_names[0]),
        negative_points=check_points(prompt.negative_points, height, width, point_names[1]),
    )


def region_box(region: torch.Tensor) -> Box:
    """The bounding box (x0, y0, x1, y1) of `region` ``[H, W]`` > 0.5 (which must not be empty)."""
    ys, xs = torch.nonzero(region > REGION_THRESHOLD, as_tuple=True)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def points_box(points: Sequence[Point]) -> Box:
    """The bounding box (x0, y0, x1, y1) of `points` (at least one), x1 / y1 exclusive."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def batch_prompts(
    count: int,
    *,
    boxes: Sequence[Box] = (),
    points: Sequence[Point] = (),
    negative_points: Sequence[Point] = (),
    regions: torch.Tensor | None = None,
) -> list[Prompt]:
    """One Prompt per image of a batch of `count`: the same boxes and points for every image, and region i for
    image i (`regions` float ``[B, H, W]`` or ``[H, W]``; B == count, or B == 1 for every image).

    Raises BiRefNetError naming the region input when B is neither 1 nor `count`."""
    masks: list[torch.Tensor | None] = [None] * count
    if regions is not None:
        if not isinstance(regions, torch.Tensor) or regions.dim() not in (2, 3):
            shape = list(regions.shape) if isinstance(regions, torch.Tensor) else type(regions).__name__
            raise BiRefNetError(f"region must be a mask [B, H, W] with values in 0..1, got {shape}.")
        stack = regions if regions.dim() == 3 else regions[None]
        if stack.shape[0] not in (1, count):
            raise BiRefNetError(
                f"{stack.shape[0]} region masks for {count} images: give one region for every image, or one "
                f"for all of them."
            )
        masks = [stack[i if stack.shape[0] == count else 0] for i in range(count)]
    return [Prompt(tuple(boxes), mask, tuple(points), tuple(negative_points)) for mask in masks]
