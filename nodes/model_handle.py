"""A loaded BiRefNet handed to ComfyUI's model management, and running it on a batch.

The network is wrapped in ``comfy.model_patcher.ModelPatcher`` with a load device (where it computes) and
an offload device (where it waits). ``comfy.model_management.load_models_gpu`` moves it to the load device
before each use, unloading other models if memory is short, and ComfyUI offloads it again when another
model needs the memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import torch

from ..birefnet import compile_model, load_model
from ..birefnet.errors import BiRefNetError
from ..birefnet.predict import model_input_size, predict
from ..birefnet.registry import Variant
from .comfy_compat import resolve_gpu_device
from .model_files import resolve_checkpoint
from .options import activation_bytes, choose_precision, patch_order_argument

log = logging.getLogger(__name__)


@dataclass
class BiRefNetHandle:
    """What flows along a BIREFNET_MODEL link."""

    patcher: comfy.model_patcher.ModelPatcher
    compute_dtype: torch.dtype
    name: str
    variant: Variant | None

    @property
    def model(self) -> torch.nn.Module:
        return self.patcher.model


def pick_devices(device: str) -> tuple[torch.device, torch.device]:
    """(load device, offload device) for the node's device setting: auto / cpu / gpu / gpu:N (ComfyUI's
    ``get_gpu_device_options``, where it has it)."""
    if device == "cpu":
        cpu = torch.device("cpu")
        return cpu, cpu
    load_device = mm.get_torch_device()
    if device == "gpu" and load_device.type == "cpu":
        raise BiRefNetError(
            "device 'gpu' was chosen but ComfyUI runs on the CPU (no GPU found, or --cpu was given). "
            "Choose 'auto' or 'cpu'."
        )
    if device.startswith("gpu:"):
        chosen = resolve_gpu_device(device)
        if chosen is None:
            raise BiRefNetError(
                f"device {device!r} is not one ComfyUI offers now (it lists the GPUs it was started with, "
                "e.g. --cuda-device 0,1). Choose auto, gpu or one of the listed gpu:N."
            )
        return chosen, torch.device("cpu") if chosen.type == "cpu" else mm.unet_offload_device()
    if device not in ("auto", "gpu"):
        raise BiRefNetError(f"device {device!r} is unknown; use auto, cpu, gpu or a listed gpu:N.")
    offload_device = torch.device("cpu") if load_device.type == "cpu" else mm.unet_offload_device()
    return load_device, offload_device


def load_handle(
    choice: str,
    device: str,
    precision: str,
    patch_order: str,
    allow_download: bool,
    compile: bool = False,
) -> BiRefNetHandle:
    """Resolve (and maybe download) the checkpoint, load it (``compile``: with torch.compile) and wrap it for
    ComfyUI's model management."""
    path, variant = resolve_checkpoint(choice, allow_download)
    load_device, offload_device = pick_devices(device)
    weight_dtype, compute_dtype = choose_precision(
        precision,
        load_device,
        fp16_ok=mm.should_use_fp16(load_device),
        bf16_ok=mm.should_use_bf16(load_device),
    )
    order = patch_order_argument(patch_order, variant.patch_order if variant is not None else None)
    model = load_model(path, patch_order=order, device=offload_device, dtype=weight_dtype)
    if compile:
        compile_model(model)
    log.info(
        "BiRefNet: loaded %s (%s, weights %s, compute %s%s)",
        path,
        model.backbone_name,
        weight_dtype,
        compute_dtype,
        ", compiled on first use" if compile else "",
    )
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)
    return BiRefNetHandle(patcher=patcher, compute_dtype=compute_dtype, name=path.name, variant=variant)


def _ensure_on_load_device(handle: BiRefNetHandle, memory_required: int) -> None:
    """Ask ComfyUI to make the model resident on its load device (fully: BiRefNet has no low-VRAM mode)."""
    mm.load_models_gpu([handle.patcher], memory_required=memory_required, force_full_load=True)
    load_device = handle.patcher.load_device
    stray = [p for p in handle.model.parameters() if p.device != load_device]
    if stray:  # a partial offload left weights behind; BiRefNet's plain layers need them all in one place
        handle.model.to(load_device)


def segment(
    handle: BiRefNetHandle,
    image: torch.Tensor,
    resolution: int | tuple[int, int] | str | None,
    batch_size: int,
    dynamic_long_side: int = 1024,
) -> torch.Tensor:
    """MASK ``[B, H, W]`` (1 = foreground, on the CPU) of a ComfyUI IMAGE ``[B, H, W, C]``.

    Chunks of ``batch_size`` frames; a ComfyUI progress bar; Stop (interrupt) is honoured between chunks.
    """
    width, height = model_input_size(
        resolution, handle.model, (image.shape[1], image.shape[2]), dynamic_long_side
    )
    chunk = min(batch_size, image.shape[0])
    _ensure_on_load_device(handle, activation_bytes(width, height, chunk, handle.compute_dtype))
    progress_bar = comfy.utils.ProgressBar(image.shape[0])

    def on_progress(done: int, total: int) -> None:
        progress_bar.update_absolute(done, total)
        mm.throw_exception_if_processing_interrupted()

    return predict(
        handle.model,
        image,
        resolution,
        batch_size=batch_size,
        dtype=handle.compute_dtype,
        progress=on_progress,
        dynamic_long_side=dynamic_long_side,
    )
