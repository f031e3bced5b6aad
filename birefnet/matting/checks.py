"""Input checks shared by the matting functions: masks ``[B, H, W]`` and images ``[B, H, W, C]``."""

from __future__ import annotations

import torch

from ..errors import BiRefNetError


def check_mask(mask: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """Return ``mask`` as float32 ``[B, H, W]``; raise BiRefNetError for any other shape."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 3:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise BiRefNetError(f"{name} must be a tensor [B, H, W] with values in 0..1, got {shape}.")
    return mask.float()


def check_image(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Return the RGB of ``image`` ``[B, H, W, C]`` (C = 1, 3 or 4) as float32 ``[B, H, W, 3]``."""
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[-1] not in (1, 3, 4):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise BiRefNetError(f"{name} must be a tensor [B, H, W, C] with C = 1, 3 or 4, got {shape}.")
    rgb = image[..., :3] if image.shape[-1] >= 3 else image.expand(-1, -1, -1, 3)
    return rgb.float()
