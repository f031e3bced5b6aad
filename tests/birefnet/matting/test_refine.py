"""Mask refinement functions against hand-computed values and independent torch references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from birefnet import BiRefNetError
from birefnet.matting.refine import (
    apply_levels,
    feather_mask,
    fill_holes,
    grow_mask,
    guided_filter_mask,
    invert_mask,
    refine_mask,
    smooth_temporal,
    threshold_mask,
)


def test_threshold_by_hand():
    mask = torch.tensor([[[0.0, 0.49, 0.5, 0.51, 1.0]]])
    assert threshold_mask(mask, 0.5).tolist() == [[[0.0, 0.0, 1.0, 1.0, 1.0]]]


def test_threshold_rejects_out_of_range():
    with pytest.raises(BiRefNetError, match="threshold"):
        threshold_mask(torch.zeros(1, 2, 2), 1.5)


def test_levels_by_hand():
    mask = torch.tensor([[[0.0, 0.2, 0.5, 0.8, 1.0]]])
    out = apply_levels(mask, 0.2, 0.8)
    torch.testing.assert_close(out, torch.tensor([[[0.0, 0.0, 0.5, 1.0, 1.0]]]))


def test_levels_rejects_inverted_points():
    with pytest.raises(BiRefNetError, match="black_point=0.7"):
        apply_levels(torch.zeros(1, 2, 2), 0.7, 0.3)


def test_grow_single_pixel_by_hand():
    mask = torch.zeros(1, 7, 7)
    mask[0, 3, 3] = 1.0
    grown = grow_mask(mask, 2)
    expected = torch.zeros(1, 7, 7)
    expected[0, 1:6, 1:6] = 1.0
    assert torch.equal(grown, expected)


def test_shrink_by_hand_and_border_is_ignored():
    mask = torch.ones(1, 6, 6)
    mask[0, 0, 0] = 0.0
    shrunk = grow_mask(mask, -1)
    expected = torch.ones(1, 6, 6)
    expected[0, :2, :2] = 0.0  # only the 3x3 squares that contain the hole go to 0; borders stay 1
    assert torch.equal(shrunk, expected)


@pytest.mark.parametrize("pixels", [3, 11, -5, -12])
def test_grow_matches_max_pool_reference(pixels):
    gen = torch.Generator().manual_seed(1)
    mask = torch.rand(2, 40, 33, generator=gen)
    k = 2 * abs(pixels) + 1
    padded_value = -math.inf if pixels > 0 else math.inf
    sign = 1.0 if pixels > 0 else -1.0
    padded = F.pad(sign * mask.unsqueeze(1), (abs(pixels),) * 4, value=sign * padded_value)
    reference = sign * F.max_pool2d(padded, k, stride=1).squeeze(1)
    torch.testing.assert_close(grow_mask(mask, pixels), reference)


def test_fill_holes_by_hand():
    mask = torch.tensor(
        [
            [
                [0, 0, 0, 0, 0, 0],
                [0, 1, 1, 1, 0, 0],
                [0, 1, 0, 1, 0, 0],
                [0, 1, 1, 1, 0, 0],
                [0, 0, 0, 0, 0, 0],
            ]
        ],
        dtype=torch.float32,
    )
    expected = mask.clone()
    expected[0, 2, 2] = 1.0
    assert torch.equal(fill_holes(mask), expected)


def test_fill_holes_keeps_background_reaching_the_border_through_a_winding_path():
    # A spiral-like corridor of background from the border into the middle: it is not a hole.
    mask = torch.ones(1, 9, 9)
    corridor = [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (7, 1), (7, 2), (7, 3), (7, 4)]
    corridor += [(7, 5), (6, 5), (5, 5), (4, 5), (3, 5), (3, 4), (3, 3)]
    for r, c in corridor:
        mask[0, r, c] = 0.0
    mask[0, 5, 3] = 0.0  # an enclosed one-pixel hole
    out = fill_holes(mask)
    expected = mask.clone()
    expected[0, 5, 3] = 1.0
    assert torch.equal(out, expected)


def test_fill_holes_diagonal_contact_is_not_a_connection():
    mask = torch.ones(1, 4, 4)
    mask[0, 0, 0] = 0.0  # border background
    mask[0, 1, 1] = 0.0  # touches it only diagonally: 4-connectivity makes it a hole
    out = fill_holes(mask)
    assert out[0, 0, 0] == 0.0 and out[0, 1, 1] == 1.0


def _gaussian_1d(sigma: float) -> torch.Tensor:
    radius = math.ceil(3 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def test_feather_of_a_point_is_the_normalised_gaussian():
    sigma = 1.5
    mask = torch.zeros(1, 21, 21)
    mask[0, 10, 10] = 1.0
    g = _gaussian_1d(sigma)
    expected = torch.zeros(21, 21, dtype=torch.float64)
    r = len(g) // 2
    expected[10 - r : 10 + r + 1, 10 - r : 10 + r + 1] = torch.outer(g, g)
    torch.testing.assert_close(feather_mask(mask, sigma)[0].double(), expected, atol=1e-6, rtol=0)


def test_feather_keeps_a_constant_mask():
    mask = torch.full((2, 5, 7), 0.3)
    torch.testing.assert_close(feather_mask(mask, 4.0), mask)


def _guided_filter_reference(guide: torch.Tensor, src: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    """He et al.'s grey-guide filter written out with explicit window means (edge windows replicate-padded)."""

    def mean(x):
        padded = F.pad(x[None, None], (r, r, r, r), mode="replicate")
        return F.avg_pool2d(padded, 2 * r + 1, stride=1)[0, 0]

    mean_i, mean_p = mean(guide), mean(src)
    cov_ip = mean(guide * src) - mean_i * mean_p
    var_i = mean(guide * guide) - mean_i**2
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return mean(a) * guide + mean(b)


def test_guided_filter_matches_the_formula_with_a_grey_guide():
    gen = torch.Generator().manual_seed(3)
    guide = torch.rand(12, 15, generator=gen, dtype=torch.float64)
    src = torch.rand(12, 15, generator=gen, dtype=torch.float64)
    expected = _guided_filter_reference(guide, src, 2, 0.01).clamp(0, 1)
    out = guided_filter_mask(src[None].float(), guide[None, :, :, None].float(), 2, 0.01)
    torch.testing.assert_close(out[0].double(), expected, atol=1e-5, rtol=0)


def test_guided_filter_follows_image_edges():
    # Image: left half dark, right half bright. Mask: a blurry ramp across the edge. The guided result
    # must be sharper at the image edge than the input ramp.
    image = torch.zeros(1, 16, 16, 3)
    image[:, :, 8:] = 1.0
    ramp = torch.linspace(0, 1, 16).expand(1, 16, 16).clone()
    out = guided_filter_mask(ramp, image, 4, 1e-4)
    assert out[0, 8, 6] < ramp[0, 8, 6] and out[0, 8, 9] > ramp[0, 8, 9]


def test_guided_filter_rejects_size_mismatch():
    with pytest.raises(BiRefNetError, match="image is 5x4 but mask is 6x4"):
        guided_filter_mask(torch.zeros(1, 4, 6), torch.zeros(1, 4, 5, 3), 2)


def test_temporal_smoothing_by_hand():
    frames = torch.tensor([0.0, 3.0, 6.0, 9.0]).view(4, 1, 1) / 9.0
    out = smooth_temporal(frames, 1)
    expected = torch.tensor([1.5, 3.0, 6.0, 7.5]).view(4, 1, 1) / 9.0
    torch.testing.assert_close(out, expected)


def test_temporal_smoothing_wide_window_is_the_global_mean():
    frames = torch.rand(5, 3, 2, generator=torch.Generator().manual_seed(0))
    out = smooth_temporal(frames, 10)
    torch.testing.assert_close(out, frames.mean(0, keepdim=True).expand(5, -1, -1))


def test_invert():
    assert invert_mask(torch.tensor([[[0.0, 0.25, 1.0]]])).tolist() == [[[1.0, 0.75, 0.0]]]


def test_refine_mask_order_levels_then_threshold_then_grow_then_invert():
    mask = torch.zeros(1, 5, 5)
    mask[0, 2, 2] = 0.6
    # levels 0.5..0.7 maps 0.6 -> 0.5, threshold 0.5 keeps it, grow 1 makes a 3x3, invert flips.
    out = refine_mask(mask, black_point=0.5, white_point=0.7, threshold=0.5, grow_pixels=1, invert=True)
    expected = torch.ones(1, 5, 5)
    expected[0, 1:4, 1:4] = 0.0
    assert torch.equal(out, expected)


def test_refine_mask_defaults_change_nothing():
    mask = torch.rand(2, 6, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(refine_mask(mask), mask)


def test_refine_mask_guided_needs_image():
    with pytest.raises(BiRefNetError, match="guide"):
        refine_mask(torch.zeros(1, 4, 4), guided_radius=2)


def test_bad_mask_shape_is_a_clear_error():
    with pytest.raises(BiRefNetError, match=r"\[B, H, W\]"):
        grow_mask(torch.zeros(4, 4), 1)
