"""BiRefNet video matting: a VIDEO of any length streamed through BiRefNet into a file in the output folder.

Frames are decoded from the VIDEO's stream source one chunk at a time (never all at once), segmented, refined,
and encoded as they go, so memory does not grow with the video's length (see birefnet.video). Stop takes effect
between chunks: the part written so far is finished as a shorter, playable ``..._interrupted`` file.
"""

from __future__ import annotations

import comfy.model_management as mm
import folder_paths
import torch
from comfy_api.latest import InputImpl, io, ui

from ..birefnet import DEFAULT_MARGIN, FORMATS, BiRefNetError, matte_video, output_path, parse_color
from .comfy_compat import SEARCH_ALIASES, schema_kwargs
from .comfy_types import CATEGORY, BiRefNetModel
from .guided_inputs import REGION_INPUT
from .model_handle import BiRefNetHandle, make_ready, progress_callback
from .options import resolution_argument
from .resolution_inputs import resolution_inputs
from .shared_inputs import (
    background_color_input,
    batch_size_input,
    feather_input,
    fix_edge_colors_input,
    grow_input,
    margin_input,
    temporal_radius_input,
)

PREVIEW_FORMAT = "greenscreen"
"""A PNG sequence is no VIDEO: for it the node also writes a green-screen preview MP4 and returns that."""


def _output_paths(prefix: str, fmt: str, width: int, height: int) -> tuple[dict[str, str], str]:
    """(format -> path, subfolder) for the next free counter of ``prefix`` in ComfyUI's output folder."""
    output_dir = folder_paths.get_output_directory()
    folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, output_dir, width, height)
    stem = f"{name}_{counter:05}_"
    paths = {fmt: str(output_path(folder, stem, fmt, tagged=False))}
    if fmt == "png":
        paths[PREVIEW_FORMAT] = str(output_path(folder, f"{stem}preview", PREVIEW_FORMAT, tagged=False))
    return paths, subfolder


def first_region(region: torch.Tensor) -> torch.Tensor:
    """The first-frame region ``[H, W]`` of a MASK ``[B, H, W]`` (its first mask) or ``[H, W]``."""
    return region if region.dim() == 2 else region[0]


class BiRefNetVideoMatting(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactVideoMatting",
            display_name="BiRefNet video matting",
            category=CATEGORY,
            is_output_node=True,
            **schema_kwargs(search_aliases=[*SEARCH_ALIASES, "video matting", "green screen"]),
            description=(
                "Mattes a video of any length frame by frame with flat memory: the frames stream from the "
                "VIDEO's file through BiRefNet into the output folder (webm / prores with alpha, a PNG sequence, "
                "a green screen MP4 or the mask as video). Returns the result as VIDEO (for png: a green-screen "
                "preview) and its path. Timestamps and audio are kept. Stop keeps the part done as "
                "'..._interrupted'. For short clips you edit frame by frame use Load Video -> Get Video "
                "Components -> BiRefNet segment instead."
            ),
            inputs=[
                BiRefNetModel.Input("model"),
                io.Video.Input("video"),
                io.Combo.Input(
                    "format",
                    options=list(FORMATS),
                    default="webm",
                    tooltip="webm: VP9 with alpha (browsers, small); prores: ProRes 4444 with alpha (.mov, editors, "
                    "exact alpha); png: RGBA PNG sequence (folder); greenscreen: H.264 over the colour below; "
                    "mask: the mask as grey H.264 video",
                ),
                io.String.Input("filename_prefix", default="birefnet/video"),
                *resolution_inputs(),
                batch_size_input(),
                temporal_radius_input(),
                grow_input(),
                feather_input(),
                background_color_input("greenscreen background"),
                fix_edge_colors_input(),
                io.Float.Input("start", default=0.0, min=0.0, max=1e7, step=0.1, tooltip="start (seconds)"),
                io.Float.Input(
                    "duration",
                    default=0.0,
                    min=0.0,
                    max=1e7,
                    step=0.1,
                    tooltip="seconds to process; 0 = to the end",
                ),
                io.Mask.Input(
                    REGION_INPUT,
                    optional=True,
                    tooltip="rough mask of the object in the first frame processed (1 = object; the first mask "
                    "of a batch): only it is matted, and followed from frame to frame while it moves less than "
                    "'margin' pixels per frame; a lost object stays out until the region is given again",
                ),
                margin_input(
                    "with a region: pixels the previous frame's mask is grown by to find the object"
                ),
            ],
            outputs=[io.Video.Output(display_name="video"), io.String.Output(display_name="path")],
        )

    @classmethod
    def execute(
        cls,
        model: BiRefNetHandle,
        video,
        format: str,
        filename_prefix: str,
        resolution: str,
        width: int,
        height: int,
        dynamic_long_side: int,
        batch_size: int,
        temporal_radius: int,
        grow: int,
        feather: float,
        color: str,
        fix_edge_colors: bool,
        start: float,
        duration: float,
        region=None,
        margin: int = DEFAULT_MARGIN,
    ) -> io.NodeOutput:
        if format not in FORMATS:
            raise BiRefNetError(f"format {format!r} is unknown; use one of {', '.join(FORMATS)}.")
        background = parse_color(color)
        source = video.get_stream_source()  # a path or an in-memory file: never all frames decoded at once
        video_width, video_height = video.get_dimensions()
        resolution_value = resolution_argument(resolution, width, height)
        make_ready(model, resolution_value, (video_height, video_width), batch_size, dynamic_long_side)
        paths, subfolder = _output_paths(filename_prefix, format, video_width, video_height)
        result = matte_video(
            model.model,
            source,
            paths,
            resolution=resolution_value,
            batch_size=batch_size,
            dtype=model.compute_dtype,
            dynamic_long_side=dynamic_long_side,
            refine={"grow_pixels": grow, "feather_sigma": feather, "temporal_radius": temporal_radius},
            color=background,
            fix_edge_colors=fix_edge_colors,
            start=start,
            duration=duration if duration > 0 else None,
            progress=progress_callback(1, stop=False),  # Stop: between_chunks below
            between_chunks=mm.throw_exception_if_processing_interrupted,
            finish_on=(mm.InterruptProcessingException, KeyboardInterrupt),
            region=None if region is None else first_region(region),
            margin=margin,
        )
        main_path = str(result.paths[format])
        playable = result.paths[PREVIEW_FORMAT if format == "png" else format]
        preview = ui.PreviewVideo([ui.SavedResult(playable.name, subfolder, io.FolderType.output)])
        return io.NodeOutput(InputImpl.VideoFromFile(str(playable)), main_path, ui=preview)
