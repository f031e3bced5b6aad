"""`predict_detailed` and `predict_crops` against fake models whose outputs are known, plus a real-network run.

The coarse fake gives logit = 100 * (mean RGB - 0.5): black is certainly background, mid grey uncertain.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from birefnet import BiRefNetError, load_model, predict, predict_crops, predict_detailed
from birefnet.inference.detail import BAND_GROW, MAX_DETAIL_SIDE, uncertain_band
from birefnet.inference.tiles import TileGrid


class GreyLogitModel(nn.Module):
    """logits [N,1,H,W] = gain * (mean RGB of the de-normalised input - 0.5); records its batch sizes."""

    def __init__(self, gain: float = 100.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225])
        mean = torch.tensor([0.485, 0.456, 0.406])
        with torch.no_grad():
            self.conv.weight.copy_((gain * std / 3).view(1, 3, 1, 1))
            self.conv.bias.fill_(gain * (float(mean.sum()) / 3 - 0.5))
        self.batches: list[int] = []
        self.variant = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(x.shape[0])
        return self.conv(x)


class ConstantModel(nn.Module):
    """Logits of one constant value everywhere; counts the tiles it sees."""

    def __init__(self, probability: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.logit = float(torch.logit(torch.tensor(probability, dtype=torch.float64)))
        self.seen = 0
        self.variant = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen += x.shape[0]
        return torch.full((x.shape[0], 1, x.shape[2], x.shape[3]), self.logit) + self.weight


def half_grey_image(height: int = 600, width: int = 900) -> np.ndarray:
    """Black on the left half (certain background), mid grey on the right half (uncertain)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, width // 2 :] = 128
    return image


def test_detail_at_most_the_resolution_gives_exactly_the_plain_result():
    image = half_grey_image()
    model = GreyLogitModel()
    plain = predict(model, image, 512)
    for detail in (256, 512, "512"):
        model.batches.clear()
        detailed = predict_detailed(model, image, detail, 512)
        assert torch.equal(detailed, plain)
        assert model.batches == [1]  # the coarse pass only
    small = np.full((200, 300, 3), 128, dtype=np.uint8)
    assert torch.equal(predict_detailed(model, small, "native", 512), predict(model, small, 512))


def test_tiles_run_only_where_the_band_is_and_the_rest_stays_coarse():
    image = half_grey_image()
    model = GreyLogitModel()
    coarse = predict(model, image, 256)
    band = uncertain_band(coarse[0], BAND_GROW)
    assert band[:, :400].sum() == 0 and band[:, 460:].all()  # certain on the left half
    grid = TileGrid((600, 900), (256, 256), (32, 32))
    expected = sum(bool(band[t:b, l:r].any()) for t, l, b, r in grid.boxes)
    assert 0 < expected < len(grid.boxes)

    tiles = ConstantModel(0.3)
    calls = []
    out = predict_detailed(
        model,
        image,
        "native",
        256,
        tile_overlap=32,
        tile_model=tiles,
        tile_resolution=256,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert tiles.seen == expected
    assert calls[-1] == (1 + expected, 1 + expected)
    assert torch.equal(out[0][~band], coarse[0][~band])


def test_constant_tiles_give_that_constant_across_the_band_with_no_seam():
    image = half_grey_image()
    coarse_model = GreyLogitModel()
    out = predict_detailed(
        coarse_model, image, 1800, 256, tile_overlap=64, tile_model=ConstantModel(0.3), tile_resolution=256
    )[0]
    band = uncertain_band(predict(coarse_model, image, 256)[0], BAND_GROW // 2)  # 2 detail px per image px
    assert torch.allclose(out[band], torch.full_like(out[band], 0.3), atol=1e-6)


def test_the_tiles_see_the_image_at_the_detail_scale():
    image = np.full((400, 1000, 3), 128, dtype=np.uint8)
    tiles = ConstantModel(0.5)
    predict_detailed(
        GreyLogitModel(), image, 2000, 256, tile_model=tiles, tile_resolution=256, tile_overlap=0
    )
    # at 2000 px the image is 2000x800: tiles of 256 (128 image px) -> 8 columns x 4 rows (last ones moved back)
    assert tiles.seen == 8 * 4


def test_predict_crops_equals_predict_on_the_cropped_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    model = GreyLogitModel(gain=10.0)
    boxes = [(0, 0, 300, 400), (10, 20, 110, 220), (250, 390, 300, 400)]
    got = list(predict_crops(model, image, boxes, (64, 64), batch_size=2))
    assert [i for i, _ in got] == [0, 1, 2]
    assert model.batches == [2, 1]
    for (t, l, b, r), (_, mask) in zip(boxes, got, strict=True):
        assert mask.shape == (b - t, r - l)
        assert torch.allclose(mask, predict(model, image[t:b, l:r], 64)[0], atol=1e-6)


def test_bad_settings_are_clear_errors():
    image = half_grey_image()
    model = GreyLogitModel()
    for detail, words in [
        (255, "out of range"),
        (MAX_DETAIL_SIDE + 1, "out of range"),
        ("big", "Cannot read"),
    ]:
        with pytest.raises(BiRefNetError, match=words):
            predict_detailed(model, image, detail, 256)
    for overlap in (256, 300, -1):
        with pytest.raises(BiRefNetError, match="tile_overlap .* less than the tile size"):
            predict_detailed(model, image, "native", 256, tile_overlap=overlap)
    with pytest.raises(BiRefNetError, match="outside the 900x600 image"):
        list(predict_crops(model, image, [(0, 0, 601, 10)], (64, 64)))


def test_real_network_in_tiles(tiny_state_dict):
    model = load_model(tiny_state_dict)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    out = predict_detailed(model, image, 256, 128, tile_overlap=32, batch_size=3)
    plain = predict(model, image, 128)
    assert out.shape == (1, 200, 300) and out.dtype == torch.float32
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    band = uncertain_band(plain[0], math.ceil(BAND_GROW * 300 / 256))
    assert torch.equal(out[0][~band], plain[0][~band])
