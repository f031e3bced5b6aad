"""Model input sizes: parsing size settings, and the (width, height) the model sees for an image.

Sides are multiples of 32 (the encoder's total stride). ``dynamic`` keeps the image's aspect ratio within the
sizes the dynamic-resolution models were trained on.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from torch import nn

from ..errors import BiRefNetError

DYNAMIC_MIN_SIDE = 256
"""Smallest input side (pixels) the dynamic-resolution models were trained on."""
DYNAMIC_MAX_SIDE = 2304
"""Largest input side (pixels) the dynamic-resolution models were trained on."""
DEFAULT_SIZE = (1024, 1024)
"""Input size (width, height) when neither the call nor the model's variant gives one."""
DEFAULT_DYNAMIC_LONG_SIDE = 1024
MAX_INPUT_SIDE = 4096
"""Largest model input side accepted; the released models were trained at 2560 at most."""
SIZE_MULTIPLE = 32

Resolution = int | tuple[int, int] | str | None


_SIDE = re.compile(r"\d+")
_WIDTH_HEIGHT = re.compile(r"(\d+)\s*[x*,]\s*(\d+)")


def parse_size(text: str, what: str = "size", multiple_of: int | None = None) -> tuple[int, int]:
    """Parse a size: "1024" -> (1024, 1024), "2560x1440" / "2560,1440" (width x height) -> (2560, 1440).

    ``multiple_of``: also require both sides to be multiples of it. ``what`` names the setting in errors.
    """
    cleaned = text.strip().lower()
    if _SIDE.fullmatch(cleaned):
        width = height = int(cleaned)
    elif match := _WIDTH_HEIGHT.fullmatch(cleaned):
        width, height = int(match.group(1)), int(match.group(2))
    else:
        raise BiRefNetError(
            f"Cannot read {what} {text!r}: use a number (1024) or width x height (2560x1440)."
        )
    if multiple_of and (width % multiple_of or height % multiple_of):
        raise BiRefNetError(f"{what} {text}: width and height must be multiples of {multiple_of}.")
    return width, height


def parse_resolution(text: str) -> int | tuple[int, int] | str:
    """Parse a resolution setting: "1024" -> 1024, "2560x1440" (width x height) -> (2560, 1440), "dynamic"."""
    cleaned = text.strip().lower()
    if cleaned == "dynamic":
        return "dynamic"
    if _SIDE.fullmatch(cleaned):
        return int(cleaned)
    if _WIDTH_HEIGHT.fullmatch(cleaned):
        return parse_size(cleaned, "resolution")
    raise BiRefNetError(
        f"Cannot read resolution {text!r}: use a number (1024), width x height (2560x1440) or 'dynamic'."
    )


def round_to_multiple(side: float, multiple: int = SIZE_MULTIPLE) -> int:
    """Nearest multiple of `multiple` (halves round up), at least `multiple`."""
    return max(multiple, int(math.floor(side / multiple + 0.5)) * multiple)


def dynamic_input_size(
    height: int, width: int, long_side: int = DEFAULT_DYNAMIC_LONG_SIDE
) -> tuple[int, int]:
    """Aspect-keeping model input size (width, height) for an image of `height` x `width` pixels.

    The longer side becomes `long_side`; each side is rounded to a multiple of 32 and clamped to
    DYNAMIC_MIN_SIDE..DYNAMIC_MAX_SIDE (256..2304, the sizes the dynamic models were trained on).
    """
    scale = long_side / max(height, width)
    sides = [round_to_multiple(s * scale) for s in (width, height)]
    w, h = (min(DYNAMIC_MAX_SIDE, max(DYNAMIC_MIN_SIDE, s)) for s in sides)
    return w, h


def _check_side(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise BiRefNetError(f"{what} must be a whole number of pixels, got {value!r}.")
    if not 0 < value <= MAX_INPUT_SIDE:
        raise BiRefNetError(f"{what} {value} is out of range: use 32..{MAX_INPUT_SIDE} pixels (e.g. 1024).")
    return round_to_multiple(int(value))


def model_input_size(
    resolution: Resolution,
    model: nn.Module | None,
    image_hw: tuple[int, int],
    dynamic_long_side: int = DEFAULT_DYNAMIC_LONG_SIDE,
) -> tuple[int, int]:
    """The (width, height) the model sees for an image of size `image_hw` = (height, width).

    resolution: None -> the model's variant's native size (dynamic when that is None), else 1024x1024;
    an int -> square; (width, height); "dynamic" or a string like "1024" / "2560x1440".
    Sides are rounded to the nearest multiple of 32 (min 32).
    """
    if resolution is None:
        variant = getattr(model, "variant", None)
        if variant is None:
            resolution = DEFAULT_SIZE
        else:
            resolution = "dynamic" if variant.resolution is None else tuple(variant.resolution)
    if isinstance(resolution, str):
        resolution = parse_resolution(resolution)
    if resolution == "dynamic":
        if not DYNAMIC_MIN_SIDE <= dynamic_long_side <= MAX_INPUT_SIDE:
            raise BiRefNetError(
                f"dynamic_long_side {dynamic_long_side} is out of range: use {DYNAMIC_MIN_SIDE}..{DYNAMIC_MAX_SIDE}."
            )
        return dynamic_input_size(image_hw[0], image_hw[1], dynamic_long_side)
    if isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool):
        side = _check_side(resolution, "resolution")
        return side, side
    if isinstance(resolution, (tuple, list)) and len(resolution) == 2:
        return _check_side(resolution[0], "resolution width"), _check_side(resolution[1], "resolution height")
    raise BiRefNetError(
        f"Cannot use resolution {resolution!r}: give None, a side (1024), (width, height) or 'dynamic'."
    )
