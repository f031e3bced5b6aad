"""The detail-tile widgets of the nodes that segment stills (Segment, Remove background), appended after their
other inputs and optional, so saved workflows and API prompts written before them run unchanged (detail off)."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import DEFAULT_TILE_OVERLAP, MAX_DETAIL_SIDE, MIN_DETAIL_SIDE, BiRefNetError
from .comfy_compat import input_kwargs

DETAIL_MODES = ("off", "native", "custom")
DEFAULT_DETAIL_LONG_SIDE = 4096
MAX_TILE_OVERLAP = 1024


def detail_inputs() -> list[io.Input]:
    """detail (off / native / custom), detail_long_side (custom), tile_overlap (native, custom); the values go to
    ``detail_argument``. The front end shows the last two only when detail is on."""
    return [
        io.Combo.Input(
            "detail",
            options=list(DETAIL_MODES),
            default="off",
            optional=True,
            tooltip="after the whole-image pass, re-run the uncertain edges in tiles at a higher scale: sharper "
            "edges on large images, in bounded memory. native: the image's own size; custom: the long side below",
        ),
        io.Int.Input(
            "detail_long_side",
            default=DEFAULT_DETAIL_LONG_SIDE,
            min=MIN_DETAIL_SIDE,
            max=MAX_DETAIL_SIDE,
            step=32,
            optional=True,
            tooltip="custom detail: the image's long side (pixels) at the detail scale",
        ),
        io.Int.Input(
            "tile_overlap",
            default=DEFAULT_TILE_OVERLAP,
            min=0,
            max=MAX_TILE_OVERLAP,
            optional=True,
            tooltip="overlap of neighbouring detail tiles, in model-input pixels (less than the model resolution)",
            **input_kwargs(advanced=True),
        ),
    ]


def detail_argument(detail: str, long_side: int) -> int | str | None:
    """The ``detail`` for ``birefnet.predict_detailed``: off -> None (plain predict), native, custom -> the side."""
    if detail == "off":
        return None
    if detail == "native":
        return "native"
    if detail == "custom":
        return int(long_side)
    raise BiRefNetError(f"detail {detail!r} is unknown; use one of {', '.join(DETAIL_MODES)}.")
