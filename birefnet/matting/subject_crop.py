"""Crop to the subject and paste back: the box around a mask's subject (optionally of a fixed aspect ratio and
with sides a multiple of 8 / 64 for SD latents), the images and masks cut to it, and the edited crops put back.

Boxes are (x0, y0, x1, y1) pixels, x1 / y1 exclusive, like the guided-prediction boxes.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..errors import BiRefNetError
from ..inference.prompts import Box, grow_box, region_box
from .checks import check_mask

_ASPECT = re.compile(r"\s*(\d+)\s*[:/]\s*(\d+)\s*")


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
    rounding of one side to `multiple` (|w - h * W / H| <= multiple or |h - w * H / W| <= multiple). An empty
    mask gives the whole image (fitted to the aspect and multiple) and a warning. BiRefNetError when `multiple`
    is larger than the image.
    """
    if not isinstance(mask, torch.Tensor) or mask.dim() not in (2, 3):
        shape = list(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise BiRefNetError(f"mask must be a tensor [H, W] or [N, H, W] with values in 0..1, got {shape}.")
    _check_whole("margin", margin, 0)
    _check_whole("multiple", multiple, 1)
    height, width = mask.shape[-2:]
    if multiple > min(height, width):
        raise BiRefNetError(
            f"multiple {multiple} is larger than the {width}x{height} image: lower it (8 or 64 for SD latents)."
        )
    subject = mask > threshold
    if subject.dim() == 3:
        subject = subject.any(dim=0)
    if bool(subject.any()):
        centre = region_box(subject.float())
        box = grow_box(centre, margin, height, width)
    else:
        warnings.warn(
            f"The mask has no pixel above {threshold:g}: cropping to the whole image. Check the mask input "
            f"(or lower the threshold).",
            stacklevel=2,
        )
        centre = box = (0, 0, width, height)
    w, h = _fitted_size(box[2] - box[0], box[3] - box[1], width, height, aspect, multiple)
    return _placed(centre, w, h, width, height)


def parse_aspect(text: str) -> tuple[int, int] | None:
    """``"16:9"`` -> (16, 9); ``""`` or ``"free"`` -> None. BiRefNetError for anything else."""
    if text.strip().lower() in ("", "free"):
        return None
    match = _ASPECT.fullmatch(text)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise BiRefNetError(
            f"Cannot read aspect ratio {text!r}: use W:H with whole numbers > 0 (e.g. 16:9), or free."
        )
    return int(match.group(1)), int(match.group(2))


def _check_whole(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise BiRefNetError(f"{name} must be a whole number >= {least}, got {value!r}.")


def _fitted_size(
    box_w: int, box_h: int, width: int, height: int, aspect: tuple[int, int] | None, multiple: int
) -> tuple[int, int]:
    """(w, h) of the crop: at least box_w x box_h, of the aspect, sides multiples of `multiple`, inside the image."""
    most_w, most_h = width // multiple * multiple, height // multiple * multiple
    if aspect is None:
        return min(_ceil_to(box_w, multiple), most_w), min(_ceil_to(box_h, multiple), most_h)
    ratio = _aspect_ratio(aspect)
    exact_h = max(box_h, box_w / ratio)
    exact_h = min(exact_h, width / ratio, height)  # the largest box of the aspect inside the image
    h = min(_ceil_to(exact_h, multiple), most_h)
    w = _round_to(h * ratio, multiple)
    if w < box_w <= h * ratio and w + multiple <= most_w:  # rounding w lost part of the subject
        w += multiple
    if w > most_w:
        w = most_w
        h = min(max(_round_to(w / ratio, multiple), multiple), most_h)
    return max(w, multiple), h


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
    images, masks = _matching_batches(images, masks)
    options = {"threshold": threshold, "margin": margin, "aspect": aspect, "multiple": multiple}
    if per_image:
        boxes = [subject_box(mask, **options) for mask in masks]
    else:
        boxes = [subject_box(masks, **options)] * images.shape[0]
    w, h = max(((x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes), key=lambda size: size[0] * size[1])
    image_crops = [
        _resized(image[y0:y1, x0:x1], (h, w)) for image, (x0, y0, x1, y1) in zip(images, boxes, strict=True)
    ]
    mask_crops = [
        _resized(mask[y0:y1, x0:x1, None], (h, w))[..., 0]
        for mask, (x0, y0, x1, y1) in zip(masks, boxes, strict=True)
    ]
    return torch.stack(image_crops), torch.stack(mask_crops), boxes


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
    for name, tensor in (("images", images), ("patches", patches)):
        if not isinstance(tensor, torch.Tensor) or tensor.dim() != 4:
            shape = list(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise BiRefNetError(f"{name} must be a batch [N, H, W, C], got {shape}.")
    count = max(images.shape[0], patches.shape[0])
    boxes = list(boxes)
    if (
        images.shape[0] not in (1, count)
        or patches.shape[0] not in (1, count)
        or len(boxes) not in (1, count)
    ):
        raise BiRefNetError(
            f"{images.shape[0]} images, {patches.shape[0]} patches and {len(boxes)} boxes: give the same number "
            f"of each (or one to use for all)."
        )
    if images.shape[-1] != patches.shape[-1]:
        raise BiRefNetError(
            f"The patches have {patches.shape[-1]} channels but the images {images.shape[-1]}: paste RGB on RGB."
        )
    if masks is not None:
        masks = check_mask(masks, "masks")
        if masks.shape[0] not in (1, count):
            raise BiRefNetError(
                f"{masks.shape[0]} masks for {count} patches: give one mask per patch (or one)."
            )
    height, width = images.shape[1:3]
    out = images.expand(count, -1, -1, -1).clone()
    for i in range(count):
        x0, y0, x1, y1 = boxes[i if len(boxes) == count else 0]
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise BiRefNetError(
                f"Box {x0},{y0},{x1},{y1} is not inside the {width}x{height} image: paste back onto the image "
                f"it was cropped from."
            )
        patch = _resized(patches[i if patches.shape[0] == count else 0], (y1 - y0, x1 - x0)).to(out.dtype)
        if masks is not None:
            mask = _resized(masks[i if masks.shape[0] == count else 0, :, :, None], (y1 - y0, x1 - x0))
            patch = torch.lerp(out[i, y0:y1, x0:x1].float(), patch.float(), mask.clamp(0, 1)).to(out.dtype)
        out[i, y0:y1, x0:x1] = patch
    return out


def _resized(picture: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """`picture` ``[h, w, C]`` at `size` = (height, width): itself when the size matches, else bilinear
    (antialiased when shrinking)."""
    if tuple(picture.shape[:2]) == tuple(size):
        return picture
    shrink = size[0] < picture.shape[0] or size[1] < picture.shape[1]
    chw = picture.permute(2, 0, 1)[None].float()
    resized = F.interpolate(chw, size=size, mode="bilinear", align_corners=False, antialias=shrink)
    return resized[0].permute(1, 2, 0).to(picture.dtype)


def _matching_batches(images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise BiRefNetError(f"images must be a batch [N, H, W, C], got {shape}.")
    masks = check_mask(masks, "masks")
    if masks.shape[1:] != images.shape[1:3]:
        raise BiRefNetError(
            f"The mask is {masks.shape[2]}x{masks.shape[1]} but the image is {images.shape[2]}x{images.shape[1]}: "
            f"give the mask of this image (width x height)."
        )
    if masks.shape[0] not in (1, images.shape[0]):
        raise BiRefNetError(
            f"{masks.shape[0]} masks for {images.shape[0]} images: give one mask per image (or one)."
        )
    return images, masks.expand(images.shape[0], -1, -1)


def _aspect_ratio(aspect: tuple[int, int]) -> float:
    if len(aspect) != 2 or min(aspect) <= 0:
        raise BiRefNetError(f"aspect must be (width, height) with whole numbers > 0, got {aspect!r}.")
    return aspect[0] / aspect[1]


def _ceil_to(value: float, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple - 1e-9) * multiple)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, math.floor(value / multiple + 0.5) * multiple)


def _placed(box: Box, w: int, h: int, width: int, height: int) -> Box:
    """A w x h box centred on `box` (the subject's), moved to lie inside the `width` x `height` image."""
    x0 = min(max(math.floor((box[0] + box[2] - w) / 2), 0), width - w)
    y0 = min(max(math.floor((box[1] + box[3] - h) / 2), 0), height - h)
    return x0, y0, x0 + w, y0 + h
