"""BiRefNet segment node: IMAGE -> MASK (1 = foreground)."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import DEFAULT_MARGIN, DEFAULT_TILE_OVERLAP
from .comfy_compat import SEARCH_ALIASES, schema_kwargs
from .comfy_types import CATEGORY, BiRefNetModel
from .detail_inputs import DEFAULT_DETAIL_LONG_SIDE, detail_argument, detail_inputs
from .guided_inputs import guided_inputs, guided_prompts
from .model_handle import segment
from .options import check_segment_image, resolution_argument
from .previews import mask_preview
from .resolution_inputs import resolution_inputs
from .shared_inputs import batch_size_input


class BiRefNetSegment(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactSegment",
            display_name="BiRefNet segment",
            category=CATEGORY,
            **schema_kwargs(search_aliases=SEARCH_ALIASES),
            description=(
                "Foreground mask of every image of a batch (1 = foreground, 0 = background), at the image's "
                "own size. Long batches (video frames) run in chunks of 'batch_size' with flat memory; Stop "
                "takes effect between chunks. Optional box, points or region (a rough mask, e.g. from SAM) choose "
                "the object: only its box grown by 'margin' is segmented, at the model's full input size, and the "
                "mask is 0 outside it; left empty, the whole image."
            ),
            inputs=[
                BiRefNetModel.Input("model"),
                io.Image.Input("image"),
                *resolution_inputs(),
                batch_size_input(),
                *detail_inputs(),
                *guided_inputs(),
            ],
            outputs=[io.Mask.Output(display_name="mask")],
        )

    @classmethod
    def execute(
        cls,
        model,
        image,
        resolution: str,
        width: int,
        height: int,
        dynamic_long_side: int,
        batch_size: int,
        detail: str = "off",
        detail_long_side: int = DEFAULT_DETAIL_LONG_SIDE,
        tile_overlap: int = DEFAULT_TILE_OVERLAP,
        region=None,
        margin: int = DEFAULT_MARGIN,
        box: str = "",
        points: str = "",
    ) -> io.NodeOutput:
        check_segment_image(image)
        mask = segment(
            model,
            image,
            resolution_argument(resolution, width, height),
            batch_size,
            dynamic_long_side,
            detail=detail_argument(detail, detail_long_side),
            tile_overlap=tile_overlap,
            prompts=guided_prompts(image, region, box, points),
            margin=margin,
        )
        return io.NodeOutput(mask, ui=mask_preview(mask, image))
