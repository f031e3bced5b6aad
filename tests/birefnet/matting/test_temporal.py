"""Temporal smoothing (birefnet.matting.temporal): the streaming smoother, fed frame by frame in chunks, gives
``smooth_temporal``'s numbers on the whole sequence and holds only its window."""

from __future__ import annotations

import pytest
import torch

from birefnet import StreamingTemporalSmoother, smooth_temporal


@pytest.mark.parametrize("radius", [1, 2, 5])
@pytest.mark.parametrize("length", [1, 2, 3, 6, 13])
@pytest.mark.parametrize("chunk", [1, 4])
def test_streaming_temporal_smoothing_equals_whole_sequence(radius, length, chunk):
    masks = torch.rand(length, 5, 7, generator=torch.Generator().manual_seed(length * 10 + radius))
    smoother = StreamingTemporalSmoother(radius)
    out: list[tuple[torch.Tensor, int]] = []
    for start in range(0, length, chunk):
        for i in range(start, min(start + chunk, length)):
            out.extend(smoother.push(masks[i], i))
            assert smoother.held_frames <= 2 * radius + 2 + chunk
    out.extend(smoother.finish())
    assert [index for _, index in out] == list(range(length))
    assert torch.equal(torch.stack([mask for mask, _ in out]), smooth_temporal(masks, radius))
