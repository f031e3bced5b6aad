"""Swin Transformer v1 encoder as BiRefNet uses it (detection-style: any input size, padded windows).

Parameter names follow the released BiRefNet checkpoints under ``bb.``: ``patch_embed``,
``layers.{i}.blocks.{j}``, ``layers.{i}.downsample``, ``norm{i}``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.activation import GELU
from ..ops.kernel_choice import is_compiling
from ..ops.linear import Linear
from .drop_path import DropPath, drop_path_rates
from .swin_windows import WindowLayout, joint_window_layout, relative_position_index

# Upper bound on the elements of one chunk's tensors without autograd: attention bias, q/k/v, MLP hidden layer,
# the per-token steps of a block (4M floats = 16 MiB in fp32). Kept under glibc's largest heap threshold
# (32 MiB): a block at or above it is mapped fresh from the OS on every call, and its first touches page-fault
# (swin_v1_l at 1024 took ~1.2M faults per forward while its blocks made token-sized tensors).
_CHUNK_ELEMENTS = 1 << 22


def _chunk_rows(width: int) -> int:
    """Rows of a ``[rows, width]`` chunk within ``_CHUNK_ELEMENTS`` (at least one)."""
    return max(1, _CHUNK_ELEMENTS // width)


@dataclass(frozen=True)
class SwinConfig:
    """Shape of a Swin v1 encoder."""

    embed_dim: int
    depths: tuple[int, int, int, int]
    num_heads: tuple[int, int, int, int]
    window_size: int

    @property
    def channels(self) -> tuple[int, int, int, int]:
        """Output channels of the four stages, shallow to deep."""
        return tuple(self.embed_dim * 2**i for i in range(4))  # type: ignore[return-value]


SWIN_CONFIGS: dict[str, SwinConfig] = {
    "swin_v1_t": SwinConfig(96, (2, 2, 6, 2), (3, 6, 12, 24), 7),
    "swin_v1_s": SwinConfig(96, (2, 2, 18, 2), (3, 6, 12, 24), 7),
    "swin_v1_b": SwinConfig(128, (2, 2, 18, 2), (4, 8, 16, 32), 12),
    "swin_v1_l": SwinConfig(192, (2, 2, 18, 2), (6, 12, 24, 48), 12),
}


class Mlp(nn.Module):
    """Linear -> GELU -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.act = GELU()  # in place without autograd
        self.fc2 = Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., C]`` -> ``[..., C]``, in chunks of tokens so the hidden layer stays within about 16 MiB."""
        flat = x.reshape(-1, x.shape[-1])
        rows = _chunk_rows(self.fc1.out_features)
        if flat.shape[0] <= rows:
            return self.fc2(self.act(self.fc1(x)))
        out = torch.empty_like(flat)
        for start in range(0, flat.shape[0], rows):
            out[start : start + rows] = self.fc2(self.act(self.fc1(flat[start : start + rows])))
        return out.view_as(x)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned relative position bias."""

    def __init__(self, dim: int, window: int, num_heads: int) -> None:
        super().__init__()
        self.window = window
        self.num_heads = num_heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window), persistent=True)
        self.qkv = Linear(dim, dim * 3)
        self.proj = Linear(dim, dim)

    def position_bias(self) -> torch.Tensor:
        """Relative position bias ``[heads, w*w, w*w]``, contiguous (SDPA would copy a permuted mask)."""
        n = self.window * self.window
        table = self.relative_position_bias_table.t().contiguous()  # [heads, (2w-1)^2], small
        return table.index_select(1, self.relative_position_index.view(-1)).view(self.num_heads, n, n)

    def forward(self, x: torch.Tensor, layout: WindowLayout) -> torch.Tensor:
        """x: normalised tokens ``[N, L, C]`` of the layout's maps (``L = sum H*W``, map after map) -> attention
        output ``[N, L, C]`` (after ``proj``): q/k/v of the tokens and of one zero padding token (whose q, k, v
        are ``qkv.bias``), :meth:`attend`, ``proj``. Blocks without autograd run these steps in chunks
        themselves (:meth:`SwinBlock.forward_in_place`)."""
        n, length, c = x.shape
        qkv = self.padded_qkv(x, layout.padded)
        out_tokens = qkv.new_empty(n, length if not torch.is_grad_enabled() else qkv.shape[1], c)
        return self.proj(self.attend(qkv, layout, out_tokens))[:, :length]

    def padded_qkv(self, x: torch.Tensor, padded: bool) -> torch.Tensor:
        """q/k/v ``[N, L (+1), 3C]`` of normalised tokens ``[N, L, C]`` and, when ``padded``, of one zero padding
        token after them (its q, k, v are ``qkv.bias``)."""
        if padded:
            x = torch.cat((x, x.new_zeros(x.shape[0], 1, x.shape[2])), dim=1)
        return self.qkv(x)

    def attend(self, qkv: torch.Tensor, layout: WindowLayout, out: torch.Tensor) -> torch.Tensor:
        """Attention inside the layout's windows: ``qkv`` ``[N, L (+1: the zero padding token's, when the layout
        is padded), 3C]`` -> ``out`` ``[N, L, C]`` without autograd, ``[N, L (+1), C]`` with it; returns ``out``.

        The tokens are gathered into (shifted, padded) windows chunk by chunk, so the attention bias plus mask of
        one chunk stays within about 16 MiB whatever the image size; only the windows that need the
        shifted-window mask get it. Without autograd, padding slots are keys and values but never queries (their
        outputs would be dropped): windows with padding attend from their real slots only (``layout.runs``; the
        outputs are the same to the bit). With autograd every slot is a query, as in the reference: train-mode
        gradients amplify rounding, and the other GEMM shapes moved swin_v1_t's parameter gradients by up to 2.2%
        of their scale against the reference's (tolerance 2%). Each chunk's output is copied straight back to
        token order (padding slots, when they are queries, into the spare last row)."""
        n, c = qkv.shape[0], qkv.shape[2] // 3
        heads, head_dim = self.num_heads, c // self.num_heads
        tokens = self.window * self.window
        bias = self.position_bias().to(qkv.dtype).unsqueeze(0)  # [1, heads, T, T]
        chunk = _chunk_rows(heads * tokens * max(tokens, head_dim))  # windows
        real_queries_only = not torch.is_grad_enabled()
        for run in layout.runs:
            queries = run.queries if real_queries_only else None
            run_bias = bias if queries is None else bias.index_select(2, queries)  # [1, heads, Tq, T]
            for start in range(run.start, run.stop, chunk):
                stop = min(run.stop, start + chunk)
                index = layout.gather[start * tokens : stop * tokens]
                part = qkv.index_select(1, index).view(n * (stop - start), tokens, 3, heads, head_dim)
                q, k, v = part.permute(2, 0, 3, 1, 4).unbind(0)  # [N*w, heads, T, d]
                attn_bias = run_bias
                if run.mask is not None:
                    mask = run.mask[start - run.start : stop - run.start]  # [w, T, T]
                    if queries is not None:
                        mask = mask.index_select(1, queries)
                    attn_bias = run_bias + mask.to(qkv.dtype).unsqueeze(1)  # [w, heads, Tq, T]
                    if n > 1:
                        attn_bias = attn_bias.repeat(n, 1, 1, 1)
                if queries is not None:
                    q = q.index_select(2, queries)  # [N*w, heads, Tq, d]
                    index = index.view(-1, tokens).index_select(1, queries).view(-1)
                attended = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)  # [N*w, heads, Tq, d]
                out.index_copy_(1, index, attended.transpose(1, 2).reshape(n, -1, c))
        return out


class SwinBlock(nn.Module):
    """Pre-norm (shifted) window attention block with an MLP; stochastic depth (``drop_path``, training only)
    on both residual branches, drawn independently."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: int) -> None:
        super().__init__()
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, num_heads)
        self.drop_path = DropPath()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * 4)

    def forward(
        self, x: torch.Tensor, layout: WindowLayout, scratch: ScratchBuffers | None = None
    ) -> torch.Tensor:
        """x: ``[N, L, C]``, the tokens of one or more maps; layout: their window layout for this block's shift.

        Without autograd x (this block's own input) is updated in place, step by step in chunks of rows
        (:meth:`forward_in_place`, eager only; ``scratch``: the encoder pass's shared buffers)."""
        if torch.is_grad_enabled():
            x = x + self.drop_path(self.attn(self.norm1(x), layout))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        # Under torch.compile Inductor plans the buffers itself, and the chunk loops would only lengthen the
        # graph (and its compile time); a block in train mode with stochastic depth draws one mask per tensor.
        if not (self.training and self.drop_path.drop_prob > 0) and not is_compiling():
            return self.forward_in_place(x, layout, scratch or ScratchBuffers())
        x += self.drop_path(self.attn(self.norm1(x), layout))
        x += self.drop_path(self.mlp(self.norm2(x)))
        return x

    def forward_in_place(
        self, x: torch.Tensor, layout: WindowLayout, scratch: ScratchBuffers
    ) -> torch.Tensor:
        """The block without autograd, allocating no token-sized tensor: norm1 and q/k/v, the output projection
        and the residual sum, norm2, the MLP and the residual sum each run in chunks of rows of about 16 MiB
        (under glibc's 32 MiB mapping threshold, so their buffers are reused from the heap), q/k/v and the
        attention output go to two buffers every block of the encoder pass shares. A fresh token-sized tensor
        per step page-faults on first touch: swin_v1_l at 1024 px took about 1.2 million faults per forward.
        x ``[N, L, C]`` is updated in place (a contiguous copy of it, if it is not) and returned."""
        x = x.contiguous()
        n, length, c = x.shape
        attn = self.attn
        rows = _chunk_rows(3 * c)
        if n * (length + 1) <= rows:  # one chunk: the GEMM's own output is small enough (no copy)
            qkv = attn.padded_qkv(self.norm1(x), layout.padded)
        else:
            for i in range(n):
                for start in range(0, length, rows):
                    stop = min(length, start + rows)
                    part = attn.qkv(self.norm1(x[i, start:stop]))
                    if i == 0 and start == 0:  # the buffer takes the output's dtype (autocast may lower it)
                        qkv = scratch.take("qkv", (n, length + layout.padded, 3 * c), part)
                    qkv[i, start:stop] = part
            if layout.padded:  # the zero padding token's q, k, v
                qkv[:, length] = 0 if attn.qkv.bias is None else attn.qkv.bias
        attended = attn.attend(qkv, layout, scratch.take("attention", (n, length, c), qkv)).view(-1, c)
        flat = x.view(-1, c)
        rows = _chunk_rows(c)
        for start in range(0, flat.shape[0], rows):
            flat[start : start + rows] += attn.proj(attended[start : start + rows])
        rows = _chunk_rows(self.mlp.fc1.out_features)
        for start in range(0, flat.shape[0], rows):
            part = flat[start : start + rows]
            part += self.mlp(self.norm2(part))
        return x


class ScratchBuffers:
    """Flat buffers reused by every block of one encoder pass, grown on demand (inference only).

    Stage 1 asks for the most (q/k/v: ``L * 3C`` floats), so later stages take views of the same memory."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def take(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised contiguous tensor of ``shape`` with ``like``'s dtype and device."""
        numel = math.prod(shape)
        buffer = self._buffers.get(name)
        if (
            buffer is None
            or buffer.numel() < numel
            or buffer.dtype != like.dtype
            or buffer.device != like.device
        ):
            buffer = self._buffers[name] = like.new_empty(numel)
        return buffer[:numel].view(shape)


class PatchMerging(nn.Module):
    """2x2 neighbourhood concat -> LayerNorm(4C) -> Linear(4C -> 2C)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor, sizes: Sequence[tuple[int, int]]) -> torch.Tensor:
        """Tokens of maps of ``sizes`` (``(H, W)`` each), concatenated: ``[N, sum H*W, C]`` ->
        ``[N, sum ceil(H/2)*ceil(W/2), 2C]``, map by map."""
        merged = []
        for (h, w), part in zip(sizes, x.split([h * w for h, w in sizes], dim=1), strict=True):
            n, _, c = part.shape
            part = part.reshape(n, h, w, c)
            if h % 2 or w % 2:
                part = F.pad(part, (0, 0, 0, w % 2, 0, h % 2))
            quads = (part[:, 0::2, 0::2], part[:, 1::2, 0::2], part[:, 0::2, 1::2], part[:, 1::2, 1::2])
            merged.append(torch.cat(quads, dim=-1).view(n, -1, 4 * c))
        x = merged[0] if len(merged) == 1 else torch.cat(merged, dim=1)
        return self.reduction(self.norm(x))


class SwinStage(nn.Module):
    """``depth`` blocks, alternating plain and shifted windows, then an optional patch merging."""

    def __init__(self, dim: int, depth: int, num_heads: int, window: int, downsample: bool) -> None:
        super().__init__()
        self.window = window
        self.shift = window // 2
        self.blocks = nn.ModuleList(
            SwinBlock(dim, num_heads, window, 0 if i % 2 == 0 else window // 2) for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(
        self, x: torch.Tensor, sizes: tuple[tuple[int, int], ...], scratch: ScratchBuffers | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[tuple[int, int], ...]]:
        """x: tokens of maps of ``sizes`` (``(H, W)`` each), concatenated ``[N, sum H*W, C]``.

        Returns (stage output ``[N, sum H*W, C]``, input of the next stage, the next stage's map sizes)."""
        layouts = {
            shift: joint_window_layout(sizes, self.window, shift, x.device) for shift in (0, self.shift)
        }
        for block in self.blocks:
            x = block(x, layouts[block.shift], scratch)
        if self.downsample is None:
            return x, x, sizes
        return x, self.downsample(x, sizes), tuple(((h + 1) // 2, (w + 1) // 2) for h, w in sizes)


class PatchEmbed(nn.Module):
    """Conv 4x4 stride 4 (input padded to a multiple of 4) followed by LayerNorm."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=4, stride=4)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % 4 or w % 4:
            x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4))
        return self.proj(x)


class SwinTransformer(nn.Module):
    """Swin v1 encoder returning four feature maps at strides 4, 8, 16, 32.

    Input ``[N, 3, H, W]`` (ImageNet-normalised); output ``[N, C_i, H/2^(i+2), W/2^(i+2)]`` for i = 0..3
    with ``C_i = embed_dim * 2^i``. ``drop_path_rate``: stochastic depth of the last block (see
    :meth:`set_drop_path_rate`); 0 (off) for inference, the reference trains with 0.2.
    """

    def __init__(self, config: SwinConfig, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.config = config
        self.channels = config.channels
        self.patch_embed = PatchEmbed(config.embed_dim)
        self.layers = nn.ModuleList(
            SwinStage(config.channels[i], config.depths[i], config.num_heads[i], config.window_size, i < 3)
            for i in range(4)
        )
        for i, c in enumerate(config.channels):
            self.add_module(f"norm{i}", nn.LayerNorm(c))
        self.set_drop_path_rate(drop_path_rate)

    def set_drop_path_rate(self, rate: float) -> None:
        """Stochastic depth rising linearly over all blocks, from 0 (first block) to ``rate`` (last block)."""
        blocks = [block for stage in self.layers for block in stage.blocks]
        for block, prob in zip(blocks, drop_path_rates(rate, len(blocks)), strict=True):
            block.drop_path.drop_prob = prob

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.forward_images([x])[0]

    def forward_images(self, images: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """The four feature maps of each of several images ``[N, 3, H_k, W_k]`` (one N, any sizes).

        The images go through the encoder together: their tokens are concatenated, so every per-token layer
        (norms, q/k/v, projections, MLPs, patch merging) runs once on all of them, in larger and faster GEMMs
        (BiRefNet encodes an image and its half-size copy: at 512 px, Swin-L's stage 3 and 4 layers then run
        on 1280 and 320 tokens instead of 1024 + 256 and 256 + 64). Windows never mix two images, so each
        image's features equal those of encoding it alone (up to GEMM rounding)."""
        maps = [self.patch_embed(x) for x in images]  # [N, C, H_k, W_k]
        sizes = tuple((m.shape[2], m.shape[3]) for m in maps)
        tokens = [m.flatten(2).transpose(1, 2) for m in maps]
        x = self.patch_embed.norm(tokens[0] if len(tokens) == 1 else torch.cat(tokens, dim=1))
        pyramids: list[list[torch.Tensor]] = [[] for _ in images]
        scratch = None if torch.is_grad_enabled() else ScratchBuffers()
        for i, stage in enumerate(self.layers):
            out, x, next_sizes = stage(x, sizes, scratch)
            out = getattr(self, f"norm{i}")(out)
            parts = out.split([h * w for h, w in sizes], dim=1)
            for pyramid, (h, w), part in zip(pyramids, sizes, parts, strict=True):
                pyramid.append(part.reshape(-1, h, w, self.channels[i]).permute(0, 3, 1, 2).contiguous())
            sizes = next_sizes
        return pyramids
