"""Channel mixing (``kernel @ columns``, a 1x1 convolution) by the CPU kernel a measurement finds faster.

On the CPU a 1x1 convolution over an NCHW map can run as oneDNN's convolution or as one BLAS matmul
``[O, C] @ [C, H*W]`` straight on the map's memory. Which wins depends on the processor and the shape:
oneDNN may reorder the map to its blocked or channels-last layout and back (a 1x1 kernel's layout is
ambiguous to PyTorch), which on a 2-core AMD EPYC made a 384-channel 128x128 lateral convolution 1.6x slower
than the matmul. So the first calls alternate between the two and the one that is faster in total is used
from then on (:mod:`.kernel_choice`; ``BIREFNET_<OP>_BACKEND=matmul|onednn|auto`` forces one). Other devices
use matmul. ``channel_matmul`` serves the deformable convolution's columns (``deform_conv``);
``pointwise_conv2d_add_`` the decoder's lateral convolutions, added into a map in place (``pointwise_conv``:
BLAS accumulates without a temporary, so it is the default on a near tie).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .kernel_choice import dtype_name, onednn_choice_possible, run_chosen


def channel_matmul(columns: torch.Tensor, kernel: torch.Tensor, op: str) -> torch.Tensor:
    """``kernel @ columns``: ``[O, C]`` times ``[N, C, P]`` -> ``[N, O, P]``, by the faster CPU backend.

    op: the operation's name for the measurement and its environment variable (``deform_conv``).
    """
    if not onednn_choice_possible(columns):
        return torch.matmul(kernel, columns)
    candidates = {
        "matmul": lambda: torch.matmul(kernel, columns),
        "onednn": lambda: F.conv2d(columns.unsqueeze(2), kernel[:, :, None, None]).squeeze(2),
    }
    group = (dtype_name(columns.dtype),)
    size = (columns.shape[0], columns.shape[2])  # images, positions
    return run_chosen(op, group, tuple(kernel.shape), size, "onednn", candidates)


def pointwise_conv2d_add_(out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``out += F.conv2d(x, weight)`` in place, for a 1x1 ``weight`` ``[O, C, 1, 1]``; returns ``out``.

    x: ``[N, C, H, W]``; out: ``[N, O, H, W]``, for instance a channel slice of a larger map. On the CPU by the
    faster of BLAS accumulating straight into ``out`` (``addmm_`` per image: no temporary map, no separate
    sum) and oneDNN's convolution followed by the sum (``pointwise_conv`` in :mod:`.kernel_choice`); BLAS
    elsewhere.
    """
    n, c, h, w = x.shape
    kernel = weight.view(weight.shape[0], c)

    def by_matmul() -> torch.Tensor:
        for image, target in zip(x, out, strict=True):
            target.view(kernel.shape[0], h * w).addmm_(kernel, image.reshape(c, h * w))
        return out

    def by_onednn() -> torch.Tensor:
        return out.add_(F.conv2d(x, weight))

    if not out[0].is_contiguous():  # each image's map must be one [O, H*W] matrix for addmm_
        return by_onednn()
    if not onednn_choice_possible(x):
        return by_matmul()
    candidates = {"matmul": by_matmul, "onednn": by_onednn}
    return run_chosen(
        "pointwise_conv", (dtype_name(x.dtype),), tuple(kernel.shape), (n, h * w), "matmul", candidates
    )
