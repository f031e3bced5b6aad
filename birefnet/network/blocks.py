"""Convolutional building blocks of the BiRefNet decoder (names follow the released checkpoints)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .ops.deform_conv import deform_conv2d, deform_conv2d_relu_project


def batch_norm_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift`` (running statistics): two float32 ``[C]`` tensors."""
    scale = bn.weight.float() / torch.sqrt(bn.running_var.float() + bn.eps)
    return scale, bn.bias.float() - bn.running_mean.float() * scale


class DeformableConv2d(nn.Module):
    """Modulated deformable convolution (DCNv2), stride 1, padding ``kernel // 2``.

    ``offset_conv`` predicts (dy, dx) per kernel point, ``modulator_conv`` the modulation
    ``2 * sigmoid(.)``, and ``regular_conv`` holds the kernel (its bias is unused).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = False) -> None:
        super().__init__()
        k = kernel_size
        self.padding = k // 2
        self.offset_conv = nn.Conv2d(in_channels, 2 * k * k, k, padding=self.padding, bias=True)
        self.modulator_conv = nn.Conv2d(in_channels, k * k, k, padding=self.padding, bias=True)
        self.regular_conv = nn.Conv2d(in_channels, out_channels, k, padding=self.padding, bias=bias)
        for conv in (self.offset_conv, self.modulator_conv):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W]`` -> ``[N, C_out, H, W]``."""
        offset, modulator = self.offset_and_modulator(x)
        return deform_conv2d(
            x,
            offset,
            self.regular_conv.weight,
            self.regular_conv.bias,
            padding=self.padding,
            mask=modulator,
        )

    def offset_and_modulator(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Offsets ``[N, 2K, H, W]`` and modulation ``[N, K, H, W]`` (in 0..2), from one convolution with
        both kernels stacked (one oneDNN call instead of two: less padding of the output channels)."""
        offset_out = self.offset_conv.out_channels
        both = F.conv2d(
            x,
            torch.cat((self.offset_conv.weight, self.modulator_conv.weight)),
            torch.cat((self.offset_conv.bias, self.modulator_conv.bias)),
            padding=self.padding,
        )
        return both[:, :offset_out], 2.0 * torch.sigmoid(both[:, offset_out:])

    def relu_project_into(
        self, x: torch.Tensor, bn: nn.BatchNorm2d, projection: torch.Tensor, out: torch.Tensor
    ):
        """Inference only: ``out += relu(bn(self(x)))`` through a 1x1 ``projection`` ``[P, C_out]``, with ``out``
        ``[N, H*W, P]`` (token layout) and eval-mode ``bn`` folded into the kernel."""
        scale, shift = batch_norm_affine(bn)
        conv = self.regular_conv
        weight = (conv.weight.float() * scale[:, None, None, None]).to(conv.weight.dtype)
        bias = (shift if conv.bias is None else shift + scale * conv.bias.float()).to(conv.weight.dtype)
        offset, modulator = self.offset_and_modulator(x)
        deform_conv2d_relu_project(x, offset, modulator, weight, bias, self.padding, projection, out)


class ASPPBranch(nn.Module):
    """Deformable conv -> BatchNorm -> ReLU (checkpoint names ``atrous_conv``, ``bn``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.atrous_conv = DeformableConv2d(in_channels, out_channels, kernel_size)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.atrous_conv(x)))


class ASPPDeformable(nn.Module):
    """Atrous spatial pyramid pooling with deformable branches of kernels 1, 1, 3, 7 plus a global branch.

    ``[N, C, H, W]`` -> ``[N, C, H, W]`` (C = 64 in BiRefNet; branches are 256 wide).
    """

    def __init__(
        self, in_channels: int = 64, out_channels: int | None = None, kernel_sizes=(1, 3, 7)
    ) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        inner = 256
        self.aspp1 = ASPPBranch(in_channels, inner, 1)
        self.aspp_deforms = nn.ModuleList(ASPPBranch(in_channels, inner, k) for k in kernel_sizes)
        self.global_avg_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, inner, 1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(inplace=True),
        )
        self.conv1 = nn.Conv2d(inner * (2 + len(kernel_sizes)), out_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and not torch.is_grad_enabled():
            return self.forward_inference(x)
        # conv1 over the concatenation [aspp1, deforms..., global] equals the sum of its column blocks applied
        # to each branch; projecting branch by branch keeps one 256-wide branch alive instead of all five.
        # The global branch is constant over space (a 1x1 map resized), so its share is a per-channel bias.
        # Contiguous blocks: a strided weight view sends oneDNN down a several times slower path.
        blocks = [w.contiguous() for w in self.conv1.weight.split(self.aspp1.bn.num_features, dim=1)]
        out = F.conv2d(self.aspp1(x), blocks[0])
        for branch, weight in zip(self.aspp_deforms, blocks[1:-1], strict=True):
            out = out + F.conv2d(branch(x), weight)
        out = out + F.conv2d(self.global_avg_pool(x), blocks[-1])
        return self.dropout(self.relu(self.bn1(out)))

    def forward_inference(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` in eval mode without autograd, fused: every BatchNorm folded, and each branch's share
        of ``conv1`` applied chunk by chunk in token layout (no 256-channel map is stored). ``[N, C, H, W]``."""
        n, _, h, w = x.shape
        x = x.contiguous(memory_format=torch.channels_last)  # the layout the sampling reads: converted once
        scale, shift = batch_norm_affine(self.bn1)
        weight = self.conv1.weight
        projections = (
            (weight.flatten(1).float() * scale[:, None]).to(weight.dtype).split(self.aspp1.bn.num_features, 1)
        )
        pooled = self.global_avg_pool(x).flatten(1)  # [N, 256]: constant over space, a per-channel bias
        start = shift.to(weight.dtype) + pooled @ projections[-1].t()  # [N, C]
        out = start[:, None, :].expand(n, h * w, -1).contiguous()  # [N, H*W, C]
        for branch, projection in zip((self.aspp1, *self.aspp_deforms), projections[:-1], strict=True):
            branch.atrous_conv.relu_project_into(x, branch.bn, projection, out)
        return out.relu_().view(n, h, w, -1).permute(0, 3, 1, 2).contiguous()


class BasicDecBlk(nn.Module):
    """conv3x3 -> BN -> ReLU -> ASPPDeformable -> conv3x3 -> BN. ``[N, C_in, H, W]`` -> ``[N, C_out, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 64) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, inter_channels, 3, padding=1)
        self.relu_in = nn.ReLU(inplace=True)
        self.dec_att = ASPPDeformable(inter_channels)
        self.conv_out = nn.Conv2d(inter_channels, out_channels, 3, padding=1)
        self.bn_in = nn.BatchNorm2d(inter_channels)
        self.bn_out = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu_in(self.bn_in(self.conv_in(x)))
        x = self.dec_att(x)
        return self.bn_out(self.conv_out(x))


class BasicLatBlk(nn.Module):
    """Lateral 1x1 conv with bias. (Without autograd the decoder adds it into its stage input instead, by
    :func:`.ops.pointwise.pointwise_conv2d_add_`.)"""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SimpleConvs(nn.Module):
    """conv3x3 (-> 64) -> conv3x3 (-> out), both with bias, no norm or activation."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, inter_channels, 3, padding=1)
        self.conv_out = nn.Conv2d(inter_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv1(x))
