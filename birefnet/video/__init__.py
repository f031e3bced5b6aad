"""Video matting of any length: decode with PyAV frame by frame, segment in chunks, refine, encode as it goes.

Memory is bounded by one chunk of frames plus the temporal smoothing window, never by the video's length.
One job per file: ``decode`` (reading frames and audio packets), ``writers`` (the output formats), ``pipeline``
(``matte_video``, tying them together with ``matting.temporal``'s streaming smoother), ``tracking`` (one object
followed from a first-frame region).
"""

from .decode import VideoReader
from .pipeline import MatteResult, matte_video
from .writers import FORMATS, check_encoder, output_path

__all__ = [
    "FORMATS",
    "MatteResult",
    "VideoReader",
    "check_encoder",
    "matte_video",
    "output_path",
]
