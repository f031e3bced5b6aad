"""Region tracking in video (``RegionTracker``, ``matte_video(region=...)``): the object given in the first frame
is followed while it moves less than the margin per frame, across chunk boundaries; a static distractor stays 0;
a lost object stays 0 even when it comes back.

The stand-in model's mask is the bright pixels of its input (``GreyLogitModel``), so the expected masks are the
drawn squares.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image

from birefnet import BiRefNetError, matte_video, predict
from birefnet.matting.refine import grow_mask
from birefnet.video.tracking import RegionTracker
from tests.birefnet.inference.test_detail import GreyLogitModel
from tests.video_samples import (
    DISTRACTOR,
    TRACK_MARGIN,
    assert_follows_the_square,
    first_region,
    moving_square_box,
    square_and_distractor,
    write_video,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FRAMES = 11
RESOLUTION = 64


def test_tracking_follows_the_object_and_leaves_the_distractor_out():
    model = GreyLogitModel()
    frames = np.stack([square_and_distractor(i) for i in range(FRAMES)])
    plain = predict(model, frames, RESOLUTION)
    dx0, dy0, dx1, dy1 = DISTRACTOR
    assert torch.all(plain[:, dy0:dy1, dx0:dx1] > 0.5)  # without a region the distractor is foreground

    tracker = RegionTracker(first_region(), TRACK_MARGIN)
    masks = tracker.segment(model, frames, RESOLUTION)
    assert_follows_the_square(masks, range(FRAMES))
    assert not tracker.lost

    # In chunks (the state carries over): the same numbers.
    chunked = RegionTracker(first_region(), TRACK_MARGIN)
    parts = [chunked.segment(model, frames[start : start + 3], RESOLUTION) for start in range(0, FRAMES, 3)]
    torch.testing.assert_close(torch.cat(parts), masks, rtol=0, atol=0)


def test_an_object_faster_than_the_margin_is_cut_at_the_crop():
    model = GreyLogitModel()
    frames = np.stack([square_and_distractor(i) for i in range(4)])
    tracker = RegionTracker(first_region(), margin=1)  # the square moves 4 px per frame
    masks = tracker.segment(model, frames, RESOLUTION)
    assert (masks[0] > 0.5).sum() > 100
    x0, y0, x1, y1 = moving_square_box(3)
    assert torch.all(masks[3, y0:y1, x1 - 2 : x1] == 0)  # its new leading edge is outside the grown region


def test_a_lost_object_stays_zero_even_when_it_comes_back(caplog):
    model = GreyLogitModel()
    frames = np.stack([square_and_distractor(i, missing=(4, 5)) for i in range(FRAMES)])
    tracker = RegionTracker(first_region(), TRACK_MARGIN)
    masks = tracker.segment(model, frames, RESOLUTION)
    assert_follows_the_square(masks, range(4))
    assert tracker.lost
    assert torch.all(masks[4:] == 0)  # frames 6.. show the square again, within the margin of frame 3's
    assert "lost at frame 5" in caplog.text


def test_a_region_of_another_size_is_an_error_naming_both_sizes():
    frames = np.stack([square_and_distractor(0)])
    with pytest.raises(BiRefNetError, match="region mask is 90x64 but the image is 96x64"):
        RegionTracker(torch.ones(64, 90), TRACK_MARGIN).segment(GreyLogitModel(), frames, RESOLUTION)
    with pytest.raises(BiRefNetError, match="margin must be a whole number"):
        RegionTracker(first_region(), -1).segment(GreyLogitModel(), frames, RESOLUTION)


def test_matte_video_with_a_region_across_chunk_boundaries(tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=FRAMES, width=96, height=64, draw=square_and_distractor)
    result = matte_video(
        GreyLogitModel(),
        source,
        {"png": tmp_path / "out_png"},
        resolution=RESOLUTION,
        batch_size=3,  # 11 frames: chunks of 3, 3, 3, 2
        region=first_region(),
        margin=TRACK_MARGIN,
    )
    assert result.frames == FRAMES
    files = sorted((tmp_path / "out_png").glob("*.png"))
    alphas = torch.from_numpy(
        np.stack([np.asarray(Image.open(f))[..., 3] for f in files]).astype(np.float32) / 255
    )
    assert_follows_the_square(alphas, range(FRAMES))

    lost = functools.partial(square_and_distractor, missing=(7,))
    source = write_video(tmp_path / "lost.mp4", frames=FRAMES, width=96, height=64, draw=lost)
    matte_video(
        GreyLogitModel(),
        source,
        {"png": tmp_path / "lost_png"},
        resolution=RESOLUTION,
        batch_size=3,
        region=first_region(),
        margin=TRACK_MARGIN,
    )
    files = sorted((tmp_path / "lost_png").glob("*.png"))
    alphas = np.stack([np.asarray(Image.open(f))[..., 3] for f in files])
    assert alphas[:7].reshape(7, -1).max(axis=1).min() == 255 and not alphas[7:].any()


def test_the_next_region_is_the_mask_grown_by_the_margin():
    frames = np.stack([square_and_distractor(0)])
    tracker = RegionTracker(first_region(), TRACK_MARGIN)
    mask = tracker.segment(GreyLogitModel(), frames, RESOLUTION)[0]
    expected = grow_mask((mask > 0.5).float()[None], TRACK_MARGIN)[0]  # grown over the whole frame
    torch.testing.assert_close(tracker.region, expected, rtol=0, atol=0)
    assert expected.sum() > (mask > 0.5).sum()
