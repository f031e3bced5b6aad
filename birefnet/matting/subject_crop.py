"""Crop to the subject and paste back: the box around a mask's subject (optionally of a fixed aspect ratio and
with sides a multiple of 8 / 64 for SD latents), the images and masks cut to it, and the edited crops put back.

Boxes are (x0, y0, x1, y1) pixels, x1 / y1 exclusive, like the guided-prediction boxes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..inference.prompts import Box


def subject_box(
    mask: torch.Tensor,
    *,
    threshold: float = 0.5,
    margin: int = 0,
    aspect: tuple[int, int] | None = None,
    multiple: int = 1,
) -> Box:
    """The box around the subject of `mask` (float ``[H, W]``, or ``[N, H, W]`` -> one box for the whole batch).

    The bounding box of mask > threshold, grown by `margin` pixels and clipped to the image; then, with `aspect`
    (W, H), grown to that aspect ratio; sides rounded to a multiple of `multiple`; centred on the subject and
    moved to lie inside the image. When the asked aspect cannot hold the subject inside the image, the box is
    the largest one of that aspect inside the image, centred on the subject. The aspect holds to within the
    rounding of a side to `multiple` (|w/h - W/H| <= multiple / min(w, h) relative). An empty mask gives the
    whole image (fitted to the aspect and multiple) and a warning.
    """
    raise NotImplementedError


def parse_aspect(text: str) -> tuple[int, int] | None:
    """``"16:9"`` -> (16, 9); ``""`` or ``"free"`` -> None. BiRefNetError for anything else."""
    raise NotImplementedError


def crop_to_subject(
    images: torch.Tensor,
    masks: torch.Tensor,
    *,
    threshold: float = 0.5,
    margin: int = 0,
    aspect: tuple[int, int] | None = None,
    multiple: int = 1,
    per_image: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, list[Box]]:
    """Images ``[N, H, W, C]`` and masks ``[N, H, W]`` (or ``[1, H, W]`` for all) cut to their subject's box.

    Returns (images ``[N, h, w, C]``, masks ``[N, h, w]``, one Box per image). per_image=True: a box per image
    (`subject_box` of its mask); crops of different sizes are resized (bilinear) to the size of the largest box
    so the batch stacks (`paste_back` resizes them back). per_image=False: one box, the union over the batch
    (video). Crops at their box's size are exact copies of the pixels.
    """
    raise NotImplementedError


def paste_back(
    images: torch.Tensor,
    patches: torch.Tensor,
    boxes: Sequence[Box],
    *,
    masks: torch.Tensor | None = None,
) -> torch.Tensor:
    """`images` ``[N, H, W, C]`` with each patch ``[N, h, w, C]`` resized to its box (bilinear; an exact copy when
    the sizes match) and pasted there; blended as image * (1 - m) + patch * m by `masks` ``[N, h, w]`` when given.

    boxes: one per patch, or one for all. Pasting an unchanged crop restores the image bit for bit.
    """
    raise NotImplementedError
