"""Channel mixing (``kernel @ columns``, a 1x1 convolution) by the CPU kernel a measurement finds faster.

On the CPU a 1x1 convolution over an NCHW map can run as oneDNN's convolution or as one BLAS matmul
``[O, C] @ [C, H*W]`` straight on the map's memory. Which wins depends on the processor and the shape:
oneDNN may reorder the map to its blocked or channels-last layout and back (a 1x1 kernel's layout is
ambiguous to PyTorch), which on a 2-core AMD EPYC made a 384-channel 128x128 lateral convolution 1.6x slower
than the matmul. So the first call per shape class times both on a slice of the real input
(:mod:`.kernel_choice`; ``BIREFNET_<OP>_BACKEND=matmul|onednn|auto`` forces one). Other devices use matmul.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .kernel_choice import choose

BACKENDS = ("matmul", "onednn")
# A measured run uses the whole kernel and at most this many positions (small slices mispredict the winner).
_MAX_SAMPLE_POSITIONS = 4096


def channel_matmul(columns: torch.Tensor, kernel: torch.Tensor, op: str) -> torch.Tensor:
    """``kernel @ columns``: ``[O, C]`` times ``[N, C, P]`` -> ``[N, O, P]``, by the faster CPU backend.

    op: the operation's name for the measurement and its environment variable (``deform_conv``,
    ``pointwise_conv``).
    """
    if columns.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return torch.matmul(kernel, columns)
    if _cpu_backend(columns, kernel, op) == "onednn":
        return F.conv2d(columns.unsqueeze(2), kernel[:, :, None, None]).squeeze(2)
    return torch.matmul(kernel, columns)


def pointwise_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` for a 1x1 ``weight`` ``[O, C, 1, 1]``: ``[N, C, H, W]`` -> ``[N, O, H, W]``."""
    n, c, h, w = x.shape
    if not x.is_contiguous() or weight.dtype != x.dtype:
        return F.conv2d(x, weight, bias)  # channels-last maps and mixed dtypes (autocast) stay with oneDNN
    out = channel_matmul(x.view(n, c, h * w), weight.view(weight.shape[0], c), "pointwise_conv")
    if bias is not None:
        out += bias.view(-1, 1)
    return out.view(n, -1, h, w)


def _cpu_backend(columns: torch.Tensor, kernel: torch.Tensor, op: str) -> str:
    """``"matmul"`` or ``"onednn"`` for this product's shape class on this machine (measured once)."""
    n, depth, positions = columns.shape
    out_channels = kernel.shape[0]
    sample = 1 << (
        min(positions, _MAX_SAMPLE_POSITIONS).bit_length() - 1
    )  # positions measured, a power of two
    key = (n, depth, out_channels, sample, str(columns.dtype)[6:])

    def candidates():
        part = columns.detach()[:, :, :sample].contiguous()
        weight = kernel.detach()
        return {
            "matmul": lambda: torch.matmul(weight, part),
            "onednn": lambda: F.conv2d(part.unsqueeze(2), weight[:, :, None, None]),
        }

    return choose(op, key, BACKENDS, "onednn", candidates)
