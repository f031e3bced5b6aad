"""Load BiRefNet model node."""

from __future__ import annotations

from comfy_api.latest import io

from ..birefnet import PRECISIONS
from .comfy_compat import SEARCH_ALIASES, gpu_device_options, input_kwargs, schema_kwargs
from .comfy_types import CATEGORY, BiRefNetModel
from .model_handle import load_handle
from .options import DEVICES, PATCH_ORDERS
from .shared_inputs import allow_download_input, model_choice_input

INFO_KEY = "birefnet_info"
"""UI payload key of the loader's info line (web/birefnet_exact.js shows it in the node)."""


class LoadBiRefNetModel(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BiRefNetExactLoadModel",
            display_name="Load BiRefNet model",
            category=CATEGORY,
            **schema_kwargs(search_aliases=SEARCH_ALIASES),
            description=(
                "Loads a BiRefNet checkpoint: a file from models/birefnet, models/BiRefNet or "
                "models/background_removal (and their extra_model_paths.yaml entries), or a released variant "
                "by name, downloaded into models/birefnet when 'allow_download' is on. The model is managed "
                "by ComfyUI: moved to the GPU when used, offloaded when memory is needed."
            ),
            inputs=[
                model_choice_input(),
                io.Combo.Input(
                    "device",
                    options=list(DEVICES) + gpu_device_options(),
                    default="auto",
                    tooltip="auto: ComfyUI's device; cpu: always the CPU; gpu: ComfyUI's GPU (error if none); "
                    "gpu:N (ComfyUI started with several devices): that GPU.",
                ),
                io.Combo.Input(
                    "precision",
                    options=list(PRECISIONS),
                    default="auto",
                    tooltip="auto: fp32 weights with fp16 (else bf16) autocast on GPUs that support it, fp32 on "
                    "CPU. fp16/bf16: weights stored in that precision (half the memory). On a CPU, bf16 needs "
                    "AVX512-BF16 or AMX and fp16 AVX512-FP16 or AMX-FP16 (refused where they would be emulated).",
                ),
                io.Combo.Input(
                    "patch_order",
                    options=list(PATCH_ORDERS),
                    default="auto",
                    tooltip="auto: as released (from the variant list; 'current' for unknown files). "
                    "Override only for a file you know was trained with the other order.",
                    **input_kwargs(advanced=True),
                ),
                allow_download_input(),
                io.Boolean.Input(
                    "compile",
                    default=False,
                    optional=True,  # API-format prompts written before this option still run
                    tooltip="torch.compile the model: faster runs after a slow first run at each resolution and "
                    "batch size (a minute or more). Falls back to uncompiled if compiling fails.",
                    **input_kwargs(advanced=True),
                ),
            ],
            outputs=[BiRefNetModel.Output(display_name="model")],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def execute(
        cls,
        model: str,
        device: str,
        precision: str,
        patch_order: str,
        allow_download: bool,
        compile: bool = False,
    ) -> io.NodeOutput:
        handle = load_handle(
            model, device, precision, patch_order, allow_download, compile, node_id=cls.hidden.unique_id
        )
        return io.NodeOutput(handle, ui={INFO_KEY: [handle.summary]})
