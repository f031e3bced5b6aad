"""Modulated deformable convolution (DCNv2) in plain PyTorch.

Same semantics as ``torchvision.ops.deform_conv2d`` with one offset group and one weight group:
for every output pixel ``p`` and kernel point ``k`` the input is sampled bilinearly at
``p * stride - padding + k * dilation + offset[k]``, multiplied by ``mask[k]``, and the samples are
contracted with the kernel. Samples that fall outside the image read zero.

:func:`deform_conv2d` (any mode, autograd included) samples with one ``grid_sample`` call per chunk of output
rows for all kernel points at once, followed by one contraction with the flattened kernel, so no
``[C*K, H*W]`` column buffer larger than a chunk is ever alive. On the CPU the contraction runs as a oneDNN
1x1 convolution or a BLAS matmul, whichever runs faster in total on the machine
(:mod:`.pointwise`; ``BIREFNET_DEFORM_CONV_BACKEND=matmul|onednn|auto`` forces one).

:func:`deform_conv2d_relu_project` is the decoder's fused inference step (no autograd): samples from
``F.embedding_bag`` (four weighted pixel rows per sample, :func:`deform_samples`) in positions-major layout,
then bias, ReLU and a 1x1 projection per cache-sized chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .pointwise import channel_matmul

# Upper bound on the elements of the sampled-column buffer per chunk (C * K * rows * W * N): 16 MiB in fp32.
_MAX_COLUMN_ELEMENTS = 1 << 22
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
        out[:, :, r0:r1] = channel_matmul(columns, kernel, "deform_conv").view(n, out_channels, r1 - r0, wo)
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


def deform_conv2d_relu_project(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    bias: torch.Tensor,
    padding: int,
    projection: torch.Tensor,
    out: torch.Tensor,
) -> None:
    """``out += relu(deform_conv2d(x, ...) + bias)`` projected by a 1x1 convolution, in token layout.

    The fused inference form of "deformable conv -> BatchNorm -> ReLU -> 1x1 conv" (BatchNorm folded into
    ``weight`` and ``bias`` by the caller): the ``[positions, O]`` activations exist one small chunk at a time,
    so they stay in the processor's cache and no ``[N, O, H, W]`` map is stored. Square kernel, stride 1,
    dilation 1, output size = input size. Samples come from :func:`deform_samples` (positions-major).

    x: ``[N, C, H, W]`` (channels-last is read without a copy); offset ``[N, 2K, H, W]``; mask ``[N, K, H, W]``
    or None; weight ``[O, C, k, k]``; bias ``[O]``; projection ``[P, O]``; out ``[N, H*W, P]`` (row-major
    positions, i.e. a channels-last map), accumulated in place.
    """
    n, _, _, w = x.shape
    out_channels, _, k, _ = weight.shape
    kernel_t = weight.permute(0, 2, 3, 1).reshape(out_channels, -1).t()  # [K*C, O], kernel point-major
    projection_t = projection.t()
    for r0, _, samples in deform_samples(x, offset, mask, k, padding):
        samples = samples.to(weight.dtype)
        positions = samples.shape[1]
        for p0 in range(0, positions, _PROJECT_POSITIONS):
            p1 = min(positions, p0 + _PROJECT_POSITIONS)
            for i in range(n):
                hidden = torch.addmm(bias, samples[i, p0:p1], kernel_t).relu_()  # [p, O]
                # in out's dtype: under CPU autocast the product above is bf16 while out stays float32
                out[i, r0 * w + p0 : r0 * w + p1].addmm_(hidden.to(out.dtype), projection_t.to(out.dtype))


def deform_samples(
    x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None, kernel_size: int, padding: int
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """The modulated bilinear samples of a stride-1 deformable convolution, positions-major, chunk by chunk.

    Yields ``(r0, r1, samples)`` with ``samples`` float32 ``[N, (r1 - r0) * W, K*C]``: for each output position
    of rows ``r0:r1``, kernel point ``k``'s sample of all ``C`` channels (times its modulation) at
    ``[k*C:(k+1)*C]``. Each sample is one bag of ``F.embedding_bag``: the four bilinear taps are whole pixel
    rows of the channels-last image, weighted (bilinear weight times modulation; zero outside the image), which
    is several times faster on the CPU than ``grid_sample`` followed by the modulation, and reads positions in
    pixels directly (no normalised-coordinate round trip). Same sampling rule as :func:`deform_columns`.
    """
    n, c, h, w = x.shape
    k = kernel_size * kernel_size
    if offset.shape[1] != 2 * k or tuple(offset.shape[-2:]) != (h, w):
        raise ValueError(
            f"deform_samples: offset {tuple(offset.shape)} does not fit a {kernel_size}x{kernel_size} "
            f"kernel on a {h}x{w} input"
        )
    source = x.float().permute(0, 2, 3, 1).reshape(n * h * w, c)  # no copy for a channels-last float32 input
    points = torch.arange(kernel_size, device=x.device, dtype=torch.float32) - padding
    point_y, point_x = points.repeat_interleave(kernel_size), points.repeat(kernel_size)  # [K], row-major
    offset = offset.float().reshape(n, k, 2, h, w)
    offset_y = offset[:, :, 0].permute(0, 2, 3, 1)  # [N, H, W, K]
    offset_x = offset[:, :, 1].permute(0, 2, 3, 1)
    mask = None if mask is None else mask.float().permute(0, 2, 3, 1)
    columns = torch.arange(w, device=x.device, dtype=torch.float32)[:, None] + point_x  # [W, K]
    first_pixel = (torch.arange(n, device=x.device) * (h * w)).view(n, 1, 1, 1, 1)
    rows_per_chunk = max(1, min(h, _MAX_COLUMN_ELEMENTS // max(1, n * c * k * w)))
    for r0 in range(0, h, rows_per_chunk):
        r1 = min(h, r0 + rows_per_chunk)
        rows = (
            torch.arange(r0, r1, device=x.device, dtype=torch.float32)[:, None, None] + point_y
        )  # [R, 1, K]
        index, weights = _bilinear_taps(rows + offset_y[:, r0:r1], columns + offset_x[:, r0:r1], h, w)
        if mask is not None:
            weights *= mask[:, r0:r1, :, :, None]
        samples = F.embedding_bag(
            (index + first_pixel).view(-1, 4), source, per_sample_weights=weights.view(-1, 4), mode="sum"
        )
        yield r0, r1, samples.view(n, (r1 - r0) * w, k * c)


def _bilinear_taps(y: torch.Tensor, x: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat pixel indices ``[..., 4]`` (int64) and weights ``[..., 4]`` of bilinear sampling at pixel
    coordinates ``(y, x)`` with zero padding: a tap outside the ``h x w`` image gets weight 0 (and a valid
    index)."""
    y0, x0 = y.floor(), x.floor()
    fy, fx = y - y0, x - x0
    # Anything beyond one pixel outside reads only zeros: clamp before the integer conversion.
    y0, x0 = y0.clamp(-2, h).long(), x0.clamp(-2, w).long()
    wy0 = (1 - fy) * ((y0 >= 0) & (y0 < h))
    wy1 = fy * ((y0 >= -1) & (y0 < h - 1))
    wx0 = (1 - fx) * ((x0 >= 0) & (x0 < w))
    wx1 = fx * ((x0 >= -1) & (x0 < w - 1))
    yc0, yc1 = y0.clamp(0, h - 1) * w, (y0 + 1).clamp(0, h - 1) * w
    xc0, xc1 = x0.clamp(0, w - 1), (x0 + 1).clamp(0, w - 1)
    index = torch.stack((yc0 + xc0, yc0 + xc1, yc1 + xc0, yc1 + xc1), dim=-1)
    weights = torch.stack((wy0 * wx0, wy0 * wx1, wy1 * wx0, wy1 * wx1), dim=-1)
    return index, weights


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
