"""Tile layout and blend weights: tiles cover the image, weights sum to 1 wherever tiles cover."""

import pytest
import torch

from birefnet import BiRefNetError
from birefnet.inference.tiles import TileGrid, axis_weights, tile_starts


@pytest.mark.parametrize("length", [1, 7, 256, 257, 500, 1000, 1023, 4000])
@pytest.mark.parametrize("tile", [1, 64, 256, 1024])
@pytest.mark.parametrize("overlap", [0, 1, 32, 63, 200])
def test_axis_weights_cover_every_position_and_sum_to_one(length, tile, overlap):
    if overlap >= tile:
        with pytest.raises(BiRefNetError, match="less than the tile size"):
            axis_weights(length, tile, overlap)
        return
    starts, weights = axis_weights(length, tile, overlap)
    size = min(tile, length)
    assert weights.shape == (len(starts), size)
    assert starts[0] == 0 and starts[-1] + size == length
    total = torch.zeros(length, dtype=torch.float64)
    for start, weight in zip(starts, weights, strict=True):
        total[start : start + size] += weight.double()
    assert torch.allclose(total, torch.ones(length, dtype=torch.float64), atol=1e-6)
    assert bool((weights > 0).all()) and bool((weights <= 1).all())
    # neighbours overlap by at least `overlap` (the last tile may overlap more)
    assert all(b - a <= size - overlap for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize(
    ("image_hw", "tile_hw", "overlap_hw"),
    [((600, 900), (256, 256), (32, 32)), ((1000, 333), (512, 320), (100, 7)), ((50, 80), (64, 64), (8, 8))],
)
def test_grid_weights_sum_to_one_over_the_image(image_hw, tile_hw, overlap_hw):
    grid = TileGrid(image_hw, tile_hw, overlap_hw)
    total = torch.zeros(image_hw, dtype=torch.float64)
    for k, (top, left, bottom, right) in enumerate(grid.boxes):
        weight = grid.weight(k)
        assert weight.shape == (bottom - top, right - left)
        total[top:bottom, left:right] += weight.double()
    assert torch.allclose(total, torch.ones(image_hw, dtype=torch.float64), atol=1e-6)


def test_weights_are_one_at_the_image_border_and_ramp_inside():
    starts, weights = axis_weights(500, 256, 64)
    assert starts == [0, 192, 244]
    assert weights[0, 0] == 1.0 and weights[-1, -1] == 1.0
    assert weights[0, -1] < 0.05  # fades out towards its inner edge
    assert torch.all(weights[0, :192] == 1.0)


def test_starts_step_by_tile_minus_overlap():
    assert tile_starts(1000, 400, 100) == [0, 300, 600]
    assert tile_starts(100, 400, 100) == [0]


def test_bad_tiles_are_refused():
    with pytest.raises(BiRefNetError, match="less than the tile size"):
        tile_starts(1000, 256, 256)
    with pytest.raises(BiRefNetError, match="at least 0"):
        tile_starts(1000, 256, -1)
    with pytest.raises(BiRefNetError, match="at least 1"):
        tile_starts(0, 256, 0)
