"""Choosing the object on the command line: ``--box``, ``--region``, ``--points``, ``--negative-points`` and
``--margin`` (``cutout``; ``matte-video`` takes ``--region`` and ``--margin``), checked before any work.

The text formats and their parsers are the library's (``inference.prompts``); this module only adds the flag
name to their messages and checks every prompt against every input's size before the model is loaded, so a
bad prompt is a user error (exit code 2), never a silent whole-image result.
"""

from __future__ import annotations

import argparse
import pathlib
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import BiRefNetError
from ..inference.prompts import (
    DEFAULT_MARGIN,
    Prompt,
    check_prompt,
    parse_boxes,
    parse_points,
)


def add_margin_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--margin PX (None when not given: DEFAULT_MARGIN, see ``check_margin``)."""
    parser.add_argument(
        "--margin",
        type=int,
        default=None,
        metavar="PX",
        help=f"{what} ({DEFAULT_MARGIN})",
    )


def add_prompt_options(parser: argparse.ArgumentParser) -> None:
    """--box (repeatable), --region, --points, --negative-points, --margin of ``cutout``."""
    group = parser.add_argument_group(
        "choose the object (default: the salient foreground of the whole image)"
    )
    group.add_argument(
        "--box",
        dest="boxes",
        action="append",
        default=[],
        metavar="X0,Y0,X1,Y1",
        help="cut out the object in this box (pixels of the image, x1/y1 exclusive); repeat for several "
        "objects",
    )
    group.add_argument(
        "--region",
        type=pathlib.Path,
        metavar="MASK.png",
        help="a rough mask of the object (white = object, or a PNG's alpha), the image's size; applies to "
        "every input image; components of the result that do not touch it are removed",
    )
    group.add_argument(
        "--points",
        default="",
        metavar="X,Y[;X,Y...]",
        help="keep the parts these points fall in (without --box/--region: crop around them)",
    )
    group.add_argument(
        "--negative-points",
        default="",
        metavar="X,Y[;X,Y...]",
        help="remove the parts these points fall in",
    )
    add_margin_option(group, "pixels added around each box, region or the points' box before the crop")


def _flag_error(flag: str, value: str, check: Callable[[], Any]) -> Any:
    """``check()``, with a BiRefNetError's message prefixed by the flag and the value given."""
    try:
        return check()
    except BiRefNetError as error:
        raise BiRefNetError(f"{flag} {value!r}: {error}") from error


def check_margin(args: argparse.Namespace, used: bool, flags: str) -> int:
    """``--margin`` (DEFAULT_MARGIN when not given); refused below 0, and when given without the object
    ``flags`` it applies to (``used`` False)."""
    if args.margin is None:
        return DEFAULT_MARGIN
    if args.margin < 0:
        raise BiRefNetError(f"--margin must be 0 or more pixels, got {args.margin}.")
    if not used:
        raise BiRefNetError(f"--margin without {flags}: add {flags} (the margin is added around the object).")
    return args.margin


def read_region(path: pathlib.Path | None) -> Any:
    """The ``--region`` file as float `[H, W]` 0..1 (None when not given)."""
    from .images import load_region

    return None if path is None else load_region(path.expanduser(), "--region")


def prompt_from_args(args: argparse.Namespace) -> Prompt | None:
    """The Prompt of ``cutout``'s flags (None when none is given: the whole image, plain ``predict``)."""
    boxes = tuple(
        box for text in args.boxes for box in _flag_error("--box", text, lambda t=text: parse_boxes(t))
    )
    positive, negative = _flag_error("--points", args.points, lambda: parse_points(args.points))
    more_negative = _flag_error(
        "--negative-points", args.negative_points, lambda: parse_points(args.negative_points)
    )
    prompt = Prompt(
        boxes=boxes,
        region=read_region(args.region),
        points=positive,
        negative_points=negative + more_negative[0] + more_negative[1],
    )
    return None if prompt.is_empty() else prompt


def check_prompt_fits(prompt: Prompt, sizes: Iterable[tuple[pathlib.Path, tuple[int, int] | None]]) -> None:
    """Raise BiRefNetError naming the input when ``prompt`` does not fit an input's (width, height)
    (sizes None: unreadable, that input fails later with the reason)."""
    for path, size in sizes:
        if size is None:
            continue
        width, height = size
        try:
            check_prompt(prompt, height, width, ("point (--points)", "negative point (--negative-points)"))
        except BiRefNetError as error:
            raise BiRefNetError(f"{path} ({size[0]}x{size[1]}): {error}") from error


def guided_segmenter(prompt: Prompt, margin: int) -> Callable[..., Any]:
    """``predict_guided`` with ``prompt`` for every image, called as ``predict(model, images, resolution,
    batch_size=, dtype=)`` (what ``cutout`` calls to compute its masks)."""
    from ..inference.guided import predict_guided

    def run(model: Any, images: list[Any], resolution: Any, **kwargs: Any) -> Any:
        return predict_guided(model, images, prompt, resolution, margin=margin, **kwargs)

    return run
