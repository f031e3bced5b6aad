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

from ..errors import BiRefNetError
from ..inference.guided import predict_guided
from ..inference.prompts import DEFAULT_MARGIN, Prompt
from ..matting.refine import grow_mask

log = logging.getLogger("birefnet")


class RegionTracker:
    """Segments frames one after the other, each guided by the region the previous frame's mask gives.

    region: float ``[H, W]`` in 0..1 (1 = the object) for the first frame, the frames' size.
    margin: pixels (>= 0) the region is grown by from frame to frame (and the crop around it).
    """

    def __init__(self, region: Any, margin: int = DEFAULT_MARGIN) -> None:
        region = torch.as_tensor(region).float()
        if region.dim() != 2:
            raise BiRefNetError(
                f"region must be one mask [H, W] for the first frame, got shape {list(region.shape)}."
            )
        if not isinstance(margin, int) or margin < 0:
            raise BiRefNetError(f"margin must be a whole number of pixels, 0 or more, got {margin!r}.")
        self.region: torch.Tensor | None = region
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
                if self.frames == 0 and tuple(self.region.shape) != tuple(frame.shape[:2]):
                    height, width = frame.shape[:2]
                    raise BiRefNetError(
                        f"The region is {self.region.shape[1]}x{self.region.shape[0]} but the video's frames "
                        f"are {width}x{height}: give a region mask of the video's size."
                    )
                masks[i] = predict_guided(
                    model, frame, Prompt(region=self.region), resolution, margin=self.margin, batch_size=1,
                    **settings,
                )[0]  # fmt: skip
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
        self.region = grow_mask(core[None], self.margin)[0]
