"""The Composite and Remove background nodes' work in ComfyUI's conventions: an IMAGE out, and the MASK as
ComfyUI's alpha mask ``1 - alpha`` (as Load Image gives it)."""

from __future__ import annotations

from typing import Any

import torch

from ..birefnet import composite


def comfy_mask_from_alpha(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha (1 = opaque) to ComfyUI's alpha-mask convention ``1 - alpha`` (1 = transparent), as LoadImage.

    The result plugs into JoinImageWithAlpha (which writes ``alpha = 1 - mask``) and marks the background
    as the area to repaint for VAEEncodeForInpaint / SetLatentNoiseMask.
    """
    return 1.0 - alpha.float()


def cut_out(image: torch.Tensor, alpha: torch.Tensor, **settings: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(IMAGE, ComfyUI alpha MASK ``1 - alpha``): ``birefnet.composite`` with the same arguments and defaults
    (``background``, ``color``, ``fix_edge_colors``, ``fit``, ``background_image``)."""
    out, used_alpha = composite(image, alpha, **settings)
    return out, comfy_mask_from_alpha(used_alpha).contiguous()
