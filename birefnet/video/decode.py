"""Reading a video with PyAV, frame by frame: upright RGB frames with their timestamps, and the audio packets
(for copying, undecoded), in file order. Nothing is held beyond the frame being decoded.

Rotation metadata (the display matrix that phones write) is applied, so frames come out the way players show
them; the written outputs are then upright and carry no rotation.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import BiRefNetError

MIN_SIDE = 16
"""Smallest frame side accepted: below it there is nothing a segmentation network can find."""


def import_av() -> Any:
    try:
        import av
    except ImportError as error:  # pragma: no cover - av is a requirement
        raise BiRefNetError(
            "Video needs PyAV: install it with `pip install av` (ComfyUI installs it too)."
        ) from error
    return av


@dataclass
class VideoFrame:
    """One decoded frame: ``rgb`` uint8 ``[H, W, 3]`` (upright), ``pts`` in ``time_base`` units, ``time`` in s."""

    rgb: np.ndarray
    pts: int
    time: float


@dataclass
class AudioPacket:
    """An undecoded audio packet to copy; ``index`` is the audio stream's position among the audio streams."""

    packet: Any
    index: int


def source_name(source: str | os.PathLike | io.IOBase) -> str:
    """What error messages call a source: its path, or a description for in-memory data."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return getattr(source, "name", None) or f"<{type(source).__name__} in memory>"


class VideoReader:
    """A video file (path or binary file object) opened for frame-by-frame reading.

    start, duration: seconds; frames whose timestamp lies before ``start`` or at/after ``start + duration``
    are skipped (seeking first, so a late start is cheap). Errors name the file (BiRefNetError).
    """

    def __init__(
        self, source: str | os.PathLike | io.IOBase, start: float = 0.0, duration: float | None = None
    ) -> None:
        av = import_av()
        self.name = source_name(source)
        if start < 0 or (duration is not None and duration <= 0):
            raise BiRefNetError(
                f"start must be >= 0 and duration > 0 seconds, got start={start}, duration={duration}."
            )
        self.start, self.duration = float(start), duration
        # Exact bounds: frame times are exact fractions (pts * time_base); 0.2 + 0.4 in floats is not 0.6.
        self._start = Fraction(str(self.start))
        self._end = None if duration is None else self._start + Fraction(str(float(duration)))
        target = os.fspath(source) if isinstance(source, (str, os.PathLike)) else source
        if isinstance(target, str) and not os.path.isfile(target):
            raise BiRefNetError(f"Video file {target} does not exist (or is not a file).")
        try:
            self.container = av.open(target, mode="r")
        except av.error.FFmpegError as error:
            raise BiRefNetError(
                f"Cannot open video {self.name}: {error}. Is it a complete, playable video file?"
            ) from error
        if not self.container.streams.video:
            self.container.close()
            raise BiRefNetError(
                f"{self.name} has no video stream (only {self._stream_kinds()}): give a video file."
            )
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.audio_streams = list(self.container.streams.audio)
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90000)
        self.frame_rate: Fraction = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        self._size: tuple[int, int] | None = None  # (width, height) of the decoded frames, before rotation

    def _stream_kinds(self) -> str:
        kinds = [s.type for s in self.container.streams]
        return ", ".join(kinds) if kinds else "no streams at all"

    @property
    def estimated_frames(self) -> int | None:
        """Frames to expect (from the header; None when unknown), after start/duration."""
        seconds = None
        if self.stream.duration is not None:
            seconds = float(self.stream.duration * self.time_base)
        elif self.container.duration is not None:
            seconds = self.container.duration / 1_000_000
        if seconds is None and not self.stream.frames:
            return None
        total = self.stream.frames or round(seconds * float(self.frame_rate))
        if self.start == 0 and self.duration is None:
            return total
        seconds = seconds if seconds is not None else total / float(self.frame_rate)
        end = seconds if self.duration is None else min(seconds, self.start + self.duration)
        return max(0, round((end - self.start) * float(self.frame_rate)))

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _to_rgb(self, frame: Any) -> np.ndarray:
        if self._size is None:
            if min(frame.width, frame.height) < MIN_SIDE:
                raise BiRefNetError(
                    f"{self.name} is {frame.width}x{frame.height} pixels: too small to segment "
                    f"(each side needs at least {MIN_SIDE} pixels)."
                )
            self._size = (frame.width, frame.height)
        try:  # frames of another size (a stream that changes size) are scaled to the first one's
            rgb = frame.to_ndarray(format="rgb24", width=self._size[0], height=self._size[1])
        except (ValueError, NotImplementedError) as error:
            raise BiRefNetError(
                f"{self.name}: cannot convert its pixel format {frame.format.name!r} to RGB ({error}); "
                f"convert the video first, e.g. `ffmpeg -i IN -pix_fmt yuv420p OUT.mp4`."
            ) from error
        except import_av().error.FFmpegError as error:
            raise BiRefNetError(
                f"{self.name}: cannot convert its pixel format {frame.format.name!r} to RGB ({error})."
            ) from error
        quarter_turns = round((frame.rotation or 0) / 90) % 4
        if quarter_turns:  # the display matrix turns the frame counter-clockwise by `rotation` degrees
            rgb = np.ascontiguousarray(np.rot90(rgb, k=quarter_turns))
        return rgb

    def events(self) -> Iterator[VideoFrame | AudioPacket]:
        """Video frames (decoded) and audio packets (undecoded), in file order, within start/duration."""
        av = import_av()
        end = None if self.duration is None else self.start + self.duration  # for messages
        if self.start > 0:
            try:
                self.container.seek(int(self.start / self.time_base), stream=self.stream, backward=True)
            except av.error.FFmpegError as error:
                raise BiRefNetError(f"Cannot seek to {self.start} s in {self.name}: {error}") from error
        audio_index = {s.index: i for i, s in enumerate(self.audio_streams)}
        next_pts = 0
        decoded_any = False
        try:
            for packet in self.container.demux(self.stream, *self.audio_streams):
                if packet.stream.type == "audio":
                    if packet.dts is None or packet.pts is None:
                        continue
                    time = packet.pts * packet.time_base
                    if (self._start == 0 or time >= self._start) and (self._end is None or time < self._end):
                        yield AudioPacket(packet, audio_index[packet.stream.index])
                    continue
                for frame in packet.decode():
                    pts = frame.pts if frame.pts is not None else next_pts
                    time = pts * self.time_base
                    if time < self._start:
                        continue
                    if self._end is not None and time >= self._end:
                        return
                    pts = max(pts, next_pts)  # keep timestamps strictly increasing for the encoders
                    next_pts = pts + 1
                    decoded_any = True
                    yield VideoFrame(self._to_rgb(frame), pts, float(time))
        except av.error.FFmpegError as error:
            raise BiRefNetError(
                f"{self.name} is damaged: decoding stopped with {error}. Repair or re-encode it "
                f"(e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`)."
            ) from error
        if not decoded_any:
            raise BiRefNetError(
                f"No video frame could be decoded from {self.name}"
                + (f" between {self.start} s and {end} s" if self.start > 0 or end is not None else "")
                + ": is the file truncated or is the start beyond its end?"
            )
