"""Crop to subject: an image batch and its mask cropped to the subject's box (for Stable Diffusion at a latent-
friendly size), with the boxes for Paste back or core's Image Composite Masked."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import DEFAULT_MARGIN, crop_to_subject, parse_aspect
from .comfy_compat import SEARCH_ALIASES, schema_kwargs
from .comfy_types import CATEGORY, BiRefNetBoxes
from .shared_inputs import margin_input

MULTIPLE_DEFAULT = 8
"""Side multiple of the crop by default: SD latents are 1/8 of the image (64 for models that want it)."""
MAX_MULTIPLE = 512


class BiRefNetCropToSubject(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactCropToSubject",
            display_name="Crop to subject (BiRefNet)",
            category=CATEGORY,
            **schema_kwargs(search_aliases=[*SEARCH_ALIASES, "crop", "bounding box", "inpaint crop"]),
            description=(
                "Crops images and their mask to the subject: the bounding box of mask > threshold grown by "
                "'margin', widened to the aspect ratio and to a multiple of 'multiple' pixels (8 or 64 for "
                "Stable Diffusion latents), kept inside the image (an aspect that cannot hold the subject gives "
                "the largest box of that aspect centred on it; an empty mask the whole image). Returns the "
                "crops, their masks and the boxes: Paste back (BiRefNet) puts an edited crop back, or core's "
                "Image Composite Masked with x, y (the first box)."
            ),
            inputs=[
                io.Image.Input("image"),
                io.Mask.Input("mask", tooltip="the subject: 1 = foreground (e.g. from BiRefNet segment)"),
                io.Float.Input(
                    "threshold",
                    default=0.5,
                    min=0.0,
                    max=1.0,
                    step=0.01,
                    tooltip="mask values above this are the subject",
                ),
                io.String.Input(
                    "aspect",
                    default="free",
                    tooltip="aspect ratio of the crop as W:H (e.g. 1:1, 3:4, 16:9); free: the subject's own",
                ),
                io.Int.Input(
                    "multiple",
                    default=MULTIPLE_DEFAULT,
                    min=1,
                    max=MAX_MULTIPLE,
                    tooltip="crop width and height are multiples of this (8: SD latents; 64 for some models; "
                    "1: any size)",
                ),
                io.Boolean.Input(
                    "per_image",
                    default=True,
                    tooltip="on: a box per image (crops resized to the largest so the batch stacks); off: one "
                    "box around the subject of every image (video: a steady crop)",
                ),
                margin_input("pixels added around the subject's bounding box"),
            ],
            outputs=[
                io.Image.Output(display_name="image"),
                io.Mask.Output(display_name="mask"),
                BiRefNetBoxes.Output(display_name="boxes"),
                io.Int.Output(display_name="x"),
                io.Int.Output(display_name="y"),
                io.Int.Output(display_name="width"),
                io.Int.Output(display_name="height"),
            ],
        )

    @classmethod
    def execute(
        cls,
        image,
        mask,
        threshold: float,
        aspect: str,
        multiple: int,
        per_image: bool,
        margin: int = DEFAULT_MARGIN,
    ) -> io.NodeOutput:
        crops, crop_masks, boxes = crop_to_subject(
            image,
            mask,
            threshold=threshold,
            margin=margin,
            aspect=parse_aspect(aspect),
            multiple=multiple,
            per_image=per_image,
        )
        x0, y0, x1, y1 = boxes[0]
        return io.NodeOutput(crops, crop_masks, boxes, x0, y0, x1 - x0, y1 - y0)
