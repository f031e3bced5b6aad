"""Linear layers whose CPU kernel (MKL GEMM or a oneDNN 1x1 convolution) is picked by measurement.

On the CPU, PyTorch's ``F.linear`` calls the BLAS GEMM (MKL), while convolutions go through oneDNN. Which
is faster for a given shape depends on the processor: on some AMD EPYC hosts oneDNN's 1x1 convolution is
clearly faster, on others MKL's GEMM is. So on the CPU the first calls alternate between the two and the
one that runs the model's linear layers faster in total is used from then on (:mod:`.kernel_choice`;
``BIREFNET_LINEAR_BACKEND=matmul|onednn|auto`` forces one). The oneDNN path is a 1x1 convolution over a channels-last view of the
tokens (no copies). Same function, same parameters (``weight``, ``bias``), autograd included; other devices
use ``F.linear``. Measure with ``benchmarks/bench_kernels.py`` and ``benchmarks/bench_model.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kernel_choice import dtype_name, onednn_choice_possible, run_chosen

_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias`` for ``x`` of shape ``[..., in]``, ``weight`` ``[out, in]`` -> ``[..., out]``."""
    if not onednn_choice_possible(x) or x.dtype not in _ONEDNN_DTYPES or x.numel() == 0:
        return F.linear(x, weight, bias)
    autocast = _cpu_autocast_enabled()
    if weight.dtype != x.dtype and not autocast:
        return F.linear(x, weight, bias)
    group = (dtype_name(x.dtype), dtype_name(weight.dtype), autocast)
    layer = (*weight.shape, bias is not None)
    candidates = {
        "matmul": lambda: F.linear(x, weight, bias),
        "onednn": lambda: _onednn_linear(x, weight, bias),
    }
    return run_chosen("linear", group, layer, (x.numel() // x.shape[-1],), "onednn", candidates)


def _onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear`` as a oneDNN 1x1 convolution over a channels-last ``[1, in, L, 1]`` view of the tokens."""
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
    """``nn.Linear`` computed by :func:`linear` (the measured-faster CPU kernel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
