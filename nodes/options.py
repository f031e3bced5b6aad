"""Node option handling that needs no ComfyUI: option lists, resolution settings, memory estimates.

Kept apart from the node classes so it can be unit tested without a ComfyUI install.
"""

from __future__ import annotations

import torch

from ..birefnet import PATCH_ORDERS as MODEL_PATCH_ORDERS
from ..birefnet import BiRefNetError

DEVICES = ("auto", "cpu", "gpu")
PATCH_ORDERS = ("auto", *MODEL_PATCH_ORDERS)
RESOLUTION_MODES = ("native", "custom", "dynamic")
MIN_IMAGE_SIDE = 16
"""Smallest image side (pixels) the segment node accepts; smaller images hold no usable object."""

# Rough activation memory of one image at 1024x1024 in half precision (Swin-L BiRefNet measures ~2.3 GiB);
# used only to ask ComfyUI to free that much before running.
_BYTES_PER_MEGAPIXEL_HALF = 2.5 * 1024**3


def patch_order_argument(patch_order: str, variant_patch_order: str | None) -> str | None:
    """The ``patch_order`` for ``birefnet.load_model``: "auto" -> the variant's (None lets the loader decide)."""
    if patch_order == "auto":
        return variant_patch_order
    if patch_order not in PATCH_ORDERS:
        raise BiRefNetError(f"patch order {patch_order!r} is unknown; use one of {', '.join(PATCH_ORDERS)}.")
    return patch_order


def resolution_argument(mode: str, width: int, height: int) -> int | tuple[int, int] | str | None:
    """The ``resolution`` for ``birefnet.predict``: native -> None, custom -> (width, height), "dynamic"."""
    if mode == "native":
        return None
    if mode == "custom":
        return (int(width), int(height))
    if mode == "dynamic":
        return "dynamic"
    raise BiRefNetError(f"resolution {mode!r} is unknown; use one of {', '.join(RESOLUTION_MODES)}.")


def check_segment_image(image: torch.Tensor) -> None:
    """Raise BiRefNetError unless ``image`` is a ComfyUI IMAGE ``[B, H, W, C]`` with sides >= MIN_IMAGE_SIDE."""
    if not isinstance(image, torch.Tensor) or image.dim() != 4:
        shape = list(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise BiRefNetError(f"Expected an IMAGE [batch, height, width, channels], got {shape}.")
    height, width = image.shape[1], image.shape[2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise BiRefNetError(
            f"The image is {width}x{height} pixels (width x height): too small to segment. "
            f"Give an image at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels."
        )


def activation_bytes(width: int, height: int, batch_size: int, compute_dtype: torch.dtype) -> int:
    """Estimated working memory (bytes) of one forward pass of ``batch_size`` images at width x height."""
    per_image = _BYTES_PER_MEGAPIXEL_HALF * (width * height) / (1024 * 1024)
    if compute_dtype == torch.float32:
        per_image *= 2
    return int(per_image * batch_size)
