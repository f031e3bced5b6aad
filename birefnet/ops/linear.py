"""Linear layers that run through oneDNN on the CPU.

On the CPU, PyTorch's ``F.linear`` calls the BLAS GEMM (MKL), while convolutions go through oneDNN. On some
processors (AMD EPYC among them) oneDNN's 1x1 convolution is about twice as fast as MKL's GEMM for the same
product, so on the CPU a linear layer is computed as a 1x1 convolution over a channels-last view of the tokens
(no copies). Same function, same parameters (``weight``, ``bias``), autograd included; other devices use
``F.linear``. Measure with ``benchmarks/bench_model.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias`` for ``x`` of shape ``[..., in]``, ``weight`` ``[out, in]`` -> ``[..., out]``."""
    onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    if x.device.type != "cpu" or x.dtype not in _ONEDNN_DTYPES or not onednn:
        return F.linear(x, weight, bias)
    if weight.dtype != x.dtype and not _cpu_autocast_enabled():
        return F.linear(x, weight, bias)
    lead, features = x.shape[:-1], x.shape[-1]
    tokens = x.reshape(1, -1, 1, features).permute(0, 3, 1, 2)  # [1, in, L, 1], channels-last: no copy
    out = F.conv2d(tokens, weight[:, :, None, None], bias)
    return out.permute(0, 2, 3, 1).reshape(*lead, weight.shape[0])


def _cpu_autocast_enabled() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


class Linear(nn.Linear):
    """``nn.Linear`` computed by :func:`linear` (oneDNN on the CPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
