"""The resizes around the network: an image down to the model input, a mask back up to the image.

Both are bilinear with align_corners=False, antialiased when shrinking (`F.interpolate(..., antialias=True)`).
They run in strips of rows, so neither a float copy of a whole image nor a full-size temporary of a mask
exists: memory is one strip of STRIP_PIXELS pixels plus a small intermediate. A bilinear resize is
separable, and a width-only resize of a strip of rows equals those rows of the whole width-only resize; so
an image is resized width first (strip by strip) then height, a mask height first (it is small) then width
(strip by strip). The results equal the one-pass `F.interpolate` within float rounding (tested to 1e-6).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

STRIP_PIXELS = 1 << 22
"""Pixels per strip of rows (a float32 RGB strip is 48 MiB): few enough strips that per-call overhead stays small."""

RowReader = Callable[[int, int], torch.Tensor]


def strip_rows(width: int) -> int:
    """Rows per strip of an image or mask `width` pixels wide (at least 1)."""
    return max(1, STRIP_PIXELS // max(1, width))


def resize_image(read_rows: RowReader, image_hw: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """The image resized to `size` = (height, width): float32 `[1, C, height, width]`, bilinear, antialiased.

    read_rows(top, bottom): rows top..bottom-1 of the image as float32 `[1, C, bottom - top, W]` (any layout,
        any device); `image_hw` = (H, W). The width is resized one strip of rows at a time into a
        `[1, C, H, width]` intermediate, then its height; the result equals
        `F.interpolate(image, size, mode="bilinear", align_corners=False, antialias=True)`.
    """
    height, _ = image_hw
    out_height, out_width = size
    step = strip_rows(image_hw[1])
    narrow = None
    for top in range(0, height, step):
        bottom = min(top + step, height)
        strip = _bilinear(read_rows(top, bottom), (bottom - top, out_width), antialias=True)
        if narrow is None:
            narrow = strip.new_empty((1, strip.shape[1], height, out_width))
        narrow[:, :, top:bottom] = strip
    assert narrow is not None  # height > 0: the image source refuses empty images
    return _bilinear(narrow, size, antialias=True)


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """`mask` `[1, 1, h, w]` (0..1, any device) resized to `size` = (height, width): float32 `[height, width]`
    in 0..1 on the CPU. Bilinear; antialiased only when shrinking (it matters only then)."""
    return resize_mask_into(mask, torch.empty(size, dtype=torch.float32))


def resize_mask_into(mask: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Write `mask` `[1, 1, h, w]` (0..1, any device) resized to the size of `out` (float32 `[H, W]`, CPU) into
    `out` and return it: as `resize_mask`, without a full-size temporary.

    The height is resized first (a `[H, w]` intermediate, w the small mask's width), then the width one strip
    of rows at a time, straight into `out`.
    """
    height, width = out.shape
    antialias = height < mask.shape[-2] or width < mask.shape[-1]
    tall = _bilinear(mask, (height, mask.shape[-1]), antialias)
    step = strip_rows(width)
    for top in range(0, height, step):
        bottom = min(top + step, height)
        out[top:bottom] = _bilinear(tall[:, :, top:bottom], (bottom - top, width), antialias)[0, 0].clamp_(
            0.0, 1.0
        )
    return out


def _bilinear(x: torch.Tensor, size: tuple[int, int], antialias: bool) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=antialias)
