"""Random parameters for module tests: every weight and BatchNorm statistic drawn, variances kept positive."""

from __future__ import annotations

import torch


def randomise(module: torch.nn.Module, seed: int) -> None:
    """Every parameter and BatchNorm statistic of ``module`` random, N(0, 0.2^2) (so offsets of deformable
    convolutions reach a few pixels), running variances in 0.5 + |N(0, 0.2^2)|."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            values = torch.randn(tensor.shape, generator=gen) * 0.2
            if name.endswith("running_var"):
                values = values.abs() + 0.5
            tensor.copy_(values)
