"""``--detail`` and ``--tile-overlap`` of ``cutout``: run `predict_detailed` instead of `predict`, with the
progress bar counting tiles."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..errors import BiRefNetError
from ..inference.detail import DEFAULT_TILE_OVERLAP, MAX_DETAIL_SIDE, MIN_DETAIL_SIDE, detail_long_side


def add_detail_options(parser: argparse.ArgumentParser) -> None:
    """--detail N|native, --tile-overlap PX."""
    parser.add_argument(
        "--detail",
        metavar="N|native",
        help=f"after the whole-image pass, re-run the uncertain edges in tiles at this long side "
        f"({MIN_DETAIL_SIDE}..{MAX_DETAIL_SIDE} px, or native: the image's own size); off by default",
    )
    parser.add_argument(
        "--tile-overlap",
        type=int,
        default=DEFAULT_TILE_OVERLAP,
        metavar="PX",
        help=f"with --detail: overlap of neighbouring tiles in model-input pixels ({DEFAULT_TILE_OVERLAP})",
    )


def check_detail_options(args: argparse.Namespace) -> int | str | None:
    """The `detail` for `predict_detailed` (None: off), checked before anything is loaded."""
    if args.detail is None:
        return None
    detail = "native" if args.detail.strip().lower() == "native" else args.detail
    detail_long_side(detail, (1, 1))  # raises BiRefNetError for a bad value
    if args.tile_overlap < 0:
        raise BiRefNetError(f"--tile-overlap must be at least 0, got {args.tile_overlap}.")
    return detail if detail == "native" else int(detail)


def segmenter(detail: int | str | None, tile_overlap: int, bar: Any) -> Callable[..., Any]:
    """`predict` (detail None), or `predict_detailed` with `detail` whose tiles are added to the tqdm `bar`
    (its images are counted by the caller): same call as predict(model, images, resolution, batch_size=,
    dtype=)."""
    from ..inference.detail import predict_detailed
    from ..inference.predict import predict

    if detail is None:
        return predict
    bar.unit = "pass"

    def run(model: Any, images: list[Any], resolution: Any, **kwargs: Any) -> Any:
        counted = {"total": 0, "done": 0}

        def progress(done: int, total: int) -> None:
            tiles_total, tiles_done = total - len(images), max(0, done - len(images))
            if tiles_total != counted["total"]:
                bar.total += tiles_total - counted["total"]
                bar.refresh()
            bar.update(tiles_done - counted["done"])
            counted.update(total=tiles_total, done=tiles_done)

        return predict_detailed(
            model, images, detail, resolution, tile_overlap=tile_overlap, progress=progress, **kwargs
        )

    return run
