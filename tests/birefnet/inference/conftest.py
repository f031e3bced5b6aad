"""A stand-in network whose mask is a known function of the image, for tests that compute results by hand."""

import pytest
import torch
from torch import nn


class RedLogitModel(nn.Module):
    """logits ``[N, 1, H, W]`` = gain * (red - 0.5), red being the de-normalised red channel of the input.

    With gain 100 a red value of 1 gives mask 1.0, 0 gives ~2e-22 (0 in 8 bits), 0.49 gives sigmoid(-1) = 0.27.
    """

    def __init__(self, gain: float = 100.0) -> None:
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(()))  # gives the model a device and a dtype
        self.gain = gain
        self.variant = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = x[:, :1] * 0.229 + 0.485
        return self.gain * (red - 0.5) + self.offset


@pytest.fixture
def red_logit_model() -> RedLogitModel:
    return RedLogitModel()
