"""Tile layout and blend weights: overlapping tiles that cover an image, and weights that sum to 1.

A layout is separable: tiles along the height times tiles along the width. Along one axis the tiles step by
``tile - overlap`` and the last one is moved back to end at the image edge (so it may overlap its neighbour by
more). Each tile's weight rises linearly from its inner edges across the overlap and is 1 elsewhere (also at
the image border); dividing by the sum over tiles makes the weights along an axis sum to 1 at every position,
so the 2-d weights (products of the two axes) sum to 1 wherever tiles cover, and they change smoothly: no seams.
"""

from __future__ import annotations

import torch

from ..errors import BiRefNetError

Box = tuple[int, int, int, int]
"""(top, left, bottom, right) in pixels, bottom and right exclusive."""


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start positions of tiles of `tile` pixels, overlapping by at least `overlap`, covering 0..length.

    A tile longer than the image is cut to the image (one tile at 0)."""
    if length < 1 or tile < 1:
        raise BiRefNetError(f"Cannot tile {length} pixels with tiles of {tile}: both must be at least 1.")
    if not 0 <= overlap < tile:
        raise BiRefNetError(
            f"Tile overlap {overlap} px must be at least 0 and less than the tile size {tile} px: lower it."
        )
    if tile >= length:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def axis_weights(length: int, tile: int, overlap: int) -> tuple[list[int], torch.Tensor]:
    """(starts, weights) along one axis: `weights` float32 `[tiles, min(tile, length)]` in 0..1; at every
    position 0..length-1 the weights of the tiles that cover it sum to 1 (up to float rounding)."""
    starts = tile_starts(length, tile, overlap)
    size = min(tile, length)
    distance = torch.arange(size, dtype=torch.float64)
    ramp_up = ((distance + 1) / (overlap + 1)).clamp(max=1.0)  # > 0 everywhere, so the sum never vanishes
    raw = torch.ones(len(starts), size, dtype=torch.float64)
    for i in range(len(starts)):
        if i > 0:
            raw[i] *= ramp_up
        if i < len(starts) - 1:
            raw[i] *= ramp_up.flip(0)
    total = torch.zeros(length, dtype=torch.float64)
    for i, start in enumerate(starts):
        total[start : start + size] += raw[i]
    weights = torch.stack([raw[i] / total[start : start + size] for i, start in enumerate(starts)])
    return starts, weights.float()


class TileGrid:
    """Overlapping tiles of `tile_hw` = (height, width) pixels covering an image of `image_hw`, with
    `overlap_hw` pixels of overlap, and their blend weights.

    boxes: every tile's Box, row by row. weight(i): float32 `[h, w]` in 0..1 for boxes[i]; the weights of
    all tiles sum to 1 at every pixel.
    """

    def __init__(self, image_hw: tuple[int, int], tile_hw: tuple[int, int], overlap_hw: tuple[int, int]):
        self.rows, self.row_weights = axis_weights(image_hw[0], tile_hw[0], overlap_hw[0])
        self.cols, self.col_weights = axis_weights(image_hw[1], tile_hw[1], overlap_hw[1])
        height, width = self.row_weights.shape[1], self.col_weights.shape[1]
        self.boxes: list[Box] = [(r, c, r + height, c + width) for r in self.rows for c in self.cols]

    def weight(self, index: int) -> torch.Tensor:
        row, col = divmod(index, len(self.cols))
        return self.row_weights[row][:, None] * self.col_weights[col][None, :]
