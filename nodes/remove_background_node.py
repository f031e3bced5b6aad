"""Remove background: load + segment + composite with sensible defaults, for a first workflow."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import DEFAULT_MARGIN, DEFAULT_TILE_OVERLAP
from .comfy_compat import SEARCH_ALIASES, schema_kwargs
from .comfy_types import CATEGORY
from .cutout import cut_out
from .detail_inputs import DEFAULT_DETAIL_LONG_SIDE, detail_argument, detail_inputs
from .guided_inputs import guided_inputs, guided_prompts
from .model_handle import BiRefNetHandle, load_handle, segment
from .options import check_segment_image
from .previews import cutout_preview
from .shared_inputs import DEFAULT_BATCH_SIZE, allow_download_input, model_choice_input

# The last model this node loaded, reused while its settings stay the same.
_last_model: dict[tuple[str, bool], BiRefNetHandle] = {}


def _model(choice: str, allow_download: bool, node_id: str | None) -> BiRefNetHandle:
    key = (choice, allow_download)
    if key not in _last_model:
        _last_model.clear()
        _last_model[key] = load_handle(choice, "auto", "auto", "auto", allow_download, node_id=node_id)
    return _last_model[key]


class BiRefNetRemoveBackground(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactRemoveBackground",
            display_name="Remove background (BiRefNet)",
            category=CATEGORY,
            **schema_kwargs(search_aliases=SEARCH_ALIASES),
            description=(
                "One node for the common case: segments the image with BiRefNet at its native resolution and "
                "returns an RGBA IMAGE (Save Image writes a transparent PNG) with clean edge colours, and the "
                "foreground MASK (1 = foreground). For control use Load BiRefNet model, BiRefNet segment, "
                "Refine mask and Composite. Optional box, points or region choose the object, as in BiRefNet "
                "segment."
            ),
            inputs=[
                io.Image.Input("image"),
                model_choice_input(preferred="BiRefNet"),
                allow_download_input(),
                *detail_inputs(),
                *guided_inputs(),
            ],
            outputs=[io.Image.Output(display_name="image"), io.Mask.Output(display_name="mask")],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def execute(
        cls,
        image,
        model: str,
        allow_download: bool,
        detail: str = "off",
        detail_long_side: int = DEFAULT_DETAIL_LONG_SIDE,
        tile_overlap: int = DEFAULT_TILE_OVERLAP,
        region=None,
        margin: int = DEFAULT_MARGIN,
        box: str = "",
        points: str = "",
    ) -> io.NodeOutput:
        check_segment_image(image)
        handle = _model(model, allow_download, cls.hidden.unique_id)
        mask = segment(
            handle,
            image,
            None,
            batch_size=DEFAULT_BATCH_SIZE,
            detail=detail_argument(detail, detail_long_side),
            tile_overlap=tile_overlap,
            prompts=guided_prompts(image, region, box, points),
            margin=margin,
        )
        rgba, _ = cut_out(image, mask, background="transparent", fix_edge_colors=True)
        return io.NodeOutput(rgba, mask, ui=cutout_preview(image, rgba))
