"""The output formats (birefnet.video.writers), through ``matte_video``: every frame's alpha against predict +
refine_mask on the decoded frames, timestamps (variable frame rate too), audio, odd sizes, missing encoders.

Codec rounding measured here (random-weight pvt_v2_b0 masks stretched by levels to the full 0..255 range):
PNG and ProRes 4444 alpha are exact; VP9 alpha (crf 18) is within VP9_TOLERANCE; the grey H.264 mask video
(limited-range luma, crf 10) within MASK_TOLERANCE. These noisy masks are a hard case for the lossy codecs.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from PIL import Image

from birefnet import BiRefNetError, matte_video, predict, refine_mask
from birefnet.video import writers as video_writers
from tests.video_samples import (
    ALL_FORMATS,
    BATCH,
    RESOLUTION,
    alpha_prores,
    alpha_webm,
    audio_packets,
    decode_rgb,
    reference_alpha,
    timestamps,
    write_video,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VP9_TOLERANCE = 12  # max |difference| of 8-bit alpha (measured: 8, mean 1.2); the mean must stay below 1.5
MASK_TOLERANCE = 12  # grey H.264 mask, crf 10 (measured: 9, mean 1.1)


def _stretching_levels(masks: torch.Tensor) -> dict:
    """Levels that spread the random network's narrow mask range over 0..1, so alpha uses every grey level."""
    low, high = (float(torch.quantile(masks.flatten(), q)) for q in (0.2, 0.8))
    return {"black_point": low, "white_point": high}


def test_every_format_matches_predict_and_refine_per_frame(tiny_model, tmp_path):
    # 63x47 (odd sides), 13 frames at 25 fps with an AAC track; chunks of 4 so smoothing crosses boundaries.
    source = write_video(tmp_path / "in.mp4", frames=13, width=63, height=47, pix_fmt="yuv444p", audio=True)
    frames, pts, time_base = decode_rgb(source)
    masks = predict(tiny_model, np.stack(frames), RESOLUTION, batch_size=BATCH)
    refine = {**_stretching_levels(masks), "grow_pixels": 1, "feather_sigma": 0.8, "temporal_radius": 2}
    expected = (refine_mask(masks, **refine) * 255).round().to(torch.uint8).numpy()
    assert expected.min() == 0 and expected.max() == 255 and len(np.unique(expected)) > 100
    outputs = {fmt: tmp_path / f"out_{fmt}{ext}" for fmt, ext in ALL_FORMATS.items()}
    result = matte_video(tiny_model, source, outputs, resolution=RESOLUTION, batch_size=BATCH, refine=refine)
    assert result.frames == 13 and not result.interrupted and result.paths == outputs
    source_times = timestamps(pts, time_base)

    png_files = sorted(outputs["png"].glob("*.png"))
    assert len(png_files) == 13
    for png, want in zip(png_files, expected, strict=True):
        rgba = np.asarray(Image.open(png))
        assert rgba.shape == (47, 63, 4)
        np.testing.assert_array_equal(rgba[..., 3], want)
    lines = (outputs["png"] / "timestamps.txt").read_text().splitlines()
    assert lines[0] == "# timecode format v2"
    assert [round(float(v) / 1000, 3) for v in lines[1:]] == source_times

    alphas, prores_pts, prores_tb = alpha_prores(outputs["prores"])
    assert len(alphas) == 13
    for got, want in zip(alphas, expected, strict=True):
        np.testing.assert_array_equal(got, want)  # ProRes 4444 alpha round-trips exactly
    assert timestamps(prores_pts, prores_tb) == source_times
    assert audio_packets(outputs["prores"]) == audio_packets(source)  # copied packet by packet

    alphas, webm_times = alpha_webm(outputs["webm"])
    assert len(alphas) == 13 and webm_times == source_times
    differences = np.abs(np.stack(alphas).astype(int) - expected.astype(int))
    assert differences.max() <= VP9_TOLERANCE and differences.mean() < 1.5
    with av.open(str(outputs["webm"])) as container:  # WebM cannot hold AAC: re-encoded to Opus
        [audio] = container.streams.audio
        assert audio.codec_context.name == "opus"
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.codec_context.sample_rate
    assert abs(seconds - 13 / 25) < 0.05

    with av.open(str(outputs["mask"])) as container:
        grey = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    assert len(grey) == 13 and grey[0].shape == (48, 64)  # padded to even sides
    differences = np.abs(np.stack(grey)[:, :47, :63].astype(int) - expected.astype(int))
    assert differences.max() <= MASK_TOLERANCE and differences.mean() < 1.5
    assert audio_packets(outputs["mask"]) == audio_packets(source)

    green, green_pts, green_tb = decode_rgb(outputs["greenscreen"])
    assert len(green) == 13 and timestamps(green_pts, green_tb) == source_times
    stack = np.stack(green)[:, :47, :63].astype(int)
    background = expected == 0
    assert np.abs(stack[background] - [0, 255, 0]).mean() < 8  # the colour shows where alpha is 0
    opaque = expected == 255
    assert np.abs(stack[opaque] - np.stack(frames).astype(int)[opaque]).mean() < 8  # the source where 1


def test_variable_frame_rate_timestamps_are_kept(tiny_model, tmp_path):
    pts = [0, 40, 90, 100, 170, 200, 280, 290, 330]  # milliseconds: irregular gaps
    source = write_video(tmp_path / "vfr.mkv", frames=9, pts=pts, time_base=Fraction(1, 1000))
    frames, source_pts, time_base = decode_rgb(source)
    assert timestamps(source_pts, time_base) == [p / 1000 for p in pts]
    outputs = {"prores": tmp_path / "vfr.mov", "png": tmp_path / "vfr_png"}
    refine = {"temporal_radius": 1}
    matte_video(tiny_model, source, outputs, resolution=RESOLUTION, batch_size=BATCH, refine=refine)
    alphas, prores_pts, prores_tb = alpha_prores(outputs["prores"])
    assert timestamps(prores_pts, prores_tb) == [p / 1000 for p in pts]
    np.testing.assert_array_equal(np.stack(alphas), reference_alpha(tiny_model, frames, **refine))
    lines = (outputs["png"] / "timestamps.txt").read_text().splitlines()[1:]
    assert [float(v) for v in lines] == pts


def test_missing_encoder_is_named(monkeypatch):
    monkeypatch.setitem(video_writers.ENCODERS, "webm", "libvpx-vp9-not-built")
    with pytest.raises(BiRefNetError, match="needs the FFmpeg encoder 'libvpx-vp9-not-built'.*prores"):
        video_writers.check_encoder("webm")
