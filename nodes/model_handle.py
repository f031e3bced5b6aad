"""A loaded BiRefNet handed to ComfyUI's model management, and running it on a batch.

The network is wrapped in ``comfy.model_patcher.ModelPatcher`` with a load device (where it computes) and
an offload device (where it waits). ``comfy.model_management.load_models_gpu`` moves it to the load device
before each use, unloading other models if memory is short, and ComfyUI offloads it again when another
model needs the memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import torch

from ..birefnet import (
    DEFAULT_MARGIN,
    DEFAULT_TILE_OVERLAP,
    DYNAMIC_MAX_SIDE,
    DYNAMIC_MIN_SIDE,
    BiRefNetError,
    DownloadProgress,
    Prompt,
    Resolution,
    Variant,
    choose_precision,
    compile_model,
    dtype_name,
    find_variant,
    load_model,
    model_input_size,
    predict,
    predict_detailed,
    predict_guided,
)
from .comfy_compat import resolve_gpu_device
from .model_files import resolve_checkpoint
from .options import activation_bytes, patch_order_argument
from .routes import DOWNLOAD_EVENT, send_to_ui

log = logging.getLogger(__name__)


@dataclass
class BiRefNetHandle:
    """What flows along a BIREFNET_MODEL link."""

    patcher: comfy.model_patcher.ModelPatcher
    compute_dtype: torch.dtype
    name: str
    variant: Variant | None
    summary: str = ""
    """One line for the loader node: backbone, native resolution, patch order, device, precision."""

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


DOWNLOAD_EVENT_INTERVAL_S = 0.25


def download_reporter(choice: str, node_id: str | None) -> DownloadProgress:
    """Show a variant download in the node: its progress bar in bytes, and a websocket event with what is
    being downloaded (web/birefnet_exact.js writes it on the node). Stop raises from here, between chunks."""
    variant = find_variant(choice)
    bar: comfy.utils.ProgressBar | None = None
    last_sent = 0.0

    def report(received: int, total: int | None) -> None:
        nonlocal bar, last_sent
        size = total or max(received, 1)
        if bar is None:
            bar = comfy.utils.ProgressBar(size, node_id=node_id)
        bar.update_absolute(min(received, size), size)
        mm.throw_exception_if_processing_interrupted()
        now = time.monotonic()
        if received == 0 or received == total or now - last_sent >= DOWNLOAD_EVENT_INTERVAL_S:
            last_sent = now
            send_to_ui(
                DOWNLOAD_EVENT,
                {
                    "node": node_id,
                    "name": variant.name if variant else choice,
                    "repo_id": variant.repo_id if variant else None,
                    "received": received,
                    "total": total,
                },
            )

    return report


def describe_loaded(
    model: torch.nn.Module, device: torch.device, weights: torch.dtype, compute: torch.dtype
) -> str:
    """The loader's info line, e.g. "swin_v1_t · native 1024x1024 · patch order legacy · cpu · fp32"."""
    variant = getattr(model, "variant", None)
    if variant is None:
        native = "native 1024x1024 (unknown file)"
    elif variant.resolution is None:
        native = f"dynamic {DYNAMIC_MIN_SIDE}..{DYNAMIC_MAX_SIDE}"
    else:
        native = "native {}x{}".format(*variant.resolution)
    precision = dtype_name(weights)
    if compute != weights:
        precision = f"{precision} weights, {dtype_name(compute)} autocast"
    return f"{model.backbone_name} · {native} · patch order {model.patch_order} · {device} · {precision}"


def load_handle(
    choice: str,
    device: str,
    precision: str,
    patch_order: str,
    allow_download: bool,
    compile: bool = False,
    node_id: str | None = None,
) -> BiRefNetHandle:
    """Resolve (and maybe download) the checkpoint, load it (``compile``: with torch.compile) and wrap it for
    ComfyUI's model management. ``node_id``: the node whose progress bar shows a download."""
    path, variant = resolve_checkpoint(choice, allow_download, download_reporter(choice, node_id))
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
    summary = describe_loaded(model, load_device, weight_dtype, compute_dtype)
    if compile:
        summary += " · compiled"
    return BiRefNetHandle(
        patcher=patcher, compute_dtype=compute_dtype, name=path.name, variant=variant, summary=summary
    )


def ensure_on_load_device(handle: BiRefNetHandle, memory_required: int) -> None:
    """Ask ComfyUI to make the model resident on its load device (fully: BiRefNet has no low-VRAM mode)."""
    mm.load_models_gpu([handle.patcher], memory_required=memory_required, force_full_load=True)
    load_device = handle.patcher.load_device
    stray = [p for p in handle.model.parameters() if p.device != load_device]
    if stray:  # a partial offload left weights behind; BiRefNet's plain layers need them all in one place
        handle.model.to(load_device)


def make_ready(
    handle: BiRefNetHandle,
    resolution: Resolution,
    image_hw: tuple[int, int],
    batch_size: int,
    dynamic_long_side: int,
) -> None:
    """Before a run: the model input size for images of ``image_hw`` (height, width), ComfyUI asked to free
    the working memory of ``batch_size`` images at that size, and the model moved to its load device."""
    width, height = model_input_size(resolution, handle.model, image_hw, dynamic_long_side)
    ensure_on_load_device(handle, activation_bytes(width, height, batch_size, handle.compute_dtype))


def progress_callback(total: int, stop: bool = True) -> Callable[[int, int | None], None]:
    """``progress(done, total)`` for the library's long runs: the node's ComfyUI progress bar, and with
    ``stop`` ComfyUI's Stop raised from it (between chunks)."""
    progress_bar = comfy.utils.ProgressBar(total)

    def on_progress(done: int, total: int | None) -> None:
        progress_bar.update_absolute(done, max(total or 0, done))
        if stop:
            mm.throw_exception_if_processing_interrupted()

    return on_progress


def segment(
    handle: BiRefNetHandle,
    image: torch.Tensor,
    resolution: Resolution,
    batch_size: int,
    dynamic_long_side: int = 1024,
    detail: int | str | None = None,
    tile_overlap: int = DEFAULT_TILE_OVERLAP,
    prompts: list[Prompt] | None = None,
    margin: int = DEFAULT_MARGIN,
) -> torch.Tensor:
    """MASK ``[B, H, W]`` (1 = foreground, on the CPU) of a ComfyUI IMAGE ``[B, H, W, C]``.

    Chunks of ``batch_size`` frames; a ComfyUI progress bar; Stop (interrupt) is honoured between chunks.
    ``detail`` (None: off): ``birefnet.predict_detailed`` with tiles of ``tile_overlap``; the bar counts the
    images' coarse passes and then the tiles, and Stop works between tiles.
    ``prompts`` (None: the whole image): one ``birefnet.Prompt`` per image, ``birefnet.predict_guided`` with
    ``margin``; the bar counts the crops. Detail tiles and prompts together are refused (BiRefNetError).
    """
    if detail is not None and prompts is not None:
        raise BiRefNetError(
            "detail is on and a box, points or region is given: detail tiles refine the whole image, and a "
            "boxed object already gets the model's full input size. Set detail to off, or clear the box, "
            "points and region inputs."
        )
    make_ready(
        handle,
        resolution,
        (image.shape[1], image.shape[2]),
        min(batch_size, image.shape[0]),
        dynamic_long_side,
    )
    settings = {
        "batch_size": batch_size,
        "dtype": handle.compute_dtype,
        "progress": progress_callback(image.shape[0]),
        "dynamic_long_side": dynamic_long_side,
    }
    if prompts is not None:
        return predict_guided(handle.model, image, prompts, resolution, margin=margin, **settings)
    if detail is None:
        return predict(handle.model, image, resolution, **settings)
    return predict_detailed(handle.model, image, detail, resolution, tile_overlap=tile_overlap, **settings)
