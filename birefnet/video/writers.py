"""Output formats, written frame by frame to a temporary name and renamed to the final one by ``commit``.

| format      | file                      | codec (PyAV encoder)         | alpha                           |
|-------------|---------------------------|------------------------------|---------------------------------|
| webm        | ``.webm``                 | VP9 ``libvpx-vp9``, yuva420p | lossy (VP9 alpha plane)         |
| prores      | ``.mov``                  | ProRes 4444 ``prores_ks``    | exact (lossless 16-bit alpha)   |
| png         | folder of ``NNNNNN.png``  | PNG (Pillow), RGBA           | exact                           |
| greenscreen | ``.mp4``                  | H.264 ``libx264``, yuv420p   | none: the subject over a colour |
| mask        | ``.mp4``                  | H.264 ``libx264``, yuv420p   | the mask as grey video (crf 10) |

Colour frames given to ``write`` are the blur-fusion foreground (``fix_edge_colors``), straight alpha.
Timestamps are copied from the source (variable frame rate kept). Audio packets are copied unchanged into
containers that can hold their codec (WebM: Opus/Vorbis; MP4/MOV: AAC, MP3, Opus, AC-3, ALAC, FLAC, PCM in
MOV); others are re-encoded (WebM: Opus; MP4/MOV: AAC) with a warning, or left out if that fails. H.264 4:2:0 needs even sides: odd frames are padded by repeating the
last row/column (logged). PNG sequences keep timestamps in ``timestamps.txt`` (mkvmerge timecode format v2).
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import BiRefNetError
from ..partial_files import publish, remove_path, temporary_path
from .decode import import_av

log = logging.getLogger("birefnet")

FORMATS = ("webm", "prores", "png", "greenscreen", "mask")
EXTENSIONS = {"webm": ".webm", "prores": ".mov", "png": "", "greenscreen": ".mp4", "mask": ".mp4"}
ENCODERS = {
    "webm": "libvpx-vp9",
    "prores": "prores_ks",
    "png": None,
    "greenscreen": "libx264",
    "mask": "libx264",
}
_CONTAINERS = {"webm": "webm", "prores": "mov", "greenscreen": "mp4", "mask": "mp4"}
_AUDIO_CODECS = {
    "webm": {"opus", "vorbis"},
    "mov": {
        "aac",
        "mp3",
        "opus",
        "ac3",
        "eac3",
        "alac",
        "flac",
        "pcm_s16le",
        "pcm_s16be",
        "pcm_s24le",
        "pcm_f32le",
    },
    "mp4": {"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"},
}
_TRANSCODE_TO = {"webm": "libopus", "mov": "aac", "mp4": "aac"}
INTERRUPTED_SUFFIX = "_interrupted"


NAME_TAGS = {"png": "_png", "greenscreen": "_greenscreen", "mask": "_mask"}
"""What ``output_path`` appends to the stem of formats whose extension alone would not tell them apart."""


def output_path(folder: str | os.PathLike, stem: str, fmt: str, tagged: bool = True) -> Path:
    """Final path of format ``fmt`` for ``stem`` in ``folder`` (the PNG sequence is a folder).

    ``tagged``: ``<stem>_greenscreen.mp4``, ``<stem>_mask.mp4``, ``<stem>_png/`` (several formats of one
    stem side by side, as the CLI writes them); untagged: ``<stem>.mp4``, ``<stem>/`` (one format per stem,
    as the node's numbered names). webm and prores are ``<stem>.webm`` / ``<stem>.mov`` either way.
    """
    check_format(fmt)
    tag = NAME_TAGS.get(fmt, "") if tagged else ""
    return Path(folder) / f"{stem}{tag}{EXTENSIONS[fmt]}"


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise BiRefNetError(f"Video format {fmt!r} is unknown; use one of {', '.join(FORMATS)}.")


def check_encoder(fmt: str) -> None:
    """Raise BiRefNetError when this PyAV build lacks the encoder ``fmt`` needs."""
    check_format(fmt)
    name = ENCODERS[fmt]
    if name is None:
        return
    av = import_av()
    try:
        av.Codec(name, "w")
    except Exception as error:  # av raises UnknownCodecError (a ValueError) or FFmpegError variants
        available = [f for f in FORMATS if ENCODERS[f] is None or _has_encoder(av, ENCODERS[f])]
        raise BiRefNetError(
            f"Format {fmt!r} needs the FFmpeg encoder {name!r}, which this PyAV build (av {av.__version__}) "
            f"lacks. Install the PyPI wheel, which carries it (`pip install --force-reinstall av`), or choose "
            f"another format: {', '.join(available)}."
        ) from error


def _has_encoder(av: Any, name: str) -> bool:
    try:
        av.Codec(name, "w")
    except Exception:
        return False
    return True


class Writer:
    """Base: a temporary target next to ``final``; ``commit`` renames it, ``abort`` deletes it."""

    def __init__(self, final: Path) -> None:
        self.final = Path(final)
        self.temporary = temporary_path(self.final)
        remove_path(self.temporary)
        self.frames = 0

    def write(self, rgb: np.ndarray, alpha: np.ndarray, pts: int) -> None:
        raise NotImplementedError

    def add_audio(self, packet: Any, index: int) -> None:
        """Copy an audio packet of source audio stream ``index`` (ignored where audio cannot go)."""

    def _finish(self) -> None:
        raise NotImplementedError

    def commit(self, interrupted: bool = False) -> Path | None:
        """Finish the file and give it its final name (``<stem>_interrupted`` when cut short); the path, or
        None when nothing was written (interrupted before the first frame reached the file)."""
        self._finish()
        if not self.temporary.exists():
            return None
        final = self.final
        if interrupted:
            final = final.with_name(f"{final.stem}{INTERRUPTED_SUFFIX}{final.suffix}")
        return publish(self.temporary, final)

    def abort(self) -> None:
        """Stop and delete what was written."""
        try:
            self._finish()
        except BaseException:  # noqa: BLE001 - the file is deleted whatever state it is in
            pass
        remove_path(self.temporary)


class PngSequenceWriter(Writer):
    """RGBA PNGs ``000001.png``... in a folder, plus ``timestamps.txt`` (milliseconds per frame)."""

    def __init__(self, final: Path, time_base: Fraction, **_: Any) -> None:
        super().__init__(final)
        self.temporary.mkdir(parents=True)
        self.time_base = time_base
        self._times = open(self.temporary / "timestamps.txt", "w", encoding="utf-8")  # noqa: SIM115
        self._times.write("# timecode format v2\n")

    def write(self, rgb: np.ndarray, alpha: np.ndarray, pts: int) -> None:
        self.frames += 1
        rgba = np.concatenate([rgb, alpha[..., None]], axis=-1)
        Image.fromarray(rgba, "RGBA").save(self.temporary / f"{self.frames:06d}.png", compress_level=1)
        self._times.write(f"{float(pts * self.time_base) * 1000:.3f}\n")

    def _finish(self) -> None:
        self._times.close()


class ContainerWriter(Writer):
    """A video file through PyAV: one video stream (the format's encoder) and the copied audio streams."""

    def __init__(
        self,
        final: Path,
        fmt: str,
        width: int,
        height: int,
        time_base: Fraction,
        frame_rate: Fraction,
        audio_streams: list[Any] = (),
        color: tuple[float, float, float] = (0.0, 1.0, 0.0),
        source_name: str = "",
    ) -> None:
        check_encoder(fmt)
        super().__init__(final)
        av = import_av()
        self.fmt, self.color = fmt, np.array(color, dtype=np.float32)
        self.width, self.height = width, height
        chroma_420 = fmt in ("greenscreen", "mask")
        self.pad = (width % 2, height % 2) if chroma_420 else (0, 0)
        if any(self.pad):
            log.warning(
                "%s is %dx%d: H.264 4:2:0 needs even sides, so %s is padded to %dx%d by repeating the last "
                "row/column.",
                source_name,
                width,
                height,
                final.name,
                width + self.pad[0],
                height + self.pad[1],
            )
        container_format = _CONTAINERS[fmt]
        self.container = av.open(str(self.temporary), mode="w", format=container_format)
        try:
            self.stream = self._add_video_stream(fmt, frame_rate, time_base)
            self.audio_out: dict[int, Any] = {}
            self.audio_transcode: dict[int, _AudioTranscoder] = {}
            for index, source in enumerate(audio_streams):
                codec = source.codec_context.name
                if codec in _AUDIO_CODECS[container_format]:
                    self.audio_out[index] = self.container.add_stream_from_template(source)
                    continue
                target = _TRANSCODE_TO[container_format]
                try:
                    self.audio_transcode[index] = _AudioTranscoder(self.container, source, target)
                    log.warning(
                        "%s: audio stream %d (%s) cannot be stored in %s as it is: re-encoded to %s.",
                        source_name,
                        index,
                        codec,
                        container_format.upper(),
                        target,
                    )
                except Exception as error:  # an encoder or layout FFmpeg refuses: go on without this stream
                    log.warning(
                        "%s: audio stream %d (%s) cannot be stored in %s and is left out (%s); the prores "
                        "format (MOV) keeps most audio codecs.",
                        source_name,
                        index,
                        codec,
                        container_format.upper(),
                        error,
                    )
        except BaseException:
            self.container.close()
            remove_path(self.temporary)
            raise
        self.time_base = time_base

    def _add_video_stream(self, fmt: str, frame_rate: Fraction, time_base: Fraction) -> Any:
        if fmt == "webm":
            options = {"crf": "18", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"}
            stream = self.container.add_stream("libvpx-vp9", rate=frame_rate, options=options)
            stream.pix_fmt = "yuva420p"
        elif fmt == "prores":
            stream = self.container.add_stream("prores_ks", rate=frame_rate, options={"profile": "4444"})
            stream.pix_fmt = "yuva444p10le"
        else:
            options = {"crf": "10" if fmt == "mask" else "16", "preset": "fast"}
            stream = self.container.add_stream("libx264", rate=frame_rate, options=options)
            stream.pix_fmt = "yuv420p"
        stream.width, stream.height = self.width + self.pad[0], self.height + self.pad[1]
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        return stream

    def add_audio(self, packet: Any, index: int) -> None:
        if index in self.audio_transcode:
            self.audio_transcode[index].add(packet)
            return
        stream = self.audio_out.get(index)
        if stream is None:
            return
        packet.stream = stream
        self.container.mux(packet)

    def _frame(self, rgb: np.ndarray, alpha: np.ndarray) -> Any:
        av = import_av()
        if self.fmt == "mask":
            image = np.repeat(alpha[..., None], 3, axis=-1)
        elif self.fmt == "greenscreen":
            image = rgb
        else:
            image = np.concatenate([rgb, alpha[..., None]], axis=-1)
        if any(self.pad):
            image = np.pad(image, ((0, self.pad[1]), (0, self.pad[0]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(image, format="rgba" if image.shape[-1] == 4 else "rgb24")
        frame = frame.reformat(format=self.stream.pix_fmt)
        if self.fmt == "prores":
            _set_plane(frame.planes[3], _alpha_to_10_bit(alpha))
        return frame

    def write(self, rgb: np.ndarray, alpha: np.ndarray, pts: int) -> None:
        frame = self._frame(rgb, alpha)
        frame.pts = pts
        frame.time_base = self.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def _finish(self) -> None:
        try:
            for transcoder in self.audio_transcode.values():
                transcoder.flush()
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        finally:
            self.container.close()


class _AudioTranscoder:
    """Re-encodes one source audio stream for a container that cannot hold its codec (AAC into WebM -> Opus).

    Has its own decoder (the packets are shared with other writers), resamples to what the encoder takes.
    """

    def __init__(self, container: Any, source: Any, encoder: str) -> None:
        av = import_av()
        self.container = container
        self.decoder = av.CodecContext.create(source.codec_context.name, "r")
        if source.codec_context.extradata:
            self.decoder.extradata = source.codec_context.extradata
        rate = 48000 if encoder == "libopus" else (source.codec_context.sample_rate or 48000)
        layout = "stereo" if source.codec_context.channels > 1 else "mono"
        self.stream = container.add_stream(encoder, rate=rate)
        self.stream.layout = layout
        sample_format = self.stream.codec_context.codec.audio_formats[0].name
        self.stream.format = sample_format
        self.resampler = av.AudioResampler(format=sample_format, layout=layout, rate=rate)

    def _encode(self, frames: Any) -> None:
        for frame in frames:
            for resampled in self.resampler.resample(frame):
                for packet in self.stream.encode(resampled):
                    self.container.mux(packet)

    def add(self, packet: Any) -> None:
        self._encode(self.decoder.decode(packet))

    def flush(self) -> None:
        self._encode(self.decoder.decode(None))
        for resampled in self.resampler.resample(None):
            for packet in self.stream.encode(resampled):
                self.container.mux(packet)
        for packet in self.stream.encode(None):
            self.container.mux(packet)


def _alpha_to_10_bit(alpha: np.ndarray) -> np.ndarray:
    """8-bit alpha to 10 bits by bit replication (255 -> 1023; ``>> 2`` gives the 8 bits back)."""
    a = alpha.astype(np.uint16)
    return (a << 2) | (a >> 6)


def _set_plane(plane: Any, values: np.ndarray) -> None:
    """Write ``values`` (uint16 ``[H, W]``) into a 16-bit-per-sample frame plane, honouring its row stride."""
    rows, cols = values.shape
    buffer = np.frombuffer(plane, dtype=np.uint16).reshape(-1, plane.line_size // 2)
    buffer[:rows, :cols] = values


def open_writer(fmt: str, final: Path, **kwargs: Any) -> Writer:
    """The writer of ``fmt`` targeting ``final`` (see ContainerWriter for the keyword arguments)."""
    check_format(fmt)
    if fmt == "png":
        return PngSequenceWriter(final, **kwargs)
    return ContainerWriter(final, fmt, **kwargs)
