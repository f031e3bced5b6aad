"""Widget inputs that more than one node shows, defined once so that their ranges, defaults and tooltips cannot
drift apart (the model-input size widgets have their own owner, ``resolution_inputs.py``, and so have the
detail-tile widgets, ``detail_inputs.py``).

Ranges are the widest any node had, so every saved workflow still validates. Who shows what:

- Refine mask, Video matting: ``grow_input``, ``feather_input``, ``temporal_radius_input``.
- Segment, Video matting: ``batch_size_input``.
- Composite, Video matting: ``fix_edge_colors_input``, ``background_color_input``.
- Load model, Remove background: ``model_choice_input``, ``allow_download_input``.
- Segment, Remove background, Video matting, Crop to subject: ``margin_input``.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import DEFAULT_MARGIN
from .comfy_compat import color_input, input_kwargs
from .model_files import DOWNLOAD_FOLDER, model_choices

MAX_GROW = 512
MAX_FEATHER = 256.0
MAX_TEMPORAL_RADIUS = 32
DEFAULT_BATCH_SIZE = 4
DEFAULT_BACKGROUND_COLOR = "#00ff00"
MAX_MARGIN = 4096
MARGIN_WIDGET = "margin"
"""The margin widget's name (web/names.js GUIDE_WIDGETS.MARGIN)."""


def grow_input() -> io.Int.Input:
    return io.Int.Input(
        "grow",
        default=0,
        min=-MAX_GROW,
        max=MAX_GROW,
        tooltip="pixels to grow (positive) or shrink (negative)",
    )


def feather_input() -> io.Float.Input:
    return io.Float.Input(
        "feather",
        default=0.0,
        min=0.0,
        max=MAX_FEATHER,
        step=0.1,
        tooltip="Gaussian blur sigma in pixels; 0 = off",
    )


def temporal_radius_input() -> io.Int.Input:
    return io.Int.Input(
        "temporal_radius",
        default=0,
        min=0,
        max=MAX_TEMPORAL_RADIUS,
        tooltip="average each mask with this many frames on each side (video: less flicker); 0 = off",
        **input_kwargs(advanced=True),
    )


def batch_size_input() -> io.Int.Input:
    return io.Int.Input(
        "batch_size",
        default=DEFAULT_BATCH_SIZE,
        min=1,
        max=256,
        tooltip="frames per forward pass; lower it if the GPU runs out of memory",
        **input_kwargs(advanced=True),
    )


def fix_edge_colors_input() -> io.Boolean.Input:
    return io.Boolean.Input(
        "fix_edge_colors",
        default=True,
        tooltip="estimate foreground colours at soft edges (blur fusion), so no halo of the old background remains",
    )


def background_color_input(tooltip: str):
    """The background colour (picker or text, see ``comfy_compat.color_input``); ``tooltip``: when it is used."""
    return color_input("color", default=DEFAULT_BACKGROUND_COLOR, tooltip=tooltip)


def margin_input(tooltip: str) -> io.Int.Input:
    """Pixels added around a box, region or subject (default ``DEFAULT_MARGIN``); ``tooltip``: around what.
    Optional, so API prompts written before a node had it run with the default."""
    return io.Int.Input(
        MARGIN_WIDGET, default=DEFAULT_MARGIN, min=0, max=MAX_MARGIN, optional=True, tooltip=tooltip
    )


def model_choice_input(preferred: str | None = None) -> io.Combo.Input:
    """The model list (local files, then variant names); the default is ``preferred`` where it is listed, else
    the first entry."""
    choices = model_choices()
    return io.Combo.Input(
        "model",
        options=choices,
        default=preferred if preferred in choices else choices[0],
        tooltip="A local checkpoint file, or a released variant name (downloaded if allowed).",
    )


def allow_download_input() -> io.Boolean.Input:
    return io.Boolean.Input(
        "allow_download",
        default=False,
        tooltip=f"Download a variant that is not on disk from Hugging Face into models/{DOWNLOAD_FOLDER}.",
    )
