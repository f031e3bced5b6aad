"""`predict_crops`: the mask of each box of an image, each box cut out, resized to the model input size,
predicted, and resized back to the box. The crop -> predict -> paste step of detail tiles (and of anything
else that runs the network on parts of an image); the caller pastes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import BiRefNetError
from .predict import _ImageSource, check_batch_size, run_network, run_settings
from .resizing import resize_mask
from .tiles import Box


def predict_crops(
    model: nn.Module,
    image: Any,
    boxes: Sequence[Box],
    size: tuple[int, int],
    *,
    index: int = 0,
    batch_size: int = 4,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield (i, mask) for every `boxes[i]`, in order: mask float32 `[bottom - top, right - left]` in 0..1 on the
    CPU, the model's foreground probability of that part of the image.

    image: anything `birefnet.predict` takes; `index` picks the image of a batch.
    boxes: (top, left, bottom, right) pixels inside the image, bottom/right exclusive.
    size: (width, height) the model sees each crop at (crops of another aspect ratio are stretched).
    batch_size: crops per forward pass: memory holds one batch of crops at `size`, whatever the image size.
    device, dtype: as for `birefnet.predict`. The model is put in eval mode while the generator runs.
    """
    check_batch_size(batch_size)
    source = image if isinstance(image, _ImageSource) else _ImageSource(image)
    if not 0 <= index < source.count:
        raise BiRefNetError(f"Image index {index} is outside the batch of {source.count} images.")
    for top, left, bottom, right in boxes:
        if not (0 <= top < bottom <= source.height and 0 <= left < right <= source.width):
            raise BiRefNetError(
                f"Box (top {top}, left {left}, bottom {bottom}, right {right}) is empty or outside the "
                f"{source.width}x{source.height} image: give boxes inside it."
            )
    device, dtype = run_settings(model, device, dtype)
    width, height = size
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(boxes), batch_size):
            batch = boxes[start : start + batch_size]
            with torch.inference_mode():
                x = torch.empty((len(batch), 3, height, width), device=device)
                for j, box in enumerate(batch):
                    x[j] = source.resized(index, box, (height, width), device)[0]
                masks = run_network(model, x, dtype)
                pasted = [
                    resize_mask(masks[j : j + 1], (bottom - top, right - left))
                    for j, (top, left, bottom, right) in enumerate(batch)
                ]
            for j, mask in enumerate(pasted):
                yield start + j, mask
    finally:
        model.train(was_training)
