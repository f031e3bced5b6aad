"""Compositing functions against hand-computed values and a real photo/alpha/background triple."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from comfyui_birefnet_exact.nodes.cutout import comfy_mask_from_alpha
from PIL import Image
from testdata import LEMUR_DIR

from birefnet import BiRefNetError
from birefnet.matting.composite import (
    box_mean,
    composite_over_color,
    composite_over_image,
    composite_rgba,
    estimate_foreground,
    fit_background,
    parse_color,
)

LEMUR = LEMUR_DIR


def _load(name: str, mode: str) -> torch.Tensor:
    array = np.asarray(Image.open(LEMUR / name).convert(mode), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy())


@pytest.mark.parametrize("shape,radius", [((50, 40, 3), 4), ((5, 7, 2), 10), ((1, 1, 1), 3), ((9, 3, 7), 1)])
def test_box_mean_matches_explicit_window_means(shape, radius):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    h, w, _ = shape
    expected = torch.empty_like(x)
    for i in range(h):
        for j in range(w):
            window = x[max(0, i - radius) : i + radius + 1, max(0, j - radius) : j + radius + 1]
            expected[i, j] = window.mean(dim=(0, 1))
    torch.testing.assert_close(box_mean(x, radius), expected)
    assert torch.equal(x, torch.rand(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64))


def test_box_mean_float32_precision_on_a_large_image():
    x = torch.rand(600, 700, 2, generator=torch.Generator().manual_seed(1))
    exact = box_mean(x.double(), 45)
    assert (box_mean(x, 45).double() - exact).abs().max() < 1e-5


def test_blur_fusion_single_pass_by_hand():
    # 1x3 image, radius 1 in the first pass. Alpha (1, 0.5, 0): pixel 1 is half red foreground over blue.
    from birefnet.matting.composite import _blur_fusion_pass

    image = torch.tensor([[[1.0, 0.0, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]]])
    alpha = torch.tensor([[[1.0], [0.5], [0.0]]])
    fg, bg = _blur_fusion_pass(image, image, image, alpha, 1)
    # Pixel 1: window = all three pixels. mean(alpha) = 0.5; mean(I*alpha) = (1,0,0)+(0.25,0,0.25) / 3
    # mean_F = that / 0.5 = (2.5/3, 0, 0.5/3); mean_B = mean(I*(1-alpha)) / 0.5 = (0.5/3, 0, 2.5/3).
    # F = mean_F + 0.5 * (I - 0.5*mean_F - 0.5*mean_B) = mean_F + 0.5*((0.5,0,0.5) - (0.5,0,0.5)) = mean_F.
    torch.testing.assert_close(fg[0, 1], torch.tensor([2.5 / 3, 0.0, 0.5 / 3]), atol=1e-4, rtol=0)
    torch.testing.assert_close(bg[0, 1], torch.tensor([0.5 / 3, 0.0, 2.5 / 3]), atol=1e-4, rtol=0)
    # Pixel 0 (alpha 1): window pixels 0,1; F = mean_F + 1*(I - mean_F) = I.
    torch.testing.assert_close(fg[0, 0], image[0, 0], atol=1e-4, rtol=0)


def test_estimate_foreground_keeps_constant_colours_and_opaque_pixels():
    image = torch.tensor([0.2, 0.4, 0.6]).expand(1, 8, 9, 3).clone()
    alpha = torch.rand(1, 8, 9, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(estimate_foreground(image, alpha), image, atol=1e-4, rtol=0)
    image = torch.rand(2, 8, 9, 3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(estimate_foreground(image, torch.ones(2, 8, 9)), image, atol=1e-4, rtol=0)


def test_estimate_foreground_removes_the_old_background_on_a_real_matte():
    # Ground truth built from real data: the real lemur matte (hair and fur) and the real beach photo as the
    # old background, with a known smooth foreground (brown fur colour with a gentle gradient).
    background = _load("beach.png", "RGB")
    alpha = _load("lemur_alpha.png", "L")
    h, w = alpha.shape
    ramp = torch.linspace(0.0, 0.2, w).view(1, w, 1)
    foreground = (torch.tensor([0.55, 0.35, 0.2]).view(1, 1, 3) + ramp).expand(h, w, 3)
    composed = alpha[..., None] * foreground + (1 - alpha[..., None]) * background
    estimate = estimate_foreground(composed[None], alpha[None])[0]
    soft = (alpha > 0.05) & (alpha < 0.95)
    assert soft.sum() > 1000
    naive_error = (composed - foreground).abs()[soft].mean()
    fused_error = (estimate - foreground).abs()[soft].mean()
    # The composited edge pixels carry the beach colours; the estimate must be far closer to the truth.
    assert fused_error < 0.4 * naive_error, (float(fused_error), float(naive_error))


def test_composite_rgba_by_hand():
    image = torch.tensor([[[[0.1, 0.2, 0.3, 0.9]]]])
    out = composite_rgba(image, torch.tensor([[[0.25]]]))
    torch.testing.assert_close(out, torch.tensor([[[[0.1, 0.2, 0.3, 0.25]]]]))


def test_composite_over_color_by_hand():
    image = torch.tensor([[[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]])
    alpha = torch.tensor([[[1.0, 0.25]]])
    out = composite_over_color(image, alpha, (0.0, 1.0, 0.0))
    torch.testing.assert_close(out, torch.tensor([[[[1.0, 0.0, 0.0], [0.25, 0.75, 0.0]]]]))


def test_mask_and_image_batches_broadcast_and_mismatch_errors():
    image = torch.rand(3, 4, 5, 3)
    assert composite_rgba(image, torch.ones(1, 4, 5)).shape == (3, 4, 5, 4)
    assert composite_rgba(image[:1], torch.ones(3, 4, 5)).shape == (3, 4, 5, 4)
    with pytest.raises(BiRefNetError, match="image batch has 3 frames but mask batch has 2"):
        composite_rgba(image, torch.ones(2, 4, 5))
    with pytest.raises(BiRefNetError, match="mask is 4x4 but image is 5x4"):
        composite_rgba(image, torch.ones(3, 4, 4))


@pytest.mark.parametrize(
    "text,expected",
    [("#ff8000", (1.0, 128 / 255, 0.0)), ("#0f0", (0.0, 1.0, 0.0)), ("0, 0, 255", (0.0, 0.0, 1.0))],
)
def test_parse_color(text, expected):
    assert parse_color(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["green", "#12345", "1,2", "300,0,0"])
def test_parse_color_errors(text):
    with pytest.raises(BiRefNetError, match="#RRGGBB"):
        parse_color(text)


def test_fit_background_cover_crops_the_centre():
    # 2x6 background (columns 0..5), target 2x2: cover scales by 1 and keeps columns 2,3.
    columns = torch.arange(6, dtype=torch.float32) / 10
    background = columns.view(1, 1, 6, 1).expand(1, 2, 6, 3)
    out = fit_background(background, 2, 2, "cover")
    torch.testing.assert_close(out[0, 0, :, 0], torch.tensor([0.2, 0.3]))


def test_fit_background_contain_pads_and_stretch_resizes():
    background = torch.ones(1, 2, 4, 3)
    contain = fit_background(background, 4, 4, "contain")
    assert contain.shape == (1, 4, 4, 3)
    assert contain[0, 0].sum() == 0 and contain[0, 3].sum() == 0 and torch.all(contain[0, 1:3] == 1)
    assert fit_background(background, 3, 7, "stretch").shape == (1, 3, 7, 3)


def test_composite_over_image_by_hand():
    image = torch.zeros(1, 2, 2, 3)
    image[..., 0] = 1.0
    background = torch.zeros(1, 4, 4, 3)
    background[..., 2] = 1.0
    alpha = torch.tensor([[[1.0, 0.5], [0.0, 0.0]]])
    out = composite_over_image(image, alpha, background)
    torch.testing.assert_close(out[0, 0, 1], torch.tensor([0.5, 0.0, 0.5]))
    torch.testing.assert_close(out[0, 1, 0], torch.tensor([0.0, 0.0, 1.0]))
    with pytest.raises(BiRefNetError, match="background batch has 2"):
        composite_over_image(image.expand(3, -1, -1, -1), alpha, background.expand(2, -1, -1, -1))


def test_comfy_mask_convention_is_one_minus_alpha():
    alpha = torch.tensor([[[1.0, 0.25, 0.0]]])
    torch.testing.assert_close(comfy_mask_from_alpha(alpha), torch.tensor([[[0.0, 0.75, 1.0]]]))
