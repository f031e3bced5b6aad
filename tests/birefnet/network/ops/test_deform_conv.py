"""Our modulated deformable convolution against torchvision and against plain convolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from birefnet.network.ops.deform_conv import deform_conv2d

torchvision_ops = pytest.importorskip("torchvision.ops", reason="torchvision is not installed")


@pytest.mark.parametrize(
    "n,c,h,w,k,o,stride,dilation",
    [
        (2, 5, 9, 7, 3, 4, 1, 1),
        (1, 4, 12, 10, 7, 3, 1, 1),
        (1, 3, 6, 6, 1, 2, 1, 1),
        (1, 2, 1, 1, 3, 2, 1, 1),
        (2, 3, 11, 13, 3, 5, 2, 1),
        (1, 3, 10, 9, 3, 2, 1, 2),
    ],
)
def test_equals_torchvision(n, c, h, w, k, o, stride, dilation):
    gen = torch.Generator().manual_seed(n * 100 + c * 10 + k)
    pad = dilation * (k // 2)
    ho = (h + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    wo = (w + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    x = torch.randn(n, c, h, w, generator=gen)
    weight = torch.randn(o, c, k, k, generator=gen)
    bias = torch.randn(o, generator=gen)
    # Offsets of several pixels push many samples outside the image: the zero padding is exercised.
    offset = torch.randn(n, 2 * k * k, ho, wo, generator=gen) * 3
    mask = torch.rand(n, k * k, ho, wo, generator=gen) * 2
    kwargs = dict(stride=stride, padding=pad, dilation=dilation)
    expected = torchvision_ops.deform_conv2d(x, offset, weight, bias, mask=mask, **kwargs)
    got = deform_conv2d(x, offset, weight, bias, mask=mask, **kwargs)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-4


def test_zero_offsets_and_unit_mask_is_a_plain_convolution():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 6, 15, 11, generator=gen)
    weight = torch.randn(4, 6, 3, 3, generator=gen)
    offset = torch.zeros(2, 18, 15, 11)
    got = deform_conv2d(x, offset, weight, None, padding=1, mask=torch.ones(2, 9, 15, 11))
    torch.testing.assert_close(got, F.conv2d(x, weight, padding=1), atol=1e-4, rtol=1e-4)


def test_integer_offset_shifts_the_sampling_point():
    # A 1x1 kernel with offset (dy, dx) = (1, -2) reads x[i + 1, j - 2], zero outside.
    x = torch.arange(20.0).view(1, 1, 4, 5)
    offset = torch.tensor([1.0, -2.0]).view(1, 2, 1, 1).expand(1, 2, 4, 5)
    got = deform_conv2d(x, offset, torch.ones(1, 1, 1, 1))
    expected = torch.zeros(1, 1, 4, 5)
    expected[0, 0, :3, 2:] = x[0, 0, 1:, :3]
    torch.testing.assert_close(got, expected)


def test_half_pixel_offset_interpolates_bilinearly():
    x = torch.tensor([[[[0.0, 10.0], [20.0, 30.0]]]])
    offset = torch.tensor([0.5, 0.5]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    got = deform_conv2d(x, offset, torch.ones(1, 1, 1, 1), mask=torch.full((1, 1, 2, 2), 2.0))
    # (0,0) reads the centre of the four pixels (15); the others straddle the zero border.
    expected = 2 * torch.tensor([[15.0, (10 + 30) / 4], [(20 + 30) / 4, 30 / 4]])
    torch.testing.assert_close(got[0, 0], expected)
