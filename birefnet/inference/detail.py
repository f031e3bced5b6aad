"""`predict_detailed`: a coarse pass over the whole image, then full-detail tiles along the uncertain edges.

1. Coarse: `predict` on the whole image at the model's resolution, resized to the image (the plain result).
2. Band: pixels whose coarse value is uncertain (UNCERTAIN_LOW < p < UNCERTAIN_HIGH, i.e. neither 0 nor 255 in
   8 bits), grown by BAND_GROW pixels of the detail scale.
3. Tiles: the image at the detail scale (long side `detail` pixels) is covered by tiles of the model's input
   size overlapping by `tile_overlap`; only tiles that touch the band run (in batches of `batch_size`). A tile
   is cut from the image at its own size and resized to the model input, so the image is never resized as a
   whole: memory is the image, the mask, a boolean band and one batch of tiles, whatever the detail scale.
4. Blend: inside the band the mask becomes the tiles' outputs weighted by `TileGrid` weights (every tile that
   covers a band pixel runs, so there the weights sum to 1); outside it the coarse values stay, bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import BiRefNetError
from .crops import predict_crops
from .predict import ProgressCallback, _ImageSource, check_batch_size, predict
from .sizes import DEFAULT_DYNAMIC_LONG_SIDE, Resolution, model_input_size
from .tiles import TileGrid

MIN_DETAIL_SIDE = 256
"""Smallest `detail` long side (pixels) accepted as a number."""
MAX_DETAIL_SIDE = 16384
"""Largest `detail` long side (pixels); "native" on a larger image is capped to it."""
DEFAULT_TILE_OVERLAP = 128
"""Overlap of neighbouring tiles, in model-input pixels (the detail scale)."""
UNCERTAIN_LOW = 0.5 / 255
UNCERTAIN_HIGH = 1.0 - 0.5 / 255
"""Coarse values strictly between these are uncertain (they would not be 0 or 255 in an 8-bit mask)."""
BAND_GROW = 8
"""The uncertain band is grown by this many pixels of the detail scale before tiles are picked."""

Detail = int | str


def detail_long_side(detail: Detail, image_hw: tuple[int, int]) -> int:
    """The detail scale's long side in pixels: "native" -> the image's long side (at most MAX_DETAIL_SIDE), an
    int -> itself (MIN_DETAIL_SIDE..MAX_DETAIL_SIDE)."""
    if isinstance(detail, str):
        if detail.strip().lower() == "native":
            return min(max(image_hw), MAX_DETAIL_SIDE)
        if not detail.strip().isdigit():
            raise BiRefNetError(
                f"Cannot read detail {detail!r}: use a long side in pixels (e.g. 4096) or 'native'."
            )
        detail = int(detail)
    if isinstance(detail, bool) or not isinstance(detail, int):
        raise BiRefNetError(f"detail must be a long side in pixels or 'native', got {detail!r}.")
    if not MIN_DETAIL_SIDE <= detail <= MAX_DETAIL_SIDE:
        raise BiRefNetError(
            f"detail {detail} is out of range: use {MIN_DETAIL_SIDE}..{MAX_DETAIL_SIDE} pixels (the long side of "
            f"the image at the detail scale) or 'native'."
        )
    return detail


def uncertain_band(mask: torch.Tensor, grow: int) -> torch.Tensor:
    """bool `[H, W]`: where `mask` (float `[H, W]`, 0..1) is uncertain, grown by `grow` pixels (a square)."""
    band = (mask > UNCERTAIN_LOW) & (mask < UNCERTAIN_HIGH)
    for dim in (0, 1):  # a square dilation is a dilation along rows, then along columns
        grown = band.clone()
        length = band.shape[dim]
        for shift in range(1, min(grow, length - 1) + 1):
            grown.narrow(dim, shift, length - shift).logical_or_(band.narrow(dim, 0, length - shift))
            grown.narrow(dim, 0, length - shift).logical_or_(band.narrow(dim, shift, length - shift))
        band = grown
    return band


def predict_detailed(
    model: nn.Module,
    images: Any,
    detail: Detail,
    resolution: Resolution = None,
    *,
    tile_overlap: int = DEFAULT_TILE_OVERLAP,
    tile_model: nn.Module | None = None,
    tile_resolution: Resolution = None,
    batch_size: int = 4,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    progress: ProgressCallback | None = None,
    dynamic_long_side: int = DEFAULT_DYNAMIC_LONG_SIDE,
) -> torch.Tensor:
    """Foreground masks like `birefnet.predict` (float32 `[N, H, W]` in 0..1 on the CPU), with the edges
    re-predicted in tiles at the detail scale (see the module docstring for the method).

    images, resolution, batch_size, device, dtype, dynamic_long_side: as for `predict` (the coarse pass).
    detail: the long side (pixels, 256..16384) of the image at the detail scale, or "native" (the image's own
        size, capped at 16384). At most the coarse input's long side: the plain `predict` result, no tiles.
    tile_overlap: overlap of neighbouring tiles in model-input pixels, 0 <= overlap < the tile's short side.
    tile_model, tile_resolution: the network and input size of the tiles; default `model` at `resolution`
        (a `tile_model` without `tile_resolution`: its native size).
        The coarse pass and the tiles may use different models on the same device (e.g. BiRefNet_HR at 2048
        for the coarse pass, a 1024 model for the tiles); `dtype` applies to both.
    progress: progress(done, total) after the coarse pass of each chunk of images and after each tile; units
        are forward-pass inputs (one per image, then one per tile), `total` grows as each image's tiles are known.
    """
    check_batch_size(batch_size)
    if isinstance(tile_overlap, bool) or not isinstance(tile_overlap, int):
        raise BiRefNetError(f"tile_overlap must be a whole number of pixels, got {tile_overlap!r}.")
    source = _ImageSource(images)
    image_hw = (source.height, source.width)
    long_side = detail_long_side(detail, image_hw)
    if tile_model is None:
        tile_model, tile_resolution = model, resolution if tile_resolution is None else tile_resolution
    tile_width, tile_height = model_input_size(tile_resolution, tile_model, image_hw, dynamic_long_side)
    if not 0 <= tile_overlap < min(tile_width, tile_height):
        raise BiRefNetError(
            f"tile_overlap {tile_overlap} px must be at least 0 and less than the tile size "
            f"{tile_width}x{tile_height}: lower it (e.g. {DEFAULT_TILE_OVERLAP})."
        )
    coarse_width, coarse_height = model_input_size(resolution, model, image_hw, dynamic_long_side)

    done, total = 0, source.count

    def report(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    out = predict(
        model,
        source.data,
        resolution,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        progress=None if progress is None else (lambda d, _t: progress(d, total)),
        dynamic_long_side=dynamic_long_side,
    )
    done = source.count
    if long_side <= max(coarse_width, coarse_height):
        return out

    scale = long_side / max(image_hw)  # detail-scale pixels per image pixel
    tile_hw = (min(source.height, round(tile_height / scale)), min(source.width, round(tile_width / scale)))
    overlap = round(tile_overlap / scale)
    grid = TileGrid(image_hw, tile_hw, (min(overlap, tile_hw[0] - 1), min(overlap, tile_hw[1] - 1)))
    grow = math.ceil(BAND_GROW / scale)
    for n in range(source.count):
        mask = out[n]
        band = uncertain_band(mask, grow)
        run = [k for k, (t, l, b, r) in enumerate(grid.boxes) if band[t:b, l:r].any()]
        total += len(run)
        if progress is not None:
            progress(done, total)
        mask[band] = 0.0
        crops = predict_crops(
            tile_model,
            source,
            [grid.boxes[k] for k in run],
            (tile_width, tile_height),
            index=n,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
        )
        for i, tile_mask in crops:
            top, left, bottom, right = grid.boxes[run[i]]
            weighted = tile_mask * grid.weight(run[i])
            mask[top:bottom, left:right] += weighted.where(band[top:bottom, left:right], 0.0)
            report(1)
        mask.clamp_(0.0, 1.0)
    return out
