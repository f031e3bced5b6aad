"""Stochastic depth for the encoders' residual branches (training only; the identity in ``eval()``)."""

from __future__ import annotations

import torch
from torch import nn


def drop_path_rates(rate: float, num_blocks: int) -> list[float]:
    """Per-block drop probabilities rising linearly from 0 to ``rate`` over all ``num_blocks`` blocks of an
    encoder (block ``i`` in depth order gets the ``i``-th value; the reference's ``linspace(0, rate, n)``)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"drop path rate must be in [0, 1], got {rate}")
    if num_blocks == 1:
        return [0.0]
    return [rate * i / (num_blocks - 1) for i in range(num_blocks)]


class DropPath(nn.Module):
    """Drops a whole residual branch per sample with probability ``drop_prob`` and scales the kept ones by
    ``1 / (1 - drop_prob)`` (timm's ``DropPath`` convention), in ``train()`` mode only.

    ``[N, ...]`` -> ``[N, ...]``; the keep mask ``[N, 1, ...]`` is drawn from torch's default generator of the
    input's device (the stream ``torch.manual_seed`` seeds, like ``nn.Dropout``). No parameters or buffers.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep_prob = 1.0 - self.drop_prob
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep_prob)
        if keep_prob > 0.0:
            keep.div_(keep_prob)
        return x * keep

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.4f}"
