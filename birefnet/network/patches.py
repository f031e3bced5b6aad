"""Cutting the input image into a grid of patches stacked on channels (BiRefNet's "InRef")."""

from __future__ import annotations

import torch

PATCH_ORDERS = ("current", "legacy")


def image_to_patches(x: torch.Tensor, grid_h: int, grid_w: int, order: str = "current") -> torch.Tensor:
    """Cut ``[N, C, H, W]`` into ``grid_h x grid_w`` patches stacked on channels.

    Returns ``[N, C*grid_h*grid_w, H/grid_h, W/grid_w]``. Channel order:

    - ``current`` (checkpoints trained since 2024-11-05): ``c*gh*gw + row*gw + col``;
    - ``legacy`` (older checkpoints): ``(col*gh + row)*C + c`` (patch-major, columns outer).
    """
    n, c, h, w = x.shape
    ph, pw = h // grid_h, w // grid_w
    x = x.reshape(n, c, grid_h, ph, grid_w, pw)
    if order == "current":
        x = x.permute(0, 1, 2, 4, 3, 5)  # n, c, row, col, ph, pw
    elif order == "legacy":
        x = x.permute(0, 4, 2, 1, 3, 5)  # n, col, row, c, ph, pw
    else:
        raise ValueError(f"unknown patch order {order!r}; use one of {PATCH_ORDERS}")
    return x.reshape(n, c * grid_h * grid_w, ph, pw)
