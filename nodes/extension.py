"""The ComfyExtension listing the pack's nodes (V3 schema API); `comfy_entrypoint` is re-exported by the top-level __init__.py."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .composite_node import BiRefNetComposite
from .crop_to_subject_node import BiRefNetCropToSubject
from .load_model_node import LoadBiRefNetModel
from .model_files import register_model_folders
from .paste_back_node import BiRefNetPasteBack
from .refine_node import BiRefNetRefineMask
from .remove_background_node import BiRefNetRemoveBackground
from .routes import register_routes
from .segment_node import BiRefNetSegment
from .video_matting_node import BiRefNetVideoMatting

NODE_CLASSES: list[type[io.ComfyNode]] = [
    LoadBiRefNetModel,
    BiRefNetSegment,
    BiRefNetRefineMask,
    BiRefNetComposite,
    BiRefNetRemoveBackground,
    BiRefNetVideoMatting,
    BiRefNetCropToSubject,
    BiRefNetPasteBack,
]


class BiRefNetExtension(ComfyExtension):
    async def on_load(self) -> None:
        """Register the model folders (ComfyUI >= 0.38 calls this before listing the nodes; 0.3.75 defines
        ``on_load`` but never calls it, so nodes/model_files.py also registers them on first use)."""
        register_model_folders()

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODE_CLASSES)


async def comfy_entrypoint() -> BiRefNetExtension:
    register_routes()  # before ComfyUI builds its route table
    return BiRefNetExtension()
