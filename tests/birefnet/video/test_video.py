"""Streaming video matting (birefnet.video): every frame's alpha against predict + refine_mask on the decoded
frames, timestamps, audio, chunk boundaries, odd sizes, rotation, interrupts and bad input.

Codec rounding measured here (random-weight pvt_v2_b0 masks stretched by levels to the full 0..255 range):
PNG and ProRes 4444 alpha are exact; VP9 alpha (crf 18) is within VP9_TOLERANCE; the grey H.264 mask video
(limited-range luma, crf 10) within MASK_TOLERANCE. These noisy masks are a hard case for the lossy codecs.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from testdata import REPO_ROOT

from birefnet import (
    BiRefNetError,
    StreamingTemporalSmoother,
    load_model,
    matte_video,
    predict,
    refine_mask,
    smooth_temporal,
)
from birefnet.video import writers as video_writers
from tests.video_samples import decode_rgb, write_video

RESOLUTION = 64
BATCH = 4
VP9_TOLERANCE = 12  # max |difference| of 8-bit alpha (measured: 8, mean 1.2); the mean must stay below 1.5
MASK_TOLERANCE = 12  # grey H.264 mask, crf 10 (measured: 9, mean 1.1)

ALL_FORMATS = {"webm": ".webm", "prores": ".mov", "png": "", "greenscreen": ".mp4", "mask": ".mp4"}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These tiny forward passes run many times faster on one thread than on two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(tiny_state_dict):
    return load_model(tiny_state_dict)


def _reference(model, frames: list[np.ndarray], **refine) -> np.ndarray:
    """predict (same chunking) + refine_mask on the whole sequence, as uint8 [N, H, W]."""
    masks = predict(model, np.stack(frames), RESOLUTION, batch_size=BATCH)
    return (refine_mask(masks, **refine) * 255).round().to(torch.uint8).numpy()


def _stretching_levels(masks: torch.Tensor) -> dict:
    """Levels that spread the random network's narrow mask range over 0..1, so alpha uses every grey level."""
    low, high = (float(torch.quantile(masks.flatten(), q)) for q in (0.2, 0.8))
    return {"black_point": low, "white_point": high}


def _alpha_prores(path: Path) -> tuple[list[np.ndarray], list[int], Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        out, pts = [], []
        for frame in container.decode(stream):
            plane = frame.planes[3]
            values = np.frombuffer(plane, dtype=np.uint16).reshape(-1, plane.line_size // 2)
            out.append((values[: frame.height, : frame.width] >> 4).astype(np.uint8))  # 12-bit to 8-bit
            pts.append(frame.pts)
        return out, pts, stream.time_base


def _alpha_webm(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """VP9 alpha needs the libvpx decoder (FFmpeg's own VP9 decoder drops the alpha plane)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoder = av.CodecContext.create("libvpx-vp9", "r")
        out, times = [], []
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            times.append(float(packet.pts * packet.time_base))
            for frame in decoder.decode(packet):
                assert frame.format.name == "yuva420p"
                out.append(frame.to_ndarray(format="rgba")[..., 3])
        return out, sorted(times)


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def _times(pts: list[int], time_base: Fraction) -> list[float]:
    return [round(float(p * time_base), 3) for p in pts]


def test_every_format_matches_predict_and_refine_per_frame(model, tmp_path):
    # 63x47 (odd sides), 13 frames at 25 fps with an AAC track; chunks of 4 so smoothing crosses boundaries.
    source = write_video(tmp_path / "in.mp4", frames=13, width=63, height=47, pix_fmt="yuv444p", audio=True)
    frames, pts, time_base = decode_rgb(source)
    masks = predict(model, np.stack(frames), RESOLUTION, batch_size=BATCH)
    refine = {**_stretching_levels(masks), "grow_pixels": 1, "feather_sigma": 0.8, "temporal_radius": 2}
    expected = (refine_mask(masks, **refine) * 255).round().to(torch.uint8).numpy()
    assert expected.min() == 0 and expected.max() == 255 and len(np.unique(expected)) > 100
    outputs = {fmt: tmp_path / f"out_{fmt}{ext}" for fmt, ext in ALL_FORMATS.items()}
    result = matte_video(model, source, outputs, resolution=RESOLUTION, batch_size=BATCH, refine=refine)
    assert result.frames == 13 and not result.interrupted and result.paths == outputs
    source_times = _times(pts, time_base)

    png_files = sorted(outputs["png"].glob("*.png"))
    assert len(png_files) == 13
    for png, want in zip(png_files, expected, strict=True):
        rgba = np.asarray(Image.open(png))
        assert rgba.shape == (47, 63, 4)
        np.testing.assert_array_equal(rgba[..., 3], want)
    lines = (outputs["png"] / "timestamps.txt").read_text().splitlines()
    assert lines[0] == "# timecode format v2"
    assert [round(float(v) / 1000, 3) for v in lines[1:]] == source_times

    alphas, prores_pts, prores_tb = _alpha_prores(outputs["prores"])
    assert len(alphas) == 13
    for got, want in zip(alphas, expected, strict=True):
        np.testing.assert_array_equal(got, want)  # ProRes 4444 alpha round-trips exactly
    assert _times(prores_pts, prores_tb) == source_times
    assert _audio_packets(outputs["prores"]) == _audio_packets(source)  # copied packet by packet

    alphas, webm_times = _alpha_webm(outputs["webm"])
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
    assert _audio_packets(outputs["mask"]) == _audio_packets(source)

    green, green_pts, green_tb = decode_rgb(outputs["greenscreen"])
    assert len(green) == 13 and _times(green_pts, green_tb) == source_times
    stack = np.stack(green)[:, :47, :63].astype(int)
    background = expected == 0
    assert np.abs(stack[background] - [0, 255, 0]).mean() < 8  # the colour shows where alpha is 0
    opaque = expected == 255
    assert np.abs(stack[opaque] - np.stack(frames).astype(int)[opaque]).mean() < 8  # the source where 1


@pytest.mark.parametrize("radius", [1, 2, 5])
@pytest.mark.parametrize("length", [1, 2, 3, 6, 13])
@pytest.mark.parametrize("chunk", [1, 4])
def test_streaming_temporal_smoothing_equals_whole_sequence(radius, length, chunk):
    masks = torch.rand(length, 5, 7, generator=torch.Generator().manual_seed(length * 10 + radius))
    smoother = StreamingTemporalSmoother(radius)
    out: list[tuple[torch.Tensor, int]] = []
    for start in range(0, length, chunk):
        for i in range(start, min(start + chunk, length)):
            out.extend(smoother.push(masks[i], i))
            assert smoother.held_frames <= 2 * radius + 2 + chunk
    out.extend(smoother.finish())
    assert [index for _, index in out] == list(range(length))
    assert torch.equal(torch.stack([mask for mask, _ in out]), smooth_temporal(masks, radius))


def test_variable_frame_rate_timestamps_are_kept(model, tmp_path):
    pts = [0, 40, 90, 100, 170, 200, 280, 290, 330]  # milliseconds: irregular gaps
    source = write_video(tmp_path / "vfr.mkv", frames=9, pts=pts, time_base=Fraction(1, 1000))
    frames, source_pts, time_base = decode_rgb(source)
    assert _times(source_pts, time_base) == [p / 1000 for p in pts]
    outputs = {"prores": tmp_path / "vfr.mov", "png": tmp_path / "vfr_png"}
    refine = {"temporal_radius": 1}
    matte_video(model, source, outputs, resolution=RESOLUTION, batch_size=BATCH, refine=refine)
    alphas, prores_pts, prores_tb = _alpha_prores(outputs["prores"])
    assert _times(prores_pts, prores_tb) == [p / 1000 for p in pts]
    np.testing.assert_array_equal(np.stack(alphas), _reference(model, frames, **refine))
    lines = (outputs["png"] / "timestamps.txt").read_text().splitlines()[1:]
    assert [float(v) for v in lines] == pts


def test_start_and_duration_select_frames(model, tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=20)
    frames, _, _ = decode_rgb(source)
    out = tmp_path / "part.mov"
    result = matte_video(
        model, source, {"prores": out}, resolution=RESOLUTION, batch_size=BATCH, start=0.2, duration=0.4
    )
    assert result.frames == 10  # frames 5..14 at 25 fps
    alphas, pts, time_base = _alpha_prores(out)
    assert _times(pts, time_base)[:2] == [0.0, 0.04]
    np.testing.assert_array_equal(np.stack(alphas), _reference(model, frames[5:15]))


def _rotate_track_90(path: Path) -> None:
    """Give the (only) track a 90-degree display matrix in its tkhd box, as phones do."""
    identity = bytes.fromhex("000100000000000000000000000000000001000000000000000000000000000040000000")
    rotated = bytes.fromhex("000000000001000000000000ffff00000000000000000000000000000000000040000000")
    data = path.read_bytes()
    at = data.rindex(identity)  # the tkhd matrix comes after the movie header's
    path.write_bytes(data[:at] + rotated + data[at + len(identity) :])


def test_rotation_metadata_is_applied(model, tmp_path):
    source = write_video(tmp_path / "phone.mp4", frames=5, width=64, height=48)
    frames, _, _ = decode_rgb(source)
    _rotate_track_90(source)
    with av.open(str(source)) as container:
        assert next(container.decode(video=0)).rotation != 0
    out = tmp_path / "phone_png"
    matte_video(model, source, {"png": out}, resolution=RESOLUTION, batch_size=BATCH, fix_edge_colors=False)
    # tkhd matrix (a, b, c, d) = (0, 1, -1, 0) maps x -> y and y -> -x: shown turned 90 degrees clockwise.
    upright = [np.ascontiguousarray(np.rot90(f, k=-1)) for f in frames]
    written = [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]
    assert written[0].shape == (64, 48, 4)
    for got, want in zip(written, upright, strict=True):
        np.testing.assert_array_equal(got[..., :3], want)
    np.testing.assert_array_equal(np.stack([w[..., 3] for w in written]), _reference(model, upright))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "in.mp4")


def test_interrupt_finishes_a_shorter_playable_file(model, tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=12, audio=True)
    calls = []

    def stop_after_first_chunk():
        calls.append(1)
        raise KeyboardInterrupt

    outputs = {"prores": tmp_path / "out.mov", "png": tmp_path / "out_png"}
    with pytest.raises(KeyboardInterrupt):
        matte_video(
            model,
            source,
            outputs,
            resolution=RESOLUTION,
            batch_size=BATCH,
            refine={"temporal_radius": 2},
            between_chunks=stop_after_first_chunk,
        )
    assert _leftovers(tmp_path) == ["out_interrupted.mov", "out_png_interrupted"]
    alphas, _, _ = _alpha_prores(tmp_path / "out_interrupted.mov")
    assert len(alphas) == BATCH  # the segmented chunk, smoothed as a sequence that ends there
    assert len(list((tmp_path / "out_png_interrupted").glob("*.png"))) == BATCH


def test_error_midway_leaves_no_file(model, tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=12)

    def fail():
        raise RuntimeError("disk full")

    outputs = {fmt: tmp_path / f"out_{fmt}{ext}" for fmt, ext in ALL_FORMATS.items()}
    with pytest.raises(RuntimeError, match="disk full"):
        matte_video(model, source, outputs, resolution=RESOLUTION, batch_size=BATCH, between_chunks=fail)
    assert _leftovers(tmp_path) == []


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
def test_bad_input_names_the_file_and_leaves_nothing(model, tmp_path, make, message):
    source = make(tmp_path)
    outputs = {"prores": tmp_path / "out.mov", "webm": tmp_path / "out.webm"}
    with pytest.raises(BiRefNetError, match=message) as error:
        matte_video(model, source, outputs, resolution=RESOLUTION)
    assert str(source) in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ([source.name] if source.exists() else [])


def test_missing_encoder_is_named(monkeypatch):
    monkeypatch.setitem(video_writers.ENCODERS, "webm", "libvpx-vp9-not-built")
    with pytest.raises(BiRefNetError, match="needs the FFmpeg encoder 'libvpx-vp9-not-built'.*prores"):
        video_writers.check_encoder("webm")


def test_cli_matte_video(tiny_checkpoint, tmp_path, capsys):
    from birefnet.cli import main

    source = write_video(tmp_path / "clip.mp4", frames=6, audio=True)
    out = tmp_path / "out"
    code = main(
        [
            "matte-video", str(source), "--model", str(tiny_checkpoint), "--out", str(out),
            "--format", "prores", "--format", "mask", "--resolution", "64", "--batch-size", "4",
            "--temporal-radius", "1", "--grow", "1", "--feather", "0.5",
        ]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["clip.mov", "clip_mask.mp4"]
    frames, _, _ = decode_rgb(source)
    model = load_model(tiny_checkpoint)
    expected = _reference(model, frames, temporal_radius=1, grow_pixels=1, feather_sigma=0.5)
    np.testing.assert_array_equal(np.stack(_alpha_prores(out / "clip.mov")[0]), expected)
    assert "clip.mov (6 frames)" in capsys.readouterr().out

    assert (
        main(["matte-video", str(tmp_path / "none.mp4"), "--model", str(tiny_checkpoint), "--out", str(out)])
        == 2
    )
    assert "none.mp4" in capsys.readouterr().err


def test_cli_ctrl_c_keeps_the_frames_done(tiny_checkpoint, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    source = write_video(tmp_path / "clip.mp4", frames=300, width=64, height=48)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "birefnet", "matte-video", str(source), "--model", str(tiny_checkpoint),
               "--out", str(out), "--format", "png", "--format", "prores", "--resolution", "64"]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL
        ),  # background jobs start with it ignored
    )
    partial = out / ".clip_png.partial"
    deadline = time.monotonic() + 120
    while not (partial.is_dir() and any(partial.glob("*.png"))):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert sorted(p.name for p in out.iterdir()) == ["clip_interrupted.mov", "clip_png_interrupted"]
    written = len(list((out / "clip_png_interrupted").glob("*.png")))
    assert 0 < written < 300
    assert len(_alpha_prores(out / "clip_interrupted.mov")[0]) == written  # finished, playable, same frames
    assert "kept the shorter output" in err
