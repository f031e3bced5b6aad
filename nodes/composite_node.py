"""Composite node: image + mask -> RGBA, or over a colour or a background image."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import BACKGROUNDS, FIT_MODES
from .comfy_compat import SEARCH_ALIASES, schema_kwargs
from .comfy_types import CATEGORY
from .cutout import cut_out
from .previews import cutout_preview
from .shared_inputs import background_color_input, fix_edge_colors_input


class BiRefNetComposite(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactComposite",
            display_name="Composite (BiRefNet)",
            category=CATEGORY,
            **schema_kwargs(search_aliases=SEARCH_ALIASES),
            description=(
                "Cuts out the foreground. 'mask' is alpha: 1 = keep (the output of BiRefNet segment / Refine "
                "mask; a MASK from Load Image is 1 - alpha, invert it first). transparent gives an RGBA "
                "IMAGE (4 channels; Save Image writes a PNG with alpha); color / image put the cut-out over a "
                "colour or a background image (resized to fit). 'fix_edge_colors' estimates the true "
                "foreground colours at soft edges (blur fusion) so no halo of the old background remains. "
                "The MASK output follows ComfyUI's alpha convention, mask = 1 - alpha (as Load Image): it "
                "plugs into Join Image with Alpha, and into VAE Encode (for Inpainting) / Set Latent Noise "
                "Mask to repaint the background."
            ),
            inputs=[
                io.Image.Input("image"),
                io.Mask.Input("mask", tooltip="alpha: 1 = foreground (e.g. from BiRefNet segment)"),
                io.Combo.Input("background", options=list(BACKGROUNDS), default="transparent"),
                background_color_input("for background 'color'"),
                fix_edge_colors_input(),
                io.Combo.Input(
                    "fit",
                    options=list(FIT_MODES),
                    default="cover",
                    tooltip="background image: cover = fill and crop, contain = fit inside, stretch = ignore aspect",
                ),
                io.Image.Input("background_image", optional=True),
            ],
            outputs=[
                io.Image.Output(display_name="image"),
                io.Mask.Output(
                    display_name="mask (1 - alpha)", tooltip="ComfyUI convention: 1 = transparent"
                ),
            ],
        )

    @classmethod
    def execute(
        cls, image, mask, background: str, color: str, fix_edge_colors: bool, fit: str, background_image=None
    ) -> io.NodeOutput:
        out, comfy_mask = cut_out(
            image,
            mask,
            background=background,
            color=color,
            fix_edge_colors=fix_edge_colors,
            fit=fit,
            background_image=background_image,
        )
        return io.NodeOutput(out, comfy_mask, ui=cutout_preview(image, out))
