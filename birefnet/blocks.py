"""Convolutional building blocks of the BiRefNet decoder (names follow the released checkpoints)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .ops.deform_conv import deform_conv2d


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
        offset = self.offset_conv(x)
        modulator = 2.0 * torch.sigmoid(self.modulator_conv(x))
        return deform_conv2d(
            x,
            offset,
            self.regular_conv.weight,
            self.regular_conv.bias,
            padding=self.padding,
            mask=modulator,
        )


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
    """Lateral 1x1 conv with bias."""

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
