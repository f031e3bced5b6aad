"""`predict_guided`: the mask of the chosen object(s) of each image: crop -> predict -> paste -> component filter.

Per image the objects are its Prompt's boxes (one object each); else its region (one object, its bounding box);
else its positive points (one object, their bounding box). Each object's box is grown by `margin` pixels,
clipped to the image, and that crop runs through `predict_crops` at `model_input_size(resolution, model,
crop size)`: a small object gets the model's whole input, "dynamic" keeps the crop's aspect, and with margin 0
the mask inside a box is exactly `predict(model, image[box])`. Each object's crop mask is filtered by
`components.filter_components` (region, positive and negative points), pasted into a zero mask, and objects are
combined with max: outside every grown box the mask is exactly 0. An empty Prompt gives `predict`'s result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .predict import ProgressCallback
from .prompts import DEFAULT_MARGIN, Prompt
from .sizes import DEFAULT_DYNAMIC_LONG_SIDE, Resolution


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
    raise NotImplementedError
