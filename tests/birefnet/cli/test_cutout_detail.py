"""`cutout --detail N|native [--tile-overlap PX]`: writes predict_detailed's mask; bad values are user errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from birefnet.cli import main
from birefnet.inference.detail import predict_detailed
from birefnet.weights.load import load_model

SETTINGS = ["--resolution", "64", "--device", "cpu", "--no-download"]


def cutout_args(photo, checkpoint, out) -> list[str]:
    """`cutout PHOTO --model CHECKPOINT --out OUT` with the tiny model's CPU settings."""
    return ["cutout", str(photo), "--model", str(checkpoint), "--out", str(out), *SETTINGS]


def test_detail_writes_the_detailed_mask(tmp_path, tiny_checkpoint, capsys):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8))
    image.save(tmp_path / "photo.png")
    out = tmp_path / "out"
    args = cutout_args(tmp_path / "photo.png", tiny_checkpoint, out)
    assert main([*args, "--detail", "native", "--tile-overlap", "16"]) == 0
    assert "pass" in capsys.readouterr().err  # the bar counts forward passes (images, then tiles)

    model = load_model(tiny_checkpoint, patch_order="current")
    expected = predict_detailed(model, image, "native", 64, tile_overlap=16, batch_size=1)[0]
    written = torch.from_numpy(np.asarray(Image.open(out / "photo_mask.png")).astype(np.float32) / 255)
    assert (written - expected).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--detail", "100"], "detail 100 is out of range"),
        (["--detail", "huge"], "Cannot read detail 'huge'"),
        (["--detail", "native", "--tile-overlap", "-1"], "--tile-overlap must be at least 0"),
    ],
)
def test_bad_detail_settings_are_user_errors(tmp_path, tiny_checkpoint, capsys, extra, message):
    Image.new("RGB", (200, 120)).save(tmp_path / "photo.png")
    args = cutout_args(tmp_path / "photo.png", tiny_checkpoint, tmp_path / "o")
    assert main([*args, *extra]) == 2
    assert message in capsys.readouterr().err


def test_an_overlap_as_large_as_the_tile_fails_the_image_with_the_reason(tmp_path, tiny_checkpoint, capsys):
    Image.new("RGB", (200, 120)).save(tmp_path / "photo.png")
    args = cutout_args(tmp_path / "photo.png", tiny_checkpoint, tmp_path / "o")
    assert (
        main([*args, "--detail", "native", "--tile-overlap", "64"]) == 1
    )  # the tile size is known once the model is
    assert (
        "tile_overlap 64 px must be at least 0 and less than the tile size 64x64" in capsys.readouterr().err
    )
