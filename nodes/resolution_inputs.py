"""The model-input size widgets of the nodes that run BiRefNet (Segment, Video matting)."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import DEFAULT_DYNAMIC_LONG_SIDE, DYNAMIC_MAX_SIDE, DYNAMIC_MIN_SIDE
from .options import RESOLUTION_MODES


def resolution_inputs() -> list[io.Input]:
    """resolution (native / custom / dynamic), width and height (custom), dynamic_long_side (dynamic); the
    values go to ``options.resolution_argument``. The front end shows each size widget only for its mode."""
    return [
        io.Combo.Input(
            "resolution",
            options=list(RESOLUTION_MODES),
            default="native",
            tooltip="native: the size the variant was trained at (1024x1024 for unknown files); "
            "custom: width x height below; dynamic: keep the aspect ratio, long side below.",
        ),
        io.Int.Input("width", default=1024, min=32, max=4096, step=32, tooltip="custom resolution width"),
        io.Int.Input("height", default=1024, min=32, max=4096, step=32, tooltip="custom resolution height"),
        io.Int.Input(
            "dynamic_long_side",
            default=DEFAULT_DYNAMIC_LONG_SIDE,
            min=DYNAMIC_MIN_SIDE,
            max=DYNAMIC_MAX_SIDE,
            step=32,
            tooltip="dynamic resolution: the model input's longer side",
        ),
    ]
