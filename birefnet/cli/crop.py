"""``--crop`` of ``cutout``: write the cut-out and its mask cropped to the subject (``matting.subject_crop``),
with ``--crop-margin``, ``--aspect W:H`` and ``--multiple N``; the box is kept in the PNGs' text."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..errors import BiRefNetError

BOX_TEXT_KEY = "birefnet_box"
"""PNG text key of a cropped output: the crop's box in the image, ``x0,y0,x1,y1`` (x1/y1 exclusive)."""

Cropper = Callable[[Any], tuple[int, int, int, int]]


def add_crop_options(parser: argparse.ArgumentParser) -> None:
    """--crop, --crop-margin, --aspect, --multiple."""
    group = parser.add_argument_group("crop to the subject")
    group.add_argument(
        "--crop",
        action="store_true",
        help=f"write the cut-out and mask cropped to the subject (mask > 0.5); the box is kept in the PNGs' "
        f"text as {BOX_TEXT_KEY}=x0,y0,x1,y1",
    )
    group.add_argument(
        "--crop-margin", type=int, default=0, metavar="PX", help="pixels added around the subject (0)"
    )
    group.add_argument(
        "--aspect", default="", metavar="W:H", help="make the crop this aspect ratio (default: free)"
    )
    group.add_argument(
        "--multiple",
        type=int,
        default=1,
        metavar="N",
        help="make both sides a multiple of N, e.g. 8 or 64 (1)",
    )


def check_crop_options(args: argparse.Namespace) -> Cropper | None:
    """What gives the crop box of a mask float ``[H, W]`` (None without ``--crop``); the flags are checked
    before any work."""
    from ..matting.subject_crop import parse_aspect, subject_box

    defaults = {
        "--crop-margin": (args.crop_margin, 0),
        "--aspect": (args.aspect, ""),
        "--multiple": (args.multiple, 1),
    }
    given = [flag for flag, (value, default) in defaults.items() if value != default]
    if not args.crop:
        if given:
            raise BiRefNetError(
                f"{', '.join(given)} without --crop: add --crop (they shape the crop to the subject)."
            )
        return None
    if args.crop_margin < 0:
        raise BiRefNetError(f"--crop-margin must be 0 or more pixels, got {args.crop_margin}.")
    if args.multiple < 1:
        raise BiRefNetError(f"--multiple must be at least 1, got {args.multiple}.")
    try:
        aspect = parse_aspect(args.aspect)
    except BiRefNetError as error:
        raise BiRefNetError(f"--aspect {args.aspect!r}: {error}") from error

    def box(mask: Any) -> tuple[int, int, int, int]:
        return subject_box(mask, margin=args.crop_margin, aspect=aspect, multiple=args.multiple)

    return box
