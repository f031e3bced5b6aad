"""Channel mixing (``kernel @ columns``, a 1x1 convolution) by the CPU kernel a measurement finds faster.

On the CPU a 1x1 convolution over an NCHW map can run as oneDNN's convolution or as one BLAS matmul
``[O, C] @ [C, H*W]`` straight on the map's memory. Which wins depends on the processor and the shape:
oneDNN may reorder the map to its blocked or channels-last layout and back (a 1x1 kernel's layout is
ambiguous to PyTorch), which on a 2-core AMD EPYC made a 384-channel 128x128 lateral convolution 1.6x slower
than the matmul. So the first calls alternate between the two and the one that is faster in total is used
from then on (:mod:`.kernel_choice`; ``BIREFNET_<OP>_BACKEND=matmul|onednn|auto`` forces one). Other devices use matmul.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .kernel_choice import run_chosen


def channel_matmul(columns: torch.Tensor, kernel: torch.Tensor, op: str) -> torch.Tensor:
    """``kernel @ columns``: ``[O, C]`` times ``[N, C, P]`` -> ``[N, O, P]``, by the faster CPU backend.

    op: the operation's name for the measurement and its environment variable (``deform_conv``,
    ``pointwise_conv``).
    """
    if columns.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return torch.matmul(kernel, columns)
    candidates = {
        "matmul": lambda: torch.matmul(kernel, columns),
        "onednn": lambda: F.conv2d(columns.unsqueeze(2), kernel[:, :, None, None]).squeeze(2),
    }
    group = (str(columns.dtype)[6:],)
    size = (columns.shape[0], columns.shape[2])  # images, positions
    return run_chosen(op, group, tuple(kernel.shape), size, "onednn", candidates)


def pointwise_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` for a 1x1 ``weight`` ``[O, C, 1, 1]``: ``[N, C, H, W]`` -> ``[N, O, H, W]``."""
    n, c, h, w = x.shape
    if not x.is_contiguous() or weight.dtype != x.dtype:
        return F.conv2d(x, weight, bias)  # channels-last maps and mixed dtypes (autocast) stay with oneDNN
    out = channel_matmul(x.view(n, c, h * w), weight.view(weight.shape[0], c), "pointwise_conv")
    if bias is not None:
        out += bias.view(-1, 1)
    return out.view(n, -1, h, w)
