"""Refine mask node: levels, threshold, fill holes, grow/shrink, guided filter, feather, temporal, invert."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import refine_mask
from .comfy_compat import SEARCH_ALIASES, input_kwargs, schema_kwargs
from .comfy_types import CATEGORY
from .previews import mask_preview
from .shared_inputs import feather_input, grow_input, temporal_radius_input


class BiRefNetRefineMask(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactRefineMask",
            display_name="Refine mask (BiRefNet)",
            category=CATEGORY,
            **schema_kwargs(search_aliases=SEARCH_ALIASES),
            description=(
                "Cleans up a mask [B,H,W] (1 = foreground). Steps run in this order, each off at its neutral "
                "value: levels (black/white point), threshold, fill holes, grow (+) / shrink (-), guided "
                "filter with the image as guide (edge-aware), Gaussian feather, temporal smoothing across "
                "the frames of a batch (video), invert."
            ),
            inputs=[
                io.Mask.Input("mask"),
                io.Float.Input(
                    "black_point", default=0.0, min=0.0, max=1.0, step=0.01, tooltip="levels: -> 0"
                ),
                io.Float.Input(
                    "white_point", default=1.0, min=0.0, max=1.0, step=0.01, tooltip="levels: -> 1"
                ),
                io.Float.Input(
                    "threshold",
                    default=0.0,
                    min=0.0,
                    max=1.0,
                    step=0.01,
                    tooltip="binarise at this value; 0 = off",
                ),
                io.Boolean.Input(
                    "fill_holes", default=False, tooltip="fill background regions enclosed by the mask"
                ),
                grow_input(),
                io.Int.Input(
                    "guided_radius",
                    default=0,
                    min=0,
                    max=128,
                    tooltip="guided filter window radius in pixels (needs 'image'); 0 = off",
                ),
                io.Float.Input(
                    "guided_eps",
                    default=0.001,
                    min=0.000001,
                    max=1.0,
                    step=0.0001,
                    round=0.000001,
                    tooltip="guided filter regulariser: smaller follows image edges more closely",
                    **input_kwargs(advanced=True),
                ),
                feather_input(),
                temporal_radius_input(),
                io.Boolean.Input("invert", default=False),
                io.Image.Input("image", optional=True, tooltip="guide image for the guided filter"),
            ],
            outputs=[io.Mask.Output(display_name="mask")],
        )

    @classmethod
    def execute(
        cls,
        mask,
        black_point: float,
        white_point: float,
        threshold: float,
        fill_holes: bool,
        grow: int,
        guided_radius: int,
        guided_eps: float,
        feather: float,
        temporal_radius: int,
        invert: bool,
        image=None,
    ) -> io.NodeOutput:
        refined = refine_mask(
            mask,
            image,
            black_point=black_point,
            white_point=white_point,
            threshold=threshold,
            fill_holes_enabled=fill_holes,
            grow_pixels=grow,
            guided_radius=guided_radius,
            guided_eps=guided_eps,
            feather_sigma=feather,
            temporal_radius=temporal_radius,
            invert=invert,
        )
        return io.NodeOutput(refined, ui=mask_preview(refined, image))
