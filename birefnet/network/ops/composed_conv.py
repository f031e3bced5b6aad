"""Two stacked 3x3 convolutions (padding 1, no activation between) computed as one 5x5 convolution.

``conv(conv(x, w1, b1), w2, b2)`` is linear in ``x``, so away from the image border it equals one 5x5
convolution whose kernel is the composition of the two kernels. On the one-pixel border ring the second
convolution reads the zero padding of the first one's *output*, which the composed kernel would see as
``b1 + w1 * x``; those rows and columns are computed with the two convolutions on thin strips instead.

BiRefNet's output head runs such a pair at full input resolution with 64 channels in between and one
channel out; composed, it needs no 64-channel full-resolution map and a fraction of the arithmetic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def compose_3x3_kernels(
    w1: torch.Tensor, b1: torch.Tensor | None, w2: torch.Tensor, b2: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel ``[O, I, 5, 5]`` and bias ``[O]`` of ``conv(conv(x, w1, b1, pad 1), w2, b2, pad 1)`` (interior).

    w1: ``[M, I, 3, 3]``, b1: ``[M]`` or None; w2: ``[O, M, 3, 3]``, b2: ``[O]`` or None.
    """
    terms = []
    for a in range(3):
        for b in range(3):
            term = torch.einsum("om,mikl->oikl", w2[:, :, a, b], w1)  # [O, I, 3, 3] shifted by (a, b)
            terms.append(F.pad(term, (b, 2 - b, a, 2 - a)))
    kernel = torch.stack(terms).sum(0)
    bias = w2.new_zeros(w2.shape[0]) if b2 is None else b2
    if b1 is not None:
        bias = bias + w2.sum((2, 3)) @ b1
    return kernel, bias


def two_convs_3x3(
    x: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor | None, w2: torch.Tensor, b2: torch.Tensor | None
) -> torch.Tensor:
    """``conv2d(conv2d(x, w1, b1, padding=1), w2, b2, padding=1)``: ``[N, I, H, W]`` -> ``[N, O, H, W]``.

    One 5x5 convolution plus exact border rows and columns; same function within float rounding.
    """
    h, w = x.shape[-2:]
    if h <= 2 or w <= 2:
        return _exact_rows(x, w1, b1, w2, b2, 0, h)
    kernel, bias = compose_3x3_kernels(w1, b1, w2, b2)
    out = F.conv2d(x, kernel.to(x.dtype), bias.to(x.dtype), padding=2)
    out[..., :1, :] = _exact_rows(x, w1, b1, w2, b2, 0, 1)
    out[..., h - 1 :, :] = _exact_rows(x, w1, b1, w2, b2, h - 1, h)
    xt, w1t, w2t = x.transpose(-1, -2), w1.transpose(-1, -2), w2.transpose(-1, -2)
    out[..., :, :1] = _exact_rows(xt, w1t, b1, w2t, b2, 0, 1).transpose(-1, -2)
    out[..., :, w - 1 :] = _exact_rows(xt, w1t, b1, w2t, b2, w - 1, w).transpose(-1, -2)
    return out


def _exact_rows(
    x: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor | None,
    w2: torch.Tensor,
    b2: torch.Tensor | None,
    r0: int,
    r1: int,
) -> torch.Tensor:
    """Rows ``r0:r1`` of the two convolutions, computed directly on the strip of ``x`` they depend on."""
    h = x.shape[-2]
    c0, c1 = max(r0 - 1, 0), min(r1 + 1, h)  # rows of the first conv's output these rows read
    x0, x1 = max(c0 - 1, 0), min(c1 + 1, h)  # rows of x those read
    strip = F.pad(x[..., x0:x1, :], (0, 0, int(c0 == 0), int(c1 == h)))
    mid = F.conv2d(strip, w1, b1, padding=(0, 1))
    mid = F.pad(mid, (0, 0, int(r0 == 0), int(r1 == h)))
    return F.conv2d(mid, w2, b2, padding=(0, 1))
