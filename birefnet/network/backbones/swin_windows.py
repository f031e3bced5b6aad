"""Where Swin's tokens go in windows: the relative position index of a window, the shifted-window mask, and
the window layout (one gather replaces zero-padding to whole windows, the cyclic shift and the partition).
Index arithmetic only; the attention that uses it is in :mod:`.swin`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch


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
    """Consecutive windows of a :class:`WindowLayout` whose real tokens sit in the same slots and that all
    need the shifted-window mask or all do without it."""

    start: int  # first window (layout order)
    stop: int  # one past the last
    queries: torch.Tensor | None  # [Tq] int64 slots holding real tokens, ascending; None: every slot is real
    mask: torch.Tensor | None  # [stop - start, T, T] additive shifted-window mask (0 or -100); None: no mask


class WindowLayout(NamedTuple):
    """Where every token of one or more maps goes when each map is zero-padded to whole windows, cyclically
    shifted by ``-shift`` and cut into windows (tokens row-major inside a window); the maps' tokens are
    concatenated, map after map, and no window mixes two maps.

    Within a map, the windows that the shifted-window mask leaves alone (all but the last row and column of
    windows) come first, so attention needs the mask only for the windows after them. Both parts are grouped
    into runs by where their padding slots are (a few kinds: none, right, bottom, corner; with a shift the
    padding band may straddle two window rows or columns), so attention can skip the queries of padding
    slots, whose outputs are dropped."""

    gather: torch.Tensor  # [nW * T] token index per window slot; the token count marks a zero padding token
    order: torch.Tensor  # [nW] index of the window at each position, maps in order, row-major within a map
    padded: bool
    runs: tuple[WindowRun, ...]  # the windows in order, in runs of one padding pattern and mask need


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
    runs, start = [], 0
    for kind, count in zip(kinds.tolist(), counts.tolist(), strict=True):
        row, col = divmod(kind % patterns, len(col_patterns))
        real = (row_patterns[row][:, None] & col_patterns[col][None, :]).view(-1)  # [T]
        queries = None if bool(real.all()) else real.nonzero().squeeze(1)
        mask = region_mask(regions[order[start : start + count]]) if kind >= patterns else None
        runs.append(WindowRun(start, start + count, queries, mask))
        start += count
    return WindowLayout(gather[order].reshape(-1), order, hp != h or wp != w, tuple(runs))


def joint_window_layout(
    sizes: Sequence[tuple[int, int]], window: int, shift: int, device: torch.device
) -> WindowLayout:
    """The :class:`WindowLayout` of several maps (``(h, w)`` each) whose tokens are concatenated in order:
    each map's own layout, its token indices moved past the maps before it, its padding slots pointing at
    the one zero token after all of them."""
    layouts = [window_layout(h, w, window, shift, device) for h, w in sizes]
    if len(layouts) == 1:
        return layouts[0]
    total = sum(h * w for h, w in sizes)
    gathers, orders, runs = [], [], []
    tokens_before = windows_before = 0
    for (h, w), layout in zip(sizes, layouts, strict=True):
        real = layout.gather < h * w
        gathers.append(
            torch.where(real, layout.gather + tokens_before, torch.full_like(layout.gather, total))
        )
        orders.append(layout.order + windows_before)
        for run in layout.runs:
            runs.append(run._replace(start=run.start + windows_before, stop=run.stop + windows_before))
        tokens_before += h * w
        windows_before += len(layout.order)
    padded = any(layout.padded for layout in layouts)
    return WindowLayout(torch.cat(gathers), torch.cat(orders), padded, tuple(runs))
