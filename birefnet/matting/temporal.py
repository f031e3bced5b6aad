"""Temporal smoothing of mask sequences: ``smooth_temporal`` on a whole sequence, and
``StreamingTemporalSmoother`` fed frame by frame, giving the same numbers as ``smooth_temporal`` on the whole
sequence at once (the same float64 running sum, the same additions and subtractions in the same order).

Memory: the masks of ``2 * radius + 2`` frames plus the items (colour frames) not yet emitted.
"""

from __future__ import annotations

from typing import Any

import torch

from .checks import check_mask


def smooth_temporal(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean of each frame with its ``radius`` neighbours on each side along the batch axis (video frames).

    Frame t becomes the mean of frames ``max(0, t-radius) .. min(B-1, t+radius)``: near the ends the window is
    cut, not padded.
    """
    mask = check_mask(mask)
    frames = mask.shape[0]
    if radius <= 0 or frames < 2:
        return mask.clone()
    out = torch.empty_like(mask)
    # A running sum over the window: one frame added and one removed per step, memory O(one frame).
    window = mask[: min(radius, frames - 1) + 1].sum(dim=0, dtype=torch.float64)
    for t in range(frames):
        first, last = max(0, t - radius), min(frames - 1, t + radius)
        out[t] = (window / (last - first + 1)).to(out.dtype)
        if t + radius + 1 < frames:
            window += mask[t + radius + 1]
        if t - radius >= 0:
            window -= mask[t - radius]
    return out.clamp(0.0, 1.0)


class StreamingTemporalSmoother:
    """Push ``[H, W]`` float masks (0..1) one at a time with an item each (e.g. the colour frame and its
    timestamp); get back ``(smoothed mask, item)`` pairs in order as soon as the window allows (``radius``
    frames later), and the rest from ``finish()`` at the end of the stream.

    Frame t becomes the mean of frames ``max(0, t - radius) .. min(N - 1, t + radius)`` (cut at the ends,
    not padded), exactly as ``smooth_temporal`` computes it; ``radius`` 0 passes frames through unchanged.
    """

    def __init__(self, radius: int) -> None:
        self.radius = max(0, int(radius))
        self._masks: dict[int, torch.Tensor] = {}
        self._items: dict[int, Any] = {}
        self._received = 0  # frames pushed
        self._next = 0  # next frame to emit
        self._window: torch.Tensor | None = None
        self._update_pending = False  # the window still has to move from frame _next - 1 to _next

    @property
    def held_frames(self) -> int:
        """Masks held now (at most 2 * radius + 2 beyond one pushed chunk)."""
        return len(self._masks)

    def push(self, mask: torch.Tensor, item: Any = None) -> list[tuple[torch.Tensor, Any]]:
        if self.radius == 0:
            return [(mask, item)]
        index = self._received
        self._masks[index] = mask
        self._items[index] = item
        self._received += 1
        if self._window is None and self._received == self.radius + 1:
            self._window = self._first_window(self._received)
        out: list[tuple[torch.Tensor, Any]] = []
        while self._window is not None and self._next + self.radius < self._received:
            out.append(self._emit(known_total=None))
        return out

    def finish(self) -> list[tuple[torch.Tensor, Any]]:
        """Emit the frames still held, the stream having ended."""
        if self.radius == 0:
            return []
        total = self._received
        if total == 0:
            return []
        if total < 2:  # smooth_temporal leaves a single frame unchanged
            only = [(self._masks.pop(0), self._items.pop(0))]
            self._next = 1
            return only
        if self._window is None:
            self._window = self._first_window(min(self.radius, total - 1) + 1)
        out = []
        while self._next < total:
            out.append(self._emit(known_total=total))
        return out

    def _first_window(self, count: int) -> torch.Tensor:
        return torch.stack([self._masks[i] for i in range(count)]).sum(dim=0, dtype=torch.float64)

    def _emit(self, known_total: int | None) -> tuple[torch.Tensor, Any]:
        t, radius = self._next, self.radius
        assert self._window is not None
        if self._update_pending:  # move the window from t - 1 to t, as smooth_temporal does after frame t - 1
            if t + radius < self._received:
                self._window += self._masks[t + radius]
            if t - 1 - radius >= 0:
                self._window -= self._masks.pop(t - 1 - radius)
        total = self._received if known_total is None else known_total
        first, last = max(0, t - radius), min(total - 1, t + radius) if known_total else t + radius
        smoothed = (self._window / (last - first + 1)).to(torch.float32).clamp(0.0, 1.0)
        self._update_pending = True
        self._next = t + 1
        return smoothed, self._items.pop(t)
