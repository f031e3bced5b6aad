"""Modulated deformable convolution (DCNv2) in plain PyTorch.

Same semantics as ``torchvision.ops.deform_conv2d`` with one offset group and one weight group:
for every output pixel ``p`` and kernel point ``k`` the input is sampled bilinearly at
``p * stride - padding + k * dilation + offset[k]``, multiplied by ``mask[k]``, and the samples are
contracted with the kernel. Samples that fall outside the image read zero.

The sampling is one ``grid_sample`` call per chunk of output rows for all kernel points at once,
followed by one contraction with the flattened kernel, so no ``[C*K, H*W]`` column buffer larger than a
chunk is ever alive. On the CPU the contraction runs as a oneDNN 1x1 convolution or a BLAS matmul,
whichever a short measurement finds faster on the machine (:mod:`.kernel_choice`;
``BIREFNET_DEFORM_CONV_BACKEND=matmul|onednn|auto`` forces one).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .kernel_choice import choose

BACKENDS = ("matmul", "onednn")
# Upper bound on the elements of the sampled-column buffer per chunk (C * K * rows * W * N): 16 MiB in fp32.
_MAX_COLUMN_ELEMENTS = 1 << 22
# A measured contraction multiplies about this many MACs (~1 ms at 60 GMAC/s).
_SAMPLE_MACS = 1 << 26
# Positions per fused projection step: the [positions, 256] activations (1 MiB) stay in the cache.
_PROJECT_POSITIONS = 1024


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def deform_conv2d(
    x: torch.Tensor,
    offset: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Modulated deformable 2-D convolution.

    Args:
        x: input ``[N, C, H, W]``.
        offset: ``[N, 2*K, Ho, Wo]`` with ``K = kh*kw``; channel ``2k`` is the row (y) offset and
            ``2k+1`` the column (x) offset of kernel point ``k`` in row-major kernel order, in pixels.
        weight: kernel ``[O, C, kh, kw]``.
        bias: ``[O]`` or None.
        mask: modulation ``[N, K, Ho, Wo]`` (any real values) or None for all ones.

    Returns:
        ``[N, O, Ho, Wo]``.
    """
    n = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    if in_channels != x.shape[1]:
        raise ValueError(
            f"deform_conv2d: weight expects {in_channels} input channels, input has {x.shape[1]}"
        )
    kernel = weight.reshape(out_channels, -1)
    ho, wo = offset.shape[-2:]
    out = x.new_empty(n, out_channels, ho, wo)
    for r0, r1, columns in deform_columns(x, offset, mask, (kh, kw), stride, padding, dilation):
        columns = columns.to(kernel.dtype)
        out[:, :, r0:r1] = contract(columns, kernel).view(n, out_channels, r1 - r0, wo)
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


def deform_conv2d_relu_project(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    kernel: torch.Tensor,
    bias: torch.Tensor,
    kernel_size: int,
    padding: int,
    projection: torch.Tensor,
    out: torch.Tensor,
) -> None:
    """``out += relu(deform_conv2d(x, ...) + bias)`` projected by a 1x1 convolution, in token layout.

    The fused inference form of "deformable conv -> BatchNorm -> ReLU -> 1x1 conv" (BatchNorm folded into
    ``kernel`` and ``bias`` by the caller): the ``[positions, O]`` activations exist one small chunk at a time,
    so they stay in the processor's cache and no ``[N, O, H, W]`` map is stored. Stride 1, dilation 1.

    x: ``[N, C, H, W]``; offset ``[N, 2K, H, W]``; mask ``[N, K, H, W]`` or None; kernel ``[O, C*K]`` (the
    flattened ``[O, C, k, k]`` weight); bias ``[O]``; projection ``[P, O]``; out ``[N, H*W, P]`` (row-major
    positions, i.e. a channels-last map), accumulated in place.
    """
    n, _, _, w = x.shape
    kernel_t, projection_t = kernel.t(), projection.t()
    for r0, _, columns in deform_columns(x, offset, mask, (kernel_size, kernel_size), 1, padding, 1):
        columns = columns.to(kernel.dtype)
        positions = columns.shape[-1]
        for p0 in range(0, positions, _PROJECT_POSITIONS):
            p1 = min(positions, p0 + _PROJECT_POSITIONS)
            for i in range(n):
                hidden = torch.addmm(bias, columns[i, :, p0:p1].t(), kernel_t).relu_()  # [p, O]
                # in out's dtype: under CPU autocast the product above is bf16 while out stays float32
                out[i, r0 * w + p0 : r0 * w + p1].addmm_(hidden.to(out.dtype), projection_t.to(out.dtype))


def deform_columns(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    kernel_size: tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """The modulated bilinear samples of a deformable convolution, chunk by chunk of output rows.

    Yields ``(r0, r1, columns)`` with ``columns`` float32 ``[N, C*K, (r1 - r0) * Wo]``: row ``c*K + k`` holds
    channel ``c`` sampled at kernel point ``k`` (times its modulation) for output rows ``r0:r1``, so that
    ``weight.reshape(O, C*K) @ columns`` is the convolution of those rows. Arguments as :func:`deform_conv2d`.
    """
    n, c, h, w = x.shape
    kh, kw = kernel_size
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    k = kh * kw
    ho, wo = offset.shape[-2:]
    if offset.shape[1] != 2 * k:
        raise ValueError(f"deform_conv2d: offset has {offset.shape[1]} channels, expected {2 * k}")

    # Sampling positions and the bilinear sampling itself are always float32: in bf16 a position near pixel 128
    # would be rounded to half a pixel. Only the contraction with the kernel runs in the kernel's dtype.
    dtype, device = torch.float32, x.device
    # Channels-last: the channels of a pixel are adjacent, so each bilinear tap reads one contiguous run
    # (grid_sample is several times faster on the CPU this way).
    source = x.float().contiguous(memory_format=torch.channels_last)
    # Base sampling positions per kernel point, [K, Ho, 1] rows and [K, 1, Wo] columns.
    ky, kx = torch.meshgrid(
        torch.arange(kh, device=device, dtype=dtype) * dh,
        torch.arange(kw, device=device, dtype=dtype) * dw,
        indexing="ij",
    )
    base_y = ky.reshape(k, 1, 1) + (torch.arange(ho, device=device, dtype=dtype) * sh - ph).view(1, ho, 1)
    base_x = kx.reshape(k, 1, 1) + (torch.arange(wo, device=device, dtype=dtype) * sw - pw).view(1, 1, wo)
    offset = offset.float().reshape(n, k, 2, ho, wo)
    mask = None if mask is None else mask.float()
    # grid_sample(align_corners=False) reads pixel coordinate p at normalised (2p + 1) / size - 1;
    # this mapping is exact for every size, 1 included.
    scale_y, shift_y = 2.0 / h, 1.0 / h - 1.0
    scale_x, shift_x = 2.0 / w, 1.0 / w - 1.0

    tracked = (x, offset) if mask is None else (x, offset, mask)
    in_place = not (torch.is_grad_enabled() and any(t.requires_grad for t in tracked))
    rows_per_chunk = max(1, min(ho, _MAX_COLUMN_ELEMENTS // max(1, n * c * k * wo)))
    for r0 in range(0, ho, rows_per_chunk):
        r1 = min(ho, r0 + rows_per_chunk)
        pos_y = base_y[:, r0:r1] + offset[:, :, 0, r0:r1]  # [N, K, R, Wo]
        pos_x = base_x + offset[:, :, 1, r0:r1]
        grid = torch.stack((pos_x * scale_x + shift_x, pos_y * scale_y + shift_y), dim=-1)  # [N,K,R,Wo,2]
        rows = r1 - r0
        sampled = F.grid_sample(
            source,
            grid.view(n, k * rows, wo, 2),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=False,
        ).view(n, c, k, rows, wo)
        if mask is not None:
            if in_place:
                sampled.mul_(mask[:, None, :, r0:r1])
            else:
                sampled = sampled * mask[:, None, :, r0:r1]
        yield r0, r1, sampled.view(n, c * k, rows * wo)


def contract(columns: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``kernel @ columns``: ``[O, C*K]`` times ``[N, C*K, P]`` -> ``[N, O, P]``, by the faster CPU backend."""
    if columns.device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return torch.matmul(kernel, columns)
    if _cpu_backend(columns, kernel) == "onednn":
        return F.conv2d(columns.unsqueeze(2), kernel[:, :, None, None]).squeeze(2)
    return torch.matmul(kernel, columns)


def _cpu_backend(columns: torch.Tensor, kernel: torch.Tensor) -> str:
    """``"matmul"`` or ``"onednn"`` for this contraction's shape class on this machine (measured once)."""
    n, depth, positions = columns.shape
    out_channels = kernel.shape[0]
    target = max(64, _SAMPLE_MACS // (n * depth * out_channels))
    sample = 1 << (min(positions, target).bit_length() - 1)  # positions measured, a power of two
    key = (n, depth, out_channels, sample, str(columns.dtype)[6:])

    def candidates():
        part = columns.detach()[:, :, :sample].contiguous()
        weight = kernel.detach()
        return {
            "matmul": lambda: torch.matmul(weight, part),
            "onednn": lambda: F.conv2d(part.unsqueeze(2), weight[:, :, None, None]),
        }

    return choose("deform_conv", key, BACKENDS, "onednn", candidates)
