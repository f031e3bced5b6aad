"""Reading the source video (birefnet.video.decode), through ``matte_video``: start and duration select
frames, rotation metadata is applied, and bad input is an error that names the file and leaves nothing."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from birefnet import BiRefNetError, matte_video
from tests.video_samples import (
    BATCH,
    RESOLUTION,
    alpha_prores,
    decode_rgb,
    reference_alpha,
    timestamps,
    write_video,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_start_and_duration_select_frames(tiny_model, tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=20)
    frames, _, _ = decode_rgb(source)
    out = tmp_path / "part.mov"
    result = matte_video(
        tiny_model, source, {"prores": out}, resolution=RESOLUTION, batch_size=BATCH, start=0.2, duration=0.4
    )
    assert result.frames == 10  # frames 5..14 at 25 fps
    alphas, pts, time_base = alpha_prores(out)
    assert timestamps(pts, time_base)[:2] == [0.0, 0.04]
    np.testing.assert_array_equal(np.stack(alphas), reference_alpha(tiny_model, frames[5:15]))


def _rotate_track_90(path: Path) -> None:
    """Give the (only) track a 90-degree display matrix in its tkhd box, as phones do."""
    identity = bytes.fromhex("000100000000000000000000000000000001000000000000000000000000000040000000")
    rotated = bytes.fromhex("000000000001000000000000ffff00000000000000000000000000000000000040000000")
    data = path.read_bytes()
    at = data.rindex(identity)  # the tkhd matrix comes after the movie header's
    path.write_bytes(data[:at] + rotated + data[at + len(identity) :])


def test_rotation_metadata_is_applied(tiny_model, tmp_path):
    source = write_video(tmp_path / "phone.mp4", frames=5, width=64, height=48)
    frames, _, _ = decode_rgb(source)
    _rotate_track_90(source)
    with av.open(str(source)) as container:
        assert next(container.decode(video=0)).rotation != 0
    out = tmp_path / "phone_png"
    matte_video(
        tiny_model, source, {"png": out}, resolution=RESOLUTION, batch_size=BATCH, fix_edge_colors=False
    )
    # tkhd matrix (a, b, c, d) = (0, 1, -1, 0) maps x -> y and y -> -x: shown turned 90 degrees clockwise.
    upright = [np.ascontiguousarray(np.rot90(f, k=-1)) for f in frames]
    written = [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]
    assert written[0].shape == (64, 48, 4)
    for got, want in zip(written, upright, strict=True):
        np.testing.assert_array_equal(got[..., :3], want)
    np.testing.assert_array_equal(
        np.stack([w[..., 3] for w in written]), reference_alpha(tiny_model, upright)
    )


def _raw_video(path: Path, width: int, height: int, pix_fmt: str) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for i in range(3):
            frame = av.VideoFrame(width, height, pix_fmt)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _truncated(path: Path) -> Path:
    write_video(path, frames=12)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the MP4 index (moov) is lost
    return path


def _garbage(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _garbage(d / "noise.mp4"), "Cannot open video"),
        (lambda d: _truncated(d / "cut.mp4"), "Cannot open video"),
        (lambda d: _audio_only(d / "sound.wav"), "has no video stream"),
        (lambda d: _raw_video(d / "dot.nut", 1, 1, "rgb24"), "is 1x1 pixels: too small"),
        (lambda d: _raw_video(d / "packed.nut", 32, 32, "bgr4"), "pixel format 'bgr4'"),
        (lambda d: d / "missing.mp4", "does not exist"),
    ],
)
def test_bad_input_names_the_file_and_leaves_nothing(tiny_model, tmp_path, make, message):
    source = make(tmp_path)
    outputs = {"prores": tmp_path / "out.mov", "webm": tmp_path / "out.webm"}
    with pytest.raises(BiRefNetError, match=message) as error:
        matte_video(tiny_model, source, outputs, resolution=RESOLUTION)
    assert str(source) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([source.name] if source.exists() else [])
