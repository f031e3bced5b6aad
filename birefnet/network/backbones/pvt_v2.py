"""PVT v2 (Pyramid Vision Transformer v2) encoder as BiRefNet uses it.

Parameter names follow the released BiRefNet checkpoints under ``bb.``: ``patch_embed{i}``,
``block{i}.{j}``, ``norm{i}`` for stages i = 1..4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.activation import GELU
from ..ops.linear import Linear
from .drop_path import DropPath, drop_path_rates


@dataclass(frozen=True)
class PvtV2Config:
    """Shape of a PVT v2 encoder."""

    embed_dims: tuple[int, int, int, int]
    depths: tuple[int, int, int, int]
    num_heads: tuple[int, int, int, int] = (1, 2, 5, 8)
    mlp_ratios: tuple[int, int, int, int] = (8, 8, 4, 4)
    sr_ratios: tuple[int, int, int, int] = (8, 4, 2, 1)

    @property
    def channels(self) -> tuple[int, int, int, int]:
        """Output channels of the four stages, shallow to deep."""
        return self.embed_dims


PVT_V2_CONFIGS: dict[str, PvtV2Config] = {
    "pvt_v2_b0": PvtV2Config((32, 64, 160, 256), (2, 2, 2, 2)),
    "pvt_v2_b1": PvtV2Config((64, 128, 320, 512), (2, 2, 2, 2)),
    "pvt_v2_b2": PvtV2Config((64, 128, 320, 512), (3, 4, 6, 3)),
    "pvt_v2_b5": PvtV2Config((64, 128, 320, 512), (3, 6, 40, 3), mlp_ratios=(4, 4, 4, 4)),
}


def tokens_to_map(tokens: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``[N, h*w, C]`` -> ``[N, C, h, w]`` as a channels-last view (no copy for contiguous tokens)."""
    n, _, c = tokens.shape
    return tokens.reshape(n, h, w, c).permute(0, 3, 1, 2)


def map_to_tokens(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, h, w]`` -> ``[N, h*w, C]`` (no copy for a channels-last map)."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n, h * w, c)


class OverlapPatchEmbed(nn.Module):
    """Strided conv with overlap (kernel 7 stride 4, or kernel 3 stride 2) then LayerNorm (eps 1e-5)."""

    def __init__(self, in_channels: int, dim: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """``[N, C, H, W]`` -> (tokens ``[N, h*w, dim]``, h, w)."""
        x = self.proj(x)
        n, c, h, w = x.shape
        return self.norm(x.permute(0, 2, 3, 1).reshape(n, h * w, c)), h, w


class SpatialReductionAttention(nn.Module):
    """Attention whose keys and values come from a spatially reduced (strided conv + LN) token map."""

    def __init__(self, dim: int, num_heads: int, sr_ratio: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.q = Linear(dim, dim)
        self.kv = Linear(dim, dim * 2)
        self.proj = Linear(dim, dim)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        n, tokens, c = x.shape
        heads, head_dim = self.num_heads, c // self.num_heads
        q = self.q(x).view(n, tokens, heads, head_dim).transpose(1, 2)
        if self.sr_ratio > 1:
            reduced = self.sr(tokens_to_map(x, h, w))
            x = self.norm(map_to_tokens(reduced))
        k, v = self.kv(x).view(n, -1, 2, heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, tokens, c))


class DepthwiseConv(nn.Module):
    """3x3 depthwise conv over a token map."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        return map_to_tokens(self.dwconv(tokens_to_map(x, h, w)))


class ConvMlp(nn.Module):
    """Linear -> depthwise 3x3 conv -> GELU -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.dwconv = DepthwiseConv(hidden)
        self.act = GELU()  # in place without autograd
        self.fc2 = Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        return self.fc2(self.act(self.dwconv(self.fc1(x), h, w)))


class PvtBlock(nn.Module):
    """Pre-norm (eps 1e-6) spatial-reduction attention and conv MLP with residuals; stochastic depth
    (``drop_path``, training only) on both residual branches, drawn independently."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int, sr_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = SpatialReductionAttention(dim, num_heads, sr_ratio)
        self.drop_path = DropPath()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = ConvMlp(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), h, w))
        return x + self.drop_path(self.mlp(self.norm2(x), h, w))


class PyramidVisionTransformerV2(nn.Module):
    """PVT v2 encoder returning four feature maps at strides 4, 8, 16, 32.

    Input ``[N, 3, H, W]`` (ImageNet-normalised); output ``[N, embed_dims[i], H/2^(i+2), W/2^(i+2)]``.
    ``drop_path_rate``: stochastic depth of the last block (see :meth:`set_drop_path_rate`); 0 (off) for
    inference, the reference trains with 0.1.
    """

    def __init__(self, config: PvtV2Config, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.config = config
        self.channels = config.channels
        in_channels = 3
        for i in range(4):
            dim = config.embed_dims[i]
            kernel, stride = (7, 4) if i == 0 else (3, 2)
            self.add_module(f"patch_embed{i + 1}", OverlapPatchEmbed(in_channels, dim, kernel, stride))
            blocks = nn.ModuleList(
                PvtBlock(dim, config.num_heads[i], config.mlp_ratios[i], config.sr_ratios[i])
                for _ in range(config.depths[i])
            )
            self.add_module(f"block{i + 1}", blocks)
            self.add_module(f"norm{i + 1}", nn.LayerNorm(dim, eps=1e-6))
            in_channels = dim
        self.set_drop_path_rate(drop_path_rate)

    def set_drop_path_rate(self, rate: float) -> None:
        """Stochastic depth rising linearly over all blocks, from 0 (first block) to ``rate`` (last block)."""
        blocks = [block for i in range(1, 5) for block in getattr(self, f"block{i}")]
        for block, prob in zip(blocks, drop_path_rates(rate, len(blocks)), strict=True):
            block.drop_path.drop_prob = prob

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i in range(1, 5):
            tokens, h, w = getattr(self, f"patch_embed{i}")(x)
            for block in getattr(self, f"block{i}"):
                tokens = block(tokens, h, w)
            tokens = getattr(self, f"norm{i}")(tokens)
            x = tokens_to_map(tokens, h, w)
            outs.append(x)
        return outs

    def forward_images(self, images: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """The four feature maps of each of several images ``[N, 3, H_k, W_k]``, one image after another."""
        return [self(x) for x in images]
