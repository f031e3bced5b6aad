"""Mask refinement: plain tensor functions on masks ``[B, H, W]`` float in 0..1 (1 = foreground).

Every function returns a new float32 tensor of the same shape on the same device and never changes its input.
``refine_mask`` chains them in a fixed, documented order; the ComfyUI "Refine mask" node and the CLI call it.
"""

from __future__ import annotations

import math

import kornia
import torch

from ..errors import BiRefNetError
from .checks import check_mask
from .temporal import smooth_temporal

# Largest square kernel side kornia's morphology gets in one call: bigger grows are split into several calls,
# so memory stays small (kornia 0.7's "unfold" engine holds one value per kernel cell and pixel).
_MAX_MORPHOLOGY_STEP = 8


def threshold_mask(mask: torch.Tensor, threshold: float) -> torch.Tensor:
    """Binarise: 1 where ``mask >= threshold``, else 0. ``threshold`` in (0, 1]."""
    mask = check_mask(mask)
    if not 0.0 < threshold <= 1.0:
        raise BiRefNetError(f"threshold must be in (0, 1], got {threshold}.")
    return (mask >= threshold).float()


def apply_levels(mask: torch.Tensor, black_point: float = 0.0, white_point: float = 1.0) -> torch.Tensor:
    """Linear levels: values <= ``black_point`` become 0, >= ``white_point`` become 1, linear in between."""
    mask = check_mask(mask)
    if not 0.0 <= black_point < white_point <= 1.0:
        raise BiRefNetError(
            f"levels need 0 <= black_point < white_point <= 1, got black_point={black_point}, "
            f"white_point={white_point}."
        )
    return ((mask - black_point) / (white_point - black_point)).clamp(0.0, 1.0)


def grow_mask(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """Grey-level dilation (``pixels > 0``) or erosion (``pixels < 0``) by a square of side ``2*|pixels|+1``.

    Each output pixel is the max (grow) or min (shrink) of the input over the square centred on it; pixels
    outside the image are ignored. Uses ``kornia.morphology`` in separable row/column steps of at most
    ``_MAX_MORPHOLOGY_STEP`` pixels, so memory does not grow with ``pixels``.
    """
    mask = check_mask(mask)
    if pixels == 0:
        return mask.clone()
    operation = kornia.morphology.dilation if pixels > 0 else kornia.morphology.erosion
    out = mask.unsqueeze(1)
    remaining = abs(int(pixels))
    while remaining > 0:
        step = min(remaining, _MAX_MORPHOLOGY_STEP)
        size = 2 * step + 1
        row_kernel = torch.ones(1, size, device=mask.device, dtype=out.dtype)
        column_kernel = torch.ones(size, 1, device=mask.device, dtype=out.dtype)
        out = operation(operation(out, row_kernel), column_kernel)
        remaining -= step
    return out.squeeze(1)


def _reach_along_rows(background: torch.Tensor, reached: torch.Tensor) -> torch.Tensor:
    """Spread ``reached`` to every background pixel of the same horizontal background run.

    background, reached: bool ``[N, H, W]``. A run is a maximal sequence of background pixels in one row.
    """
    n, h, w = background.shape
    # Run id within a row: the count of non-background pixels so far. Pixels of one run share it.
    run_id = torch.cumsum((~background).to(torch.int64), dim=2)
    row_base = torch.arange(n * h, device=background.device).view(n, h, 1) * (w + 1)
    flat_id = (row_base + run_id).flatten()
    run_reached = torch.zeros(n * h * (w + 1), dtype=torch.uint8, device=background.device)
    run_reached.scatter_reduce_(0, flat_id, reached.flatten().to(torch.uint8), reduce="amax")
    return background & run_reached[flat_id].view(n, h, w).bool()


def fill_holes(mask: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Set to 1 every hole: a background region (``mask < threshold``) not 4-connected to the image border.

    Exact flood fill from the border, computed by alternating whole-run propagation along rows and columns
    until nothing changes (a few passes for ordinary masks). Foreground and border-connected background keep
    their values.
    """
    mask = check_mask(mask)
    background = mask < threshold
    border = torch.zeros_like(background)
    border[:, 0, :] = border[:, -1, :] = True
    border[:, :, 0] = border[:, :, -1] = True
    reached = background & border
    while True:
        previous = reached
        reached = _reach_along_rows(background, reached)
        reached = _reach_along_rows(background.transpose(1, 2), reached.transpose(1, 2)).transpose(1, 2)
        if torch.equal(reached, previous):
            break
    holes = background & ~reached
    return torch.where(holes, torch.ones_like(mask), mask)


def feather_mask(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with standard deviation ``sigma`` pixels (kernel ``2*ceil(3*sigma)+1``, replicated border)."""
    mask = check_mask(mask)
    if sigma <= 0:
        return mask.clone()
    size = 2 * math.ceil(3.0 * sigma) + 1
    out = kornia.filters.gaussian_blur2d(
        mask.unsqueeze(1), (size, size), (sigma, sigma), border_type="replicate"
    )
    return out.squeeze(1).clamp(0.0, 1.0)


def guided_filter_mask(
    mask: torch.Tensor, image: torch.Tensor, radius: int, eps: float = 1e-3
) -> torch.Tensor:
    """Edge-aware refinement: guided filter (He et al.) of ``mask`` with the image as guide (kornia).

    mask: ``[B, H, W]``; image: ``[B, H, W, C]`` (ComfyUI IMAGE, C = 1, 3 or 4; alpha ignored) in 0..1.
    ``radius`` gives the window ``2*radius+1``; ``eps`` is the regulariser (smaller keeps more image edges).
    """
    mask = check_mask(mask)
    if radius <= 0:
        return mask.clone()
    guide = _image_to_nchw(image, mask, "guided filter")
    if guide.shape[1] == 4:
        guide = guide[:, :3]
    out = kornia.filters.guided_blur(
        guide, mask.unsqueeze(1), 2 * int(radius) + 1, float(eps), border_type="replicate"
    )
    return out.squeeze(1).clamp(0.0, 1.0)


def invert_mask(mask: torch.Tensor) -> torch.Tensor:
    """``1 - mask``."""
    return 1.0 - check_mask(mask)


def _image_to_nchw(image: torch.Tensor, mask: torch.Tensor, what: str) -> torch.Tensor:
    """ComfyUI IMAGE ``[B, H, W, C]`` to float ``[B, C, H, W]``, checked against ``mask`` ``[B, H, W]``."""
    if not isinstance(image, torch.Tensor) or image.dim() != 4:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise BiRefNetError(f"{what}: image must be a tensor [B, H, W, C], got {shape}.")
    if image.shape[1:3] != mask.shape[1:3]:
        raise BiRefNetError(
            f"{what}: image is {image.shape[2]}x{image.shape[1]} but mask is {mask.shape[2]}x{mask.shape[1]} "
            "(width x height); give both the same size."
        )
    if image.shape[0] not in (1, mask.shape[0]):
        raise BiRefNetError(
            f"{what}: image batch has {image.shape[0]} frames but mask batch has {mask.shape[0]}; "
            "give the same number of frames (or a single image)."
        )
    guide = image.to(device=mask.device, dtype=torch.float32).movedim(-1, 1)
    return guide.expand(mask.shape[0], -1, -1, -1)


def refine_mask(
    mask: torch.Tensor,
    image: torch.Tensor | None = None,
    *,
    black_point: float = 0.0,
    white_point: float = 1.0,
    threshold: float = 0.0,
    fill_holes_enabled: bool = False,
    grow_pixels: int = 0,
    guided_radius: int = 0,
    guided_eps: float = 1e-3,
    feather_sigma: float = 0.0,
    temporal_radius: int = 0,
    invert: bool = False,
) -> torch.Tensor:
    """Apply the refinement steps in this order; each is skipped at its neutral value.

    1. levels (``black_point``, ``white_point``; neutral 0 and 1)  2. threshold (neutral 0 = off)
    3. fill holes  4. grow (>0) / shrink (<0) by ``grow_pixels``  5. guided filter with ``image`` as guide
    (``guided_radius`` > 0, needs ``image``)  6. Gaussian feather ``feather_sigma``  7. temporal smoothing over
    ``temporal_radius`` frames each side  8. invert.

    mask: ``[B, H, W]`` 0..1; image: optional ``[B or 1, H, W, C]`` 0..1. Returns float32 ``[B, H, W]`` 0..1.
    """
    out = check_mask(mask)
    if black_point != 0.0 or white_point != 1.0:
        out = apply_levels(out, black_point, white_point)
    if threshold > 0.0:
        out = threshold_mask(out, threshold)
    if fill_holes_enabled:
        out = fill_holes(out)
    if grow_pixels != 0:
        out = grow_mask(out, grow_pixels)
    if guided_radius > 0:
        if image is None:
            raise BiRefNetError(
                "guided filter needs the image as guide: connect an image or set guided radius 0."
            )
        out = guided_filter_mask(out, image, guided_radius, guided_eps)
    if feather_sigma > 0.0:
        out = feather_mask(out, feather_sigma)
    if temporal_radius > 0:
        out = smooth_temporal(out, temporal_radius)
    if invert:
        out = invert_mask(out)
    return out
