"""``matte_video``: a video file in, matted outputs out, streaming with flat memory.

Per chunk of ``batch_size`` decoded frames: ``predict`` (with a first-frame region: ``RegionTracker``) -> the
spatial refinement steps of ``refine_mask`` (levels, threshold, fill holes, grow/shrink, feather) -> temporal
smoothing across chunks (``StreamingTemporalSmoother``, equal to smoothing the whole sequence) -> invert ->
8-bit alpha -> blur-fusion foreground colours (``estimate_foreground``) -> every writer. Memory: one chunk of
frames plus the smoothing window (``2 * temporal_radius + 2`` frames), whatever the video's length.

Interrupts (KeyboardInterrupt, or the types in ``finish_on``, e.g. ComfyUI's InterruptProcessingException):
the frames already segmented are written, each file is finished (playable, shorter) and renamed to
``<stem>_interrupted<ext>``, then the interrupt is raised again. Any other error deletes the partial files:
nothing half-written is ever left under a final name.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import BiRefNetError
from ..inference.predict import DEFAULT_DYNAMIC_LONG_SIDE, Resolution, predict
from ..inference.prompts import DEFAULT_MARGIN
from ..matting.composite import composite_over_color, estimate_foreground
from ..matting.refine import invert_mask, refine_mask
from ..matting.temporal import StreamingTemporalSmoother
from .decode import AudioPacket, VideoFrame, VideoReader
from .tracking import RegionTracker
from .writers import Writer, check_encoder, check_format, open_writer

log = logging.getLogger("birefnet")
ProgressCallback = Callable[[int, "int | None"], Any]


@dataclass
class MatteResult:
    """What ``matte_video`` wrote: format -> path, frames written, whether it was cut short."""

    paths: dict[str, Path] = field(default_factory=dict)
    frames: int = 0
    interrupted: bool = False
    width: int = 0
    height: int = 0


def _spatial_refine(masks: torch.Tensor, refine: Mapping[str, Any]) -> torch.Tensor:
    settings = {k: v for k, v in refine.items() if k not in ("temporal_radius", "invert")}
    return refine_mask(masks, **settings)


def matte_video(
    model: nn.Module,
    source: str | os.PathLike | io.IOBase,
    outputs: Mapping[str, str | os.PathLike],
    *,
    resolution: Resolution = None,
    batch_size: int = 4,
    dtype: torch.dtype | None = None,
    dynamic_long_side: int = DEFAULT_DYNAMIC_LONG_SIDE,
    refine: Mapping[str, Any] | None = None,
    color: tuple[float, float, float] = (0.0, 1.0, 0.0),
    fix_edge_colors: bool = True,
    start: float = 0.0,
    duration: float | None = None,
    progress: ProgressCallback | None = None,
    between_chunks: Callable[[], Any] | None = None,
    finish_on: tuple[type[BaseException], ...] = (KeyboardInterrupt,),
    region: Any = None,
    margin: int = DEFAULT_MARGIN,
) -> MatteResult:
    """Matte every frame of ``source`` and write the formats in ``outputs`` (format -> final path).

    outputs: e.g. ``{"webm": "out/clip.webm", "mask": "out/clip_mask.mp4"}``; formats: webm, prores, png
        (the path is a folder), greenscreen, mask. Each is written to a hidden temporary name beside its path
        and renamed at the end.
    refine: keyword arguments of ``refine_mask`` (black_point, white_point, threshold, fill_holes_enabled,
        grow_pixels, feather_sigma, temporal_radius, invert); the guided filter is not offered here.
    color: background RGB 0..1 of the greenscreen format. fix_edge_colors: blur-fusion foreground colours.
    start, duration: seconds of the source to process (timestamps of the outputs start at 0).
    progress: called as progress(frames_done, frames_expected or None) after each chunk.
    between_chunks: called after each chunk (ComfyUI: raise if the user pressed Stop).
    finish_on: interrupt types after which the written part is kept (see the module docstring).
    region: float ``[H, W]`` 0..1 (1 = the object) for the first frame, the frames' size (after rotation):
        only that object is matted and followed from frame to frame (``tracking.RegionTracker``: each next
        frame's region is the previous mask grown by ``margin`` pixels; a lost object stays 0). None: every
        frame's whole-image mask (``predict``).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise BiRefNetError(f"batch_size must be a positive whole number, got {batch_size!r}.")
    if not outputs:
        raise BiRefNetError(
            "No output format chosen: give at least one of webm, prores, png, greenscreen, mask."
        )
    for fmt in outputs:
        check_encoder(fmt)
    refine = dict(refine or {})
    if refine.get("guided_radius", 0):
        raise BiRefNetError("The guided filter is not available for video; set guided_radius to 0.")
    refine.pop("guided_radius", None)
    refine.pop("guided_eps", None)
    _spatial_refine(torch.zeros(1, 8, 8), refine)  # validates the settings before any decoding
    tracker = None if region is None else RegionTracker(region, margin)
    smoother = StreamingTemporalSmoother(int(refine.get("temporal_radius", 0)))
    invert = bool(refine.get("invert", False))
    paths = {fmt: Path(path) for fmt, path in outputs.items()}
    for fmt, path in paths.items():
        check_format(fmt)
        if not path.parent.is_dir():
            raise BiRefNetError(f"Output folder {path.parent} does not exist: create it first.")

    result = MatteResult()
    writers: dict[str, Writer] = {}
    pending_audio: list[AudioPacket] = []
    chunk: list[VideoFrame] = []
    reader = VideoReader(source, start, duration)
    expected = reader.estimated_frames
    first_pts: list[int] = []
    segmented = [0]
    audio_offset: dict[int, int] = {}

    def open_writers(frame: VideoFrame) -> None:
        height, width = frame.rgb.shape[:2]
        result.width, result.height = width, height
        for fmt, path in paths.items():
            writers[fmt] = open_writer(
                fmt,
                path,
                time_base=reader.time_base,
                **(
                    {}
                    if fmt == "png"
                    else {
                        "width": width,
                        "height": height,
                        "frame_rate": reader.frame_rate,
                        "audio_streams": reader.audio_streams,
                        "color": color,
                        "source_name": reader.name,
                    }
                ),
            )

    def copy_audio(item: AudioPacket) -> None:
        packet = item.packet
        if item.index not in audio_offset:  # audio starts where the first kept video frame starts
            offset_seconds = first_pts[0] * reader.time_base
            audio_offset[item.index] = int(offset_seconds / packet.time_base)
        shift = audio_offset[item.index]
        if shift > 0 and packet.pts - shift < 0:  # before the chosen start (codec priming at 0 is kept)
            return
        packet.pts -= shift
        packet.dts -= shift
        for writer in writers.values():
            writer.add_audio(packet, item.index)

    def emit(mask: torch.Tensor, frame: VideoFrame) -> None:
        if invert:
            mask = invert_mask(mask[None])[0]
        alpha = (mask.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        rgb = frame.rgb
        colour_formats = [f for f in writers if f != "mask"]
        if colour_formats:
            image = torch.from_numpy(rgb).float().div_(255.0)[None]
            foreground = estimate_foreground(image, mask[None]) if fix_edge_colors else image
            straight = (foreground[0] * 255).round().to(torch.uint8).numpy()
            if "greenscreen" in writers:
                over = composite_over_color(foreground, mask[None], color)[0]
                green = (over.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        pts = frame.pts - first_pts[0]
        for fmt, writer in writers.items():
            writer.write(green if fmt == "greenscreen" else straight if fmt != "mask" else rgb, alpha, pts)
        result.frames += 1

    def run_chunk() -> None:
        images = np.stack([f.rgb for f in chunk])
        if tracker is None:
            masks = predict(
                model,
                images,
                resolution,
                batch_size=batch_size,
                dtype=dtype,
                dynamic_long_side=dynamic_long_side,
            )
        else:
            masks = tracker.segment(
                model, images, resolution, dtype=dtype, dynamic_long_side=dynamic_long_side
            )
        masks = _spatial_refine(masks, refine)
        for mask, frame in zip(masks, chunk, strict=True):
            for smoothed, item in smoother.push(mask.clone(), frame):
                emit(smoothed, item)
        segmented[0] += len(chunk)
        chunk.clear()
        if progress is not None:
            progress(segmented[0], expected)
        if between_chunks is not None:
            between_chunks()

    try:
        with reader:
            for event in reader.events():
                if isinstance(event, AudioPacket):
                    if writers:
                        copy_audio(event)
                    else:
                        pending_audio.append(event)
                    continue
                if not writers:
                    first_pts.append(event.pts)
                    open_writers(event)
                    for item in pending_audio:
                        copy_audio(item)
                    pending_audio.clear()
                chunk.append(event)
                if len(chunk) == batch_size:
                    run_chunk()
            if chunk:
                run_chunk()
            for smoothed, item in smoother.finish():
                emit(smoothed, item)
        for fmt, writer in writers.items():
            result.paths[fmt] = writer.commit()
        return result
    except finish_on:
        try:
            for smoothed, item in smoother.finish():
                emit(smoothed, item)
        except BaseException:
            for writer in writers.values():
                writer.abort()
            raise
        result.interrupted = True
        for fmt, writer in writers.items():
            try:
                path = writer.commit(interrupted=True)
            except Exception as error:  # this file cannot be finished: delete it, keep the others
                log.warning("Could not finish %s after the interrupt (%s); deleted it.", writer.final, error)
                writer.abort()
                continue
            if path is not None:
                result.paths[fmt] = path
        kept = ", ".join(str(p) for p in result.paths.values()) or "nothing (no frame was done)"
        log.warning(
            "Video matting interrupted after %d frames; kept the shorter output: %s", result.frames, kept
        )
        raise
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
