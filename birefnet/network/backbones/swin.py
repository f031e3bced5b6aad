"""Swin Transformer v1 encoder as BiRefNet uses it (detection-style: any input size, padded windows).

Parameter names follow the released BiRefNet checkpoints under ``bb.``: ``patch_embed``,
``layers.{i}.blocks.{j}``, ``layers.{i}.downsample``, ``norm{i}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.activation import GELU
from ..ops.linear import Linear
from .drop_path import DropPath, drop_path_rates

# Upper bound on the elements of one chunk's attention bias / q, k, v and MLP hidden layer (4M floats = 16 MiB in
# fp32). Kept under glibc's largest heap threshold (32 MiB): a block at or above it is mapped fresh from the OS
# on every call, and its first touches page-fault (swin_v1_l at 1024 took ~1M faults per forward with 32 MiB).
_ATTENTION_CHUNK_ELEMENTS = 1 << 22


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


def relative_position_index(window: int) -> torch.Tensor:
    """Index into the relative position bias table for a square window, int64 ``[w*w, w*w]``."""
    # Built on the CPU explicitly: cheap, and it keeps a model built under torch.device("meta") light.
    ys, xs = torch.meshgrid(
        torch.arange(window, device="cpu"), torch.arange(window, device="cpu"), indexing="ij"
    )
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + (window - 1)
    dx = xs[:, None] - xs[None, :] + (window - 1)
    return dy * (2 * window - 1) + dx


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """``[N, H, W, C]`` (H, W multiples of ``window``) -> ``[N * nW, window*window, C]``."""
    n, h, w, c = x.shape
    x = x.view(n, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def shifted_window_regions(h: int, w: int, window: int, shift: int, device: torch.device) -> torch.Tensor:
    """Region label ``[nW, w*w]`` of every slot of every window of a padded ``h x w`` grid shifted by ``shift``
    (slots of one window in different regions do not attend to each other)."""
    region = torch.zeros(h, w, device=device)
    label = 0
    bounds = ((0, -window), (-window, -shift), (-shift, None))
    for ys in bounds:
        for xs in bounds:
            region[slice(*ys), slice(*xs)] = label
            label += 1
    return window_partition(region.view(1, h, w, 1), window).squeeze(-1)


def region_mask(regions: torch.Tensor) -> torch.Tensor:
    """Additive attention mask ``[nW, T, T]`` (0 or -100) from the region labels ``[nW, T]`` of windows' slots."""
    differ = regions[:, None, :] != regions[:, :, None]
    return torch.zeros(differ.shape, device=regions.device).masked_fill(differ, -100.0)


def shifted_window_mask(h: int, w: int, window: int, shift: int, device: torch.device) -> torch.Tensor:
    """Additive attention mask ``[nW, w*w, w*w]`` (0 or -100) for shifted windows on a padded grid."""
    return region_mask(shifted_window_regions(h, w, window, shift, device))


class WindowRun(NamedTuple):
    """Consecutive windows of a :class:`WindowLayout` whose real tokens sit in the same slots."""

    start: int  # first window (layout order)
    stop: int  # one past the last; a run lies wholly before or wholly after ``plain``
    queries: torch.Tensor | None  # [Tq] int64 slots holding real tokens, ascending; None: every slot is real


class WindowLayout(NamedTuple):
    """Where every token of an ``h x w`` map goes when the map is zero-padded to whole windows, cyclically
    shifted by ``-shift`` and cut into windows (tokens row-major inside a window).

    The windows that the shifted-window mask leaves alone (all but the last row and column of windows) come
    first, so attention needs the mask only for the ``nW - plain`` windows after them. Within both parts the
    windows are grouped into runs by where their padding slots are (a few kinds: none, right, bottom, corner;
    with a shift the padding band may straddle two window rows or columns), so attention can skip the queries
    of padding slots, whose outputs are dropped."""

    gather: torch.Tensor  # [nW * T] token index per window slot; h*w marks a zero padding token
    order: torch.Tensor  # [nW] row-major index of the window at each position
    plain: int  # leading windows without a mask
    padded: bool
    mask: torch.Tensor | None  # [nW - plain, T, T] additive mask of the masked windows, None without a shift
    runs: tuple[WindowRun, ...]  # the windows in order, in runs of one padding pattern


def window_layout(h: int, w: int, window: int, shift: int, device: torch.device) -> WindowLayout:
    """The :class:`WindowLayout` of an ``h x w`` map (one gather replaces pad + roll + partition)."""
    hp, wp = h + (-h) % window, w + (-w) % window
    rows = (torch.arange(hp, device=device) + shift) % hp  # rolled row i reads padded row i + shift
    cols = (torch.arange(wp, device=device) + shift) % wp
    real_rows, real_cols = rows < h, cols < w
    index = rows[:, None] * w + cols[None, :]
    index = torch.where(real_rows[:, None] & real_cols[None, :], index, torch.full_like(index, h * w))
    gather = window_partition(index.view(1, hp, wp, 1), window).view(-1, window * window)  # [nW, T]
    # A window's real slots are its real rows times its real columns: few patterns, found per window row/column.
    row_patterns, row_kind = torch.unique(real_rows.view(-1, window), dim=0, return_inverse=True)
    col_patterns, col_kind = torch.unique(real_cols.view(-1, window), dim=0, return_inverse=True)
    patterns = len(row_patterns) * len(col_patterns)
    pattern = (row_kind[:, None] * len(col_patterns) + col_kind[None, :]).view(-1)  # [nW], windows row-major
    masked = torch.zeros(gather.shape[0], dtype=torch.bool, device=device)
    if shift:
        regions = shifted_window_regions(hp, wp, window, shift, device)  # [nW, T]
        masked = regions.ne(regions[:, :1]).any(1)
    keys, order = torch.sort(masked.long() * patterns + pattern, stable=True)  # plain first, by pattern
    kinds, counts = torch.unique_consecutive(keys, return_counts=True)
    plain = int((~masked).sum())
    mask = region_mask(regions[order[plain:]]) if shift else None  # only the windows that need one
    runs, start = [], 0
    for kind, count in zip(kinds.tolist(), counts.tolist(), strict=True):
        row, col = divmod(kind % patterns, len(col_patterns))
        real = (row_patterns[row][:, None] & col_patterns[col][None, :]).view(-1)  # [T]
        queries = None if bool(real.all()) else real.nonzero().squeeze(1)
        runs.append(WindowRun(start, start + count, queries))
        start += count
    return WindowLayout(gather[order].reshape(-1), order, plain, hp != h or wp != w, mask, tuple(runs))


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
        rows = max(1, _ATTENTION_CHUNK_ELEMENTS // self.fc1.out_features)
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
        """x: normalised tokens ``[N, H*W, C]`` -> attention output ``[N, H*W, C]`` (after ``proj``).

        qkv and proj are per-token linear maps, so they run on the real tokens only: a zero padding token's
        q, k and v are just ``qkv.bias``. The tokens are gathered into (shifted, padded) windows chunk by chunk,
        so the attention bias plus mask of one chunk stays within about 16 MiB whatever the image size; only
        the windows that need the shifted-window mask get it. Without autograd, padding slots are keys and
        values but never queries (their outputs would be dropped): windows with padding attend from their real
        slots only (``layout.runs``; the outputs are the same to the bit). With autograd every slot is a query,
        as in the reference: train-mode gradients amplify rounding, and the other GEMM shapes moved swin_v1_t's
        parameter gradients by up to 2.2% of their scale against the reference's (tolerance 2%). Each chunk's
        output is copied straight back to token order (padding slots, when they are queries, into one spare
        row that is dropped).
        """
        n, length, c = x.shape
        heads, head_dim = self.num_heads, c // self.num_heads
        tokens = self.window * self.window
        if layout.padded:
            x = torch.cat((x, x.new_zeros(n, 1, c)), dim=1)
        qkv = self.qkv(x)  # [N, H*W (+1), 3C]
        bias = self.position_bias().to(qkv.dtype).unsqueeze(0)  # [1, heads, T, T]
        chunk = max(1, _ATTENTION_CHUNK_ELEMENTS // (heads * tokens * max(tokens, head_dim)))
        real_queries_only = not torch.is_grad_enabled()
        out_tokens = qkv.new_empty(n, length if real_queries_only else qkv.shape[1], c)
        for run in layout.runs:
            queries = run.queries if real_queries_only else None
            run_bias = bias if queries is None else bias.index_select(2, queries)  # [1, heads, Tq, T]
            for start in range(run.start, run.stop, chunk):
                stop = min(run.stop, start + chunk)
                index = layout.gather[start * tokens : stop * tokens]
                part = qkv.index_select(1, index).view(n * (stop - start), tokens, 3, heads, head_dim)
                q, k, v = part.permute(2, 0, 3, 1, 4).unbind(0)  # [N*w, heads, T, d]
                attn_bias = run_bias
                if start >= layout.plain:
                    mask = layout.mask[start - layout.plain : stop - layout.plain]  # [w, T, T]
                    if queries is not None:
                        mask = mask.index_select(1, queries)
                    attn_bias = run_bias + mask.to(qkv.dtype).unsqueeze(1)  # [w, heads, Tq, T]
                    if n > 1:
                        attn_bias = attn_bias.repeat(n, 1, 1, 1)
                if queries is not None:
                    q = q.index_select(2, queries)  # [N*w, heads, Tq, d]
                    index = index.view(-1, tokens).index_select(1, queries).view(-1)
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)  # [N*w, heads, Tq, d]
                out_tokens.index_copy_(1, index, out.transpose(1, 2).reshape(n, -1, c))
        return self.proj(out_tokens)[:, :length]


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

    def forward(self, x: torch.Tensor, layout: WindowLayout) -> torch.Tensor:
        """x: ``[N, H*W, C]``; layout: the window layout of the map for this block's shift.

        Without autograd the residual sums are taken in place (x is this block's own input)."""
        if torch.is_grad_enabled():
            x = x + self.drop_path(self.attn(self.norm1(x), layout))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        x += self.drop_path(self.attn(self.norm1(x), layout))
        x += self.drop_path(self.mlp(self.norm2(x)))
        return x


class PatchMerging(nn.Module):
    """2x2 neighbourhood concat -> LayerNorm(4C) -> Linear(4C -> 2C)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """``[N, H*W, C]`` -> ``[N, ceil(H/2)*ceil(W/2), 2C]``."""
        n, _, c = x.shape
        x = x.view(n, h, w, c)
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat((x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]), dim=-1)
        return self.reduction(self.norm(x.view(n, -1, 4 * c)))


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

    def forward(self, x: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """Returns (stage output ``[N, H*W, C]``, input of the next stage, its height, its width)."""
        layouts = {shift: window_layout(h, w, self.window, shift, x.device) for shift in (0, self.shift)}
        for block in self.blocks:
            x = block(x, layouts[block.shift])
        if self.downsample is None:
            return x, x, h, w
        return x, self.downsample(x, h, w), (h + 1) // 2, (w + 1) // 2


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
        x = self.patch_embed(x)
        h, w = x.shape[-2:]
        x = self.patch_embed.norm(x.flatten(2).transpose(1, 2))
        outs = []
        for i, stage in enumerate(self.layers):
            out, x, next_h, next_w = stage(x, h, w)
            out = getattr(self, f"norm{i}")(out)
            outs.append(out.view(-1, h, w, self.channels[i]).permute(0, 3, 1, 2).contiguous())
            h, w = next_h, next_w
        return outs
