"""`predict_guided`: the mask of the chosen object(s) of each image: crop -> predict -> paste -> component filter.

Per image the objects are its Prompt's boxes (one object each); else its region (one object, its bounding box);
else its positive points (one object, their bounding box); negative points alone act on the whole image. Each
object's box is grown by `margin` pixels, clipped to the image, and that crop runs through `predict_crops` at
`model_input_size(resolution, model, crop size)`: a small object gets the model's whole input, "dynamic" keeps
the crop's aspect, and with margin 0 the mask inside a box is exactly `predict(model, image[box])`. Each
object's crop mask is filtered by `components.filter_components` (the region, and the points inside that crop:
positive points act only on the crops that hold them), pasted into a zero mask, and objects are combined with
max: outside every grown box the mask is exactly 0. An empty Prompt gives `predict`'s result.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import BiRefNetError
from .components import crop_choice, filter_components
from .crops import predict_crops
from .predict import ProgressCallback, _ImageSource, check_batch_size, predict
from .prompts import (
    DEFAULT_MARGIN,
    Box,
    Point,
    Prompt,
    check_prompt,
    grow_box,
    points_box,
    region_box,
)
from .sizes import DEFAULT_DYNAMIC_LONG_SIDE, Resolution, model_input_size


@dataclass(frozen=True)
class _Plan:
    """One image's checked prompt: the crops (grown object boxes) to predict and what filters them."""

    crops: tuple[Box, ...]
    region: torch.Tensor | None
    positive: tuple[Point, ...]
    negative: tuple[Point, ...]


def predict_guided(
    model: nn.Module,
    images: Any,
    prompts: Prompt | Sequence[Prompt],
    resolution: Resolution = None,
    *,
    margin: int = DEFAULT_MARGIN,
    batch_size: int = 4,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    progress: ProgressCallback | None = None,
    dynamic_long_side: int = DEFAULT_DYNAMIC_LONG_SIDE,
) -> torch.Tensor:
    """Masks of the objects `prompts` choose: float32 `[N, H, W]` in 0..1 on the CPU, one per image.

    images, resolution, batch_size, device, dtype, dynamic_long_side: as for `birefnet.predict`.
    prompts: one Prompt for every image, or a sequence of N (one per image). An empty Prompt gives exactly
        `predict`'s mask for that image.
    margin: pixels (>= 0) each object's box is grown by before cropping (clipped to the image).
    progress: called as progress(done, total) with done/total counting forward-pass inputs (crops, and whole
        images for empty prompts).
    Boxes partly outside the image are clipped; a box wholly outside it or with x1 <= x0 / y1 <= y0, a region of
    another size than the image or an empty region, a point outside the image: BiRefNetError naming it. A point
    that falls in no component of the mask: a warning naming it, and the point is ignored.
    """
    check_batch_size(batch_size)
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise BiRefNetError(f"margin must be a whole number of pixels >= 0, got {margin!r}.")
    source = _ImageSource(images)
    plans = [
        _plan(prompt, margin, source.height, source.width) for prompt in _per_image(prompts, source.count)
    ]
    run = {"batch_size": batch_size, "device": device, "dtype": dtype}
    whole = [i for i, plan in enumerate(plans) if plan is None]
    if len(whole) == source.count:
        return predict(
            model, images, resolution, progress=progress, dynamic_long_side=dynamic_long_side, **run
        )
    total = len(whole) + sum(len(plan.crops) for plan in plans if plan is not None)
    report = (lambda done, _: None) if progress is None else (lambda done, _: progress(done, total))
    out = torch.zeros((source.count, source.height, source.width), dtype=torch.float32)
    if whole:
        subset = source.data[whole]
        out[whole] = predict(
            model, subset, resolution, progress=report, dynamic_long_side=dynamic_long_side, **run
        )
    done = len(whole)
    for index, plan in enumerate(plans):
        if plan is None:
            continue
        sizes = [
            model_input_size(resolution, model, (y1 - y0, x1 - x0), dynamic_long_side)
            for x0, y0, x1, y1 in plan.crops
        ]
        hit: set[Point] = set()
        for size in dict.fromkeys(sizes):  # crops of one input size share forward passes
            group = [crop for crop, crop_size in zip(plan.crops, sizes, strict=True) if crop_size == size]
            edges = [(y0, x0, y1, x1) for x0, y0, x1, y1 in group]
            for j, mask in predict_crops(model, source, edges, size, index=index, **run):
                x0, y0, x1, y1 = group[j]
                choice = crop_choice(group[j], plan.region, plan.positive, plan.negative)
                filtered, crop_hit = filter_components(mask, choice)
                hit |= {(x + x0, y + y0) for x, y in crop_hit}
                pasted = out[index, y0:y1, x0:x1]
                pasted.copy_(torch.maximum(pasted, filtered))
                done += 1
                report(done, total)
        _warn_unused_points(index, plan, hit)
    return out


def _warn_unused_points(index: int, plan: _Plan, hit: set[Point]) -> None:
    for x, y in (*plan.positive, *plan.negative):
        if (x, y) not in hit:
            warnings.warn(
                f"Point {x},{y} of image {index} falls on no object of the mask (no pixel above 0.5 there), so "
                f"it is ignored: put the point on the object (or on the part to remove).",
                stacklevel=3,
            )


def _per_image(prompts: Prompt | Sequence[Prompt], count: int) -> list[Prompt]:
    if isinstance(prompts, Prompt):
        return [prompts] * count
    prompts = list(prompts)
    if len(prompts) != count or not all(isinstance(prompt, Prompt) for prompt in prompts):
        raise BiRefNetError(
            f"Give one Prompt for all images or one per image: got {len(prompts)} prompts for {count} images."
        )
    return prompts


def _plan(prompt: Prompt, margin: int, height: int, width: int) -> _Plan | None:
    """The checked crops of `prompt` for a `width` x `height` image; None for an empty prompt (whole image)."""
    if prompt.is_empty():
        return None
    checked = check_prompt(prompt, height, width)
    boxes, region, positive, negative = checked.boxes, checked.region, checked.points, checked.negative_points
    if boxes:
        objects = boxes
    elif region is not None:
        objects = (region_box(region),)
    elif positive:
        objects = (points_box(positive),)
    else:  # negative points only: the whole image, their components removed
        objects = ((0, 0, width, height),)
    crops = tuple(dict.fromkeys(grow_box(box, margin, height, width) for box in objects))
    return _Plan(crops, region, positive, negative)
