"""``RegionTracker``: simple tracking of one object through a video by its region.

The first frame is segmented with the region the user gave (``predict_guided``: its box grown by ``margin``,
components that do not touch it removed); each next frame's region is the previous frame's mask (> 0.5),
grown by ``margin`` pixels. It follows an object that moves less than ``margin`` pixels per frame. When a
frame's mask is empty the object is lost: that frame and every later one are 0 (give the region again, e.g.
with ``start`` at the frame it reappears). Frames run one at a time (each needs the mask before it).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from ..inference.guided import predict_guided
from ..inference.prompts import DEFAULT_MARGIN, Prompt, grow_box, region_box
from ..matting.refine import grow_mask

log = logging.getLogger("birefnet")


class RegionTracker:
    """Segments frames one after the other, each guided by the region the previous frame's mask gives.

    region: float ``[H, W]`` in 0..1 (1 = the object) for the first frame, the frames' size.
    margin: pixels (>= 0) the region is grown by from frame to frame (and the crop around it).
    Both are checked by ``predict_guided`` at the first frame (BiRefNetError naming them).
    """

    def __init__(self, region: Any, margin: int = DEFAULT_MARGIN) -> None:
        self.region: torch.Tensor | None = torch.as_tensor(region)  # checked by predict_guided (size, empty)
        self.margin = margin
        self.frames = 0  # frames segmented so far

    @property
    def lost(self) -> bool:
        """Whether the object was lost (every later frame is 0)."""
        return self.region is None

    def segment(
        self, model: nn.Module, frames: np.ndarray, resolution: Any = None, **settings: Any
    ) -> torch.Tensor:
        """Masks float32 ``[n, H, W]`` 0..1 of RGB uint8 frames ``[n, H, W, 3]``, in order.

        settings: keyword arguments of ``predict_guided`` (dtype, device, dynamic_long_side).
        """
        masks = torch.zeros(frames.shape[:3], dtype=torch.float32)
        for i, frame in enumerate(frames):
            if self.region is not None:
                prompt = Prompt(region=self.region)
                masks[i] = predict_guided(
                    model, frame, prompt, resolution, margin=self.margin, batch_size=1, **settings
                )[0]
                self._follow(masks[i])
            self.frames += 1
        return masks

    def _follow(self, mask: torch.Tensor) -> None:
        core = (mask > 0.5).float()
        if not bool(core.any()):
            log.warning(
                "The tracked object was lost at frame %d (its mask is empty): every later frame is 0. "
                "Give the region again from the frame where it reappears.",
                self.frames + 1,
            )
            self.region = None
            return
        # Grown inside the core's box plus the margin only (the same numbers as growing the whole frame).
        height, width = core.shape
        x0, y0, x1, y1 = grow_box(region_box(core), self.margin, height, width)
        region = torch.zeros_like(core)
        region[y0:y1, x0:x1] = grow_mask(core[None, y0:y1, x0:x1], self.margin)[0]
        self.region = region
