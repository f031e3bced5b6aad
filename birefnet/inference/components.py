"""Connected components of a mask and the filter that keeps the chosen object's: by a region, by points.

The cores are the 8-connected components of (mask > 0.5). A removed core is set to 0 together with its soft
fringe. The fringe of a core is its 8-connected component of (mask > 0.5 / 255), the pixels that are not 0 in
an 8-bit mask. When a region or positive points choose what stays, a pixel 0 < p <= 0.5 stays only when its
fringe component holds a kept core (soft areas with no core go too). With negative points alone, a soft pixel
goes only when its fringe component holds a removed core and no kept one. Labelling is `scipy.ndimage.label`
(ComfyUI requires scipy, so it costs its users nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from .prompts import REGION_THRESHOLD, Point

CORE_THRESHOLD = 0.5
"""Mask values above this are an object's core."""
FRINGE_THRESHOLD = 0.5 / 255
"""Mask values above this (not 0 in 8 bits) join a core's soft fringe."""
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def label_components(foreground: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected labels of bool `foreground` ``[h, w]``: (int32 labels, 0 = background, 1..count; count)."""
    labels, count = ndimage.label(foreground, structure=_EIGHT_CONNECTED)
    return labels.astype(np.int32, copy=False), int(count)


@dataclass(frozen=True)
class ComponentChoice:
    """What decides which components of one crop stay. Points are (x, y) in the crop's pixels.

    region: bool ``[h, w]`` or None: with it, only cores overlapping it stay (plus those holding a positive
    point). positive: when given, cores holding one stay (without a region: only those). negative: cores
    holding one go.
    """

    region: np.ndarray | None = None
    positive: tuple[Point, ...] = ()
    negative: tuple[Point, ...] = ()

    def filters(self) -> bool:
        """True when the choice can remove anything."""
        return self.region is not None or bool(self.positive) or bool(self.negative)


def filter_components(mask: torch.Tensor, choice: ComponentChoice) -> tuple[torch.Tensor, set[Point]]:
    """`mask` (float ``[h, w]``, 0..1) with the cores `choice` removes set to 0, with their soft fringe.

    Returns (filtered mask, the points of `choice` that fall in a core). A mask the choice cannot change is
    returned as it is.
    """
    if not choice.filters():
        return mask, set()
    values = mask.numpy()
    cores, count = label_components(values > CORE_THRESHOLD)
    hit = {point for point in (*choice.positive, *choice.negative) if cores[point[1], point[0]] > 0}
    chooses = choice.region is not None or bool(choice.positive)  # else only negative points remove
    keep = np.full(count + 1, not chooses)
    if choice.region is not None:
        keep[np.unique(cores[choice.region])] = True
    keep[[cores[y, x] for x, y in choice.positive]] = True
    keep[[cores[y, x] for x, y in choice.negative]] = False
    keep[0] = False
    fringes, fringe_count = label_components(values > FRINGE_THRESHOLD)
    kept_core = keep[cores]
    with_kept = _labels_holding(fringes, fringe_count, kept_core)
    if chooses:
        soft_stays = with_kept[fringes]
    else:  # soft pixels go only with a removed core (and not when a kept core shares their fringe)
        removed_core = (cores > 0) & ~kept_core
        soft_stays = with_kept[fringes] | ~_labels_holding(fringes, fringe_count, removed_core)[fringes]
    stays = kept_core | ((cores == 0) & soft_stays)
    return mask * torch.from_numpy(stays), hit


def _labels_holding(labels: np.ndarray, count: int, pixels: np.ndarray) -> np.ndarray:
    """bool ``[count + 1]``: which labels hold any of the bool `pixels` (label 0, the background, never)."""
    holding = np.zeros(count + 1, dtype=bool)
    holding[labels[pixels]] = True
    holding[0] = False
    return holding


def crop_choice(
    box: tuple[int, int, int, int],
    region: torch.Tensor | None,
    positive: Sequence[Point],
    negative: Sequence[Point],
) -> ComponentChoice:
    """The ComponentChoice for the crop `box` (x0, y0, x1, y1) of an image: the region cut to it (as > 0.5),
    and the points inside it moved to the crop's pixels."""
    x0, y0, x1, y1 = box

    def inside(points: Sequence[Point]) -> tuple[Point, ...]:
        return tuple((x - x0, y - y0) for x, y in points if x0 <= x < x1 and y0 <= y < y1)

    cut = None if region is None else (region[y0:y1, x0:x1] > REGION_THRESHOLD).numpy()
    return ComponentChoice(cut, inside(positive), inside(negative))
