"""Linear layers whose CPU kernel (MKL GEMM or a oneDNN 1x1 convolution) is picked by measurement.

On the CPU, PyTorch's ``F.linear`` calls the BLAS GEMM (MKL), while convolutions go through oneDNN. Which
is faster for a given shape depends on the processor: on some AMD EPYC hosts oneDNN's 1x1 convolution is
clearly faster, on others MKL's GEMM is, and on one host oneDNN was 3x slower for a few rows times a big
weight. So on the CPU the first call with a new shape class times both on the real input (at most 2048 rows)
with the whole weight (:mod:`.kernel_choice`; ``BIREFNET_LINEAR_BACKEND=matmul|onednn|auto`` forces one)
and uses the faster from then on. The oneDNN path is a 1x1 convolution over a channels-last view of the
tokens (no copies). Same function, same parameters (``weight``, ``bias``), autograd included; other devices
use ``F.linear``. Measure with ``benchmarks/bench_kernels.py`` and ``benchmarks/bench_model.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kernel_choice import choose

BACKENDS = ("matmul", "onednn")
_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)
# A measured run uses at most this many rows of the input and the whole weight. Slices of a few rows or
# output features mispredicted the full-size winner badly on a 2-core EPYC (a 256 x 6144 -> 1536 layer:
# oneDNN 3x slower at full size, about even on a slice), so the weight is never sliced and the rows only
# beyond a size where both kernels run at full speed.
_MAX_SAMPLE_ROWS = 2048


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias`` for ``x`` of shape ``[..., in]``, ``weight`` ``[out, in]`` -> ``[..., out]``."""
    onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    if x.device.type != "cpu" or x.dtype not in _ONEDNN_DTYPES or not onednn or x.numel() == 0:
        return F.linear(x, weight, bias)
    autocast = _cpu_autocast_enabled()
    if weight.dtype != x.dtype and not autocast:
        return F.linear(x, weight, bias)
    if cpu_backend(x, weight, bias, autocast) == "onednn":
        return _onednn_linear(x, weight, bias)
    return F.linear(x, weight, bias)


def cpu_backend(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, autocast: bool) -> str:
    """``"matmul"`` or ``"onednn"``: the faster for this shape class on this machine (measured once)."""
    out_features, in_features = weight.shape
    rows = min(x.numel() // in_features, _MAX_SAMPLE_ROWS)
    size_class = 1 << (rows.bit_length() - 1)  # measured once per power-of-two row count
    key = (
        size_class,
        in_features,
        out_features,
        bias is not None,
        str(x.dtype)[6:],
        str(weight.dtype)[6:],
        autocast,
    )

    def candidates():
        sample_x = x.detach().reshape(-1, in_features)[:rows]
        sample_w = weight.detach()
        sample_b = None if bias is None else bias.detach()
        return {
            "matmul": lambda: F.linear(sample_x, sample_w, sample_b),
            "onednn": lambda: _onednn_linear(sample_x, sample_w, sample_b),
        }

    return choose("linear", key, BACKENDS, "onednn", candidates)


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
