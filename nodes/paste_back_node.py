"""Paste back: edited crops (from Crop to subject) put back into the original images at their boxes."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import paste_back
from .comfy_compat import SEARCH_ALIASES, schema_kwargs
from .comfy_types import CATEGORY, BiRefNetBoxes


class BiRefNetPasteBack(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactPasteBack",
            display_name="Paste back (BiRefNet)",
            category=CATEGORY,
            **schema_kwargs(search_aliases=[*SEARCH_ALIASES, "paste", "stitch", "uncrop"]),
            description=(
                "Puts crops back into the images they came from: each patch is resized to its box (from Crop "
                "to subject; an unchanged crop restores the image exactly) and pasted, blended by 'mask' when "
                "given (1 = the patch, 0 = the image), so only the edited subject changes."
            ),
            inputs=[
                io.Image.Input("image", tooltip="the original images (Crop to subject's input)"),
                io.Image.Input(
                    "patch", tooltip="the edited crops (e.g. Stable Diffusion's output at any size)"
                ),
                BiRefNetBoxes.Input("boxes", tooltip="Crop to subject's boxes"),
                io.Mask.Input(
                    "mask",
                    optional=True,
                    tooltip="blend weights at the crop: 1 = take the patch, 0 = keep the image (e.g. Crop to "
                    "subject's mask); not connected: the whole patch",
                ),
            ],
            outputs=[io.Image.Output(display_name="image")],
        )

    @classmethod
    def execute(cls, image, patch, boxes, mask=None) -> io.NodeOutput:
        return io.NodeOutput(paste_back(image, patch, boxes, masks=mask))
