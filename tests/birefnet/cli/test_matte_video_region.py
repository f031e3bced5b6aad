"""`matte-video --region MASK.png --margin PX`: only the object of the first frame is matted and followed across
chunks; a region that does not fit the video is a user error (exit 2) before any work.

The stand-in model's mask is the bright pixels of its input (``GreyLogitModel``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from birefnet.cli import main
from tests.birefnet.inference.test_detail import GreyLogitModel
from tests.video_samples import (
    TRACK_MARGIN,
    assert_follows_the_square,
    first_region,
    square_and_distractor,
    write_video,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def bright_model(monkeypatch):
    model = GreyLogitModel()
    monkeypatch.setattr("birefnet.cli.setup.load", lambda args, device, dtype: model)
    return model


def matte(source, out, *flags: str) -> int:
    return main(
        ["matte-video", str(source), "--model", "stand-in", "--out", str(out), "--format", "png",
         "--resolution", "64", "--device", "cpu", "--batch-size", "3", *flags]
    )  # fmt: skip


def test_region_is_followed_across_chunks(bright_model, tmp_path):
    source = write_video(tmp_path / "clip.mp4", frames=8, width=96, height=64, draw=square_and_distractor)
    Image.fromarray((first_region().numpy() * 255).astype(np.uint8)).save(tmp_path / "region.png")
    code = matte(
        source, tmp_path / "out", "--region", str(tmp_path / "region.png"), "--margin", str(TRACK_MARGIN)
    )
    assert code == 0
    files = sorted((tmp_path / "out" / "clip_png").glob("*.png"))
    alphas = np.stack([np.asarray(Image.open(f))[..., 3] for f in files]).astype(np.float32) / 255
    assert len(files) == 8
    assert_follows_the_square(torch.from_numpy(alphas), range(8))


def test_margin_without_region_is_a_user_error(bright_model, tmp_path, capsys):
    source = write_video(tmp_path / "clip.mp4", frames=2, width=96, height=64, draw=square_and_distractor)
    assert matte(source, tmp_path / "out", "--margin", "8") == 2
    assert "--margin without --region: add --region" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("region", "flags", "message"),
    [
        ((90, 64), [], "clip.mp4 (96x64): The region mask is 90x64 but the image is 96x64"),
        ((96, 64), ["--margin", "-3"], "--margin must be 0 or more"),
    ],
)
def test_a_region_that_does_not_fit_is_a_user_error(bright_model, tmp_path, capsys, region, flags, message):
    source = write_video(tmp_path / "clip.mp4", frames=2, width=96, height=64, draw=square_and_distractor)
    Image.new("L", region, 255).save(tmp_path / "region.png")
    assert matte(source, tmp_path / "out", "--region", str(tmp_path / "region.png"), *flags) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
