"""Small synthetic videos written with PyAV for the video tests (moving shapes, optional audio, VFR), and the
readers and reference the video and ``matte-video`` tests compare outputs with."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

RESOLUTION = 64  # the network input size the video tests run at
BATCH = 4  # frames per chunk: smoothing and interrupts cross chunk boundaries
ALL_FORMATS = {"webm": ".webm", "prores": ".mov", "png": "", "greenscreen": ".mp4", "mask": ".mp4"}


def moving_shapes(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index``: a bright disc and a square moving over a dark gradient, uint8 ``[H, W, 3]``."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.empty((height, width, 3), dtype=np.float32)
    frame[..., 0] = 40 + 60 * x / width
    frame[..., 1] = 30 + 40 * y / height
    frame[..., 2] = 70.0
    cx, cy = (0.2 + 0.05 * index) % 1.0 * width, 0.5 * height
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (0.2 * min(width, height)) ** 2
    frame[disc] = (230, 200, 60)
    sx = int((0.7 - 0.04 * index) % 1.0 * width)
    frame[height // 5 : height // 5 + height // 4, sx : sx + width // 5] = (30, 220, 240)
    return frame.round().astype(np.uint8)


TRACK_MARGIN = 8  # the region-tracking tests' margin: the square moves 4 px per frame, less than this
DISTRACTOR = (76, 44, 88, 56)  # (x0, y0, x1, y1) of the static square that region tracking must leave out


def moving_square_box(index: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the tracked square in frame ``index``: 12 px, 4 px further right each frame."""
    x0 = 8 + 4 * index
    return x0, 16, x0 + 12, 28


def square_and_distractor(
    index: int, width: int = 96, height: int = 64, missing: tuple[int, ...] = ()
) -> np.ndarray:
    """Frame ``index``: the moving square (absent in the frames ``missing``) and the static ``DISTRACTOR``, both
    bright (235) on dark grey (20), uint8 ``[H, W, 3]``."""
    frame = np.full((height, width, 3), 20, dtype=np.uint8)
    if index not in missing:
        x0, y0, x1, y1 = moving_square_box(index)
        frame[y0:y1, x0:x1] = 235
    x0, y0, x1, y1 = DISTRACTOR
    frame[y0:y1, x0:x1] = 235
    return frame


def first_region(width: int = 96, height: int = 64) -> torch.Tensor:
    """A rough region float ``[H, W]`` of the square in frame 0: its box grown by 3 px (as a user paints it)."""
    region = torch.zeros(height, width)
    x0, y0, x1, y1 = moving_square_box(0)
    region[y0 - 3 : y1 + 3, x0 - 3 : x1 + 3] = 1.0
    return region


def assert_follows_the_square(masks: torch.Tensor, frames: range) -> None:
    """Masks ``[N, H, W]`` 0..1 of ``square_and_distractor`` frames: in each of ``frames``, mask > 0.5 is the
    moving square (IoU > 0.8) and the distractor is exactly 0."""
    dx0, dy0, dx1, dy1 = DISTRACTOR
    for i in frames:
        core = masks[i] > 0.5
        expected = torch.zeros_like(core)
        x0, y0, x1, y1 = moving_square_box(i)
        expected[y0:y1, x0:x1] = True
        iou = float((core & expected).sum() / (core | expected).sum())
        assert iou > 0.8, f"frame {i}: IoU {iou:.2f} with the moving square"
        assert torch.all(masks[i, dy0:dy1, dx0:dx1] == 0), f"frame {i}: the distractor is not 0"


def write_video(
    path: Path,
    frames: int = 12,
    width: int = 64,
    height: int = 48,
    fps: int = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool = False,
    audio_codec: str = "aac",
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    draw: Callable[[int, int, int], np.ndarray] = moving_shapes,
) -> Path:
    """Write a test video; ``pts`` (in ``time_base``) makes it variable frame rate; ``draw(index, width, height)``
    gives frame ``index`` as uint8 ``[H, W, 3]`` (default: ``moving_shapes``). Returns ``path``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "12", "bf": "0"}
        tb = time_base or Fraction(1, fps)
        stream.time_base = tb
        stream.codec_context.time_base = tb
        audio_stream = None
        if audio:
            audio_stream = container.add_stream(audio_codec, rate=48000)
            audio_stream.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(draw(i, width, height), format="rgb24")
            frame = frame.reformat(format=pix_fmt)
            frame.pts = pts[i] if pts is not None else i
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            samples_per_frame = audio_stream.codec_context.frame_size or 1024
            seconds = frames / fps
            total = int(seconds * 48000)
            t = np.arange(total) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            fmt = audio_stream.codec_context.format.name
            for start in range(0, total, samples_per_frame):
                part = tone[start : start + samples_per_frame]
                if fmt.startswith("s16"):
                    part = (part * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(part[None], format=fmt, layout="mono")
                frame.sample_rate = 48000
                frame.pts = start
                for packet in audio_stream.encode(frame):
                    container.mux(packet)
            for packet in audio_stream.encode():
                container.mux(packet)
    return path


def decode_rgb(path: Path) -> tuple[list[np.ndarray], list[int], Fraction]:
    """All frames of ``path`` as RGB uint8, their pts and the stream time base (tests only: holds them all)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, pts = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            pts.append(frame.pts)
        return frames, pts, stream.time_base


def reference_alpha(model, frames: list[np.ndarray], **refine) -> np.ndarray:
    """predict (same chunking) + refine_mask on the whole sequence, as uint8 [N, H, W]."""
    from birefnet import predict, refine_mask

    masks = predict(model, np.stack(frames), RESOLUTION, batch_size=BATCH)
    return (refine_mask(masks, **refine) * 255).round().to(torch.uint8).numpy()


def alpha_prores(path: Path) -> tuple[list[np.ndarray], list[int], Fraction]:
    """The alpha plane of every frame of a ProRes 4444 file (12-bit, cut to 8), their pts and the time base."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        out, pts = [], []
        for frame in container.decode(stream):
            plane = frame.planes[3]
            values = np.frombuffer(plane, dtype=np.uint16).reshape(-1, plane.line_size // 2)
            out.append((values[: frame.height, : frame.width] >> 4).astype(np.uint8))  # 12-bit to 8-bit
            pts.append(frame.pts)
        return out, pts, stream.time_base


def alpha_webm(path: Path) -> tuple[list[np.ndarray], list[float]]:
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


def audio_packets(path: Path) -> list[bytes]:
    """The audio track's packets, undecoded (empty without an audio track)."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def timestamps(pts: list[int], time_base: Fraction) -> list[float]:
    """Timestamps in seconds, rounded to the millisecond."""
    return [round(float(p * time_base), 3) for p in pts]
