"""Resizing in strips of rows equals the one-pass `F.interpolate` it replaces (the independent reference).

STRIP_PIXELS is lowered so that small test images are cut into many strips of uneven sizes.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from birefnet.inference import resizing
from birefnet.inference.predict import _ImageSource, predict
from birefnet.inference.resizing import resize_image, resize_mask, resize_mask_into, strip_rows


def one_pass(x: torch.Tensor, size: tuple[int, int], antialias: bool) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)


@pytest.fixture
def small_strips(monkeypatch):
    monkeypatch.setattr(resizing, "STRIP_PIXELS", 1000)


SIZES = [  # (image height, width), (output height, width): shrink, enlarge, and one of each
    ((301, 97), (64, 48)),
    ((40, 53), (128, 96)),
    ((250, 30), (50, 90)),
    ((17, 400), (64, 64)),
]


@pytest.mark.parametrize(("image_hw", "size"), SIZES)
def test_image_resized_in_strips_equals_the_one_pass_resize(small_strips, image_hw, size):
    image = torch.rand(1, 3, *image_hw, generator=torch.Generator().manual_seed(0))
    reads = []

    def read_rows(top: int, bottom: int) -> torch.Tensor:
        reads.append((top, bottom))
        return image[:, :, top:bottom]

    resized = resize_image(read_rows, image_hw, size)
    step = strip_rows(image_hw[1])
    assert step < image_hw[0]  # several strips, each read once, in order, covering the image
    assert reads == [(top, min(top + step, image_hw[0])) for top in range(0, image_hw[0], step)]
    torch.testing.assert_close(resized, one_pass(image, size, antialias=True), atol=1e-6, rtol=0)


def test_image_source_resizes_a_box_of_a_uint8_nhwc_image(small_strips):
    image = np.random.default_rng(1).integers(0, 256, (2, 230, 170, 4), dtype=np.uint8)
    box = (11, 23, 201, 160)  # top, left, bottom, right
    resized = _ImageSource(image).resized(1, box, (40, 56), torch.device("cpu"))
    crop = torch.from_numpy(image[1, 11:201, 23:160, :3]).permute(2, 0, 1)[None].float() / 255
    torch.testing.assert_close(resized, one_pass(crop, (40, 56), antialias=True), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("mask_hw", "size"), [(hw, image_hw) for image_hw, hw in SIZES])
def test_mask_resized_into_out_equals_the_one_pass_resize(small_strips, mask_hw, size):
    mask = torch.rand(1, 1, *mask_hw, generator=torch.Generator().manual_seed(2))
    out = torch.full(size, -1.0)
    assert resize_mask_into(mask, out) is out
    shrinking = size[0] < mask_hw[0] or size[1] < mask_hw[1]
    torch.testing.assert_close(out, one_pass(mask, size, shrinking)[0, 0], atol=1e-6, rtol=0)
    torch.testing.assert_close(resize_mask(mask, size), out, atol=0, rtol=0)


def test_mask_values_stay_in_0_1():
    mask = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    out = resize_mask(mask, (7, 9))
    assert out.shape == (7, 9) and out.device.type == "cpu"
    assert float(out.min()) == 0.0 and float(out.max()) == 1.0


class RedLogitModel(torch.nn.Module):
    """logits = 8 * (x_red - 0.5) for the red channel x_red of the de-normalised input (a 1x1 convolution)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([8 * 0.229, 0.0, 0.0]).view(1, 3, 1, 1))
            self.conv.bias.fill_(8 * (0.485 - 0.5))
        self.variant = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_predict_in_strips_equals_the_one_pass_pipeline(small_strips):
    image = np.random.default_rng(3).integers(0, 256, (2, 310, 190, 3), dtype=np.uint8)
    masks = predict(RedLogitModel(), image, (64, 96))
    red = torch.from_numpy(image[..., :1]).permute(0, 3, 1, 2).float() / 255
    small = torch.sigmoid(8 * (one_pass(red, (96, 64), antialias=True) - 0.5))
    expected = one_pass(small, (310, 190), antialias=False)[:, 0]
    torch.testing.assert_close(masks, expected, atol=1e-5, rtol=0)
