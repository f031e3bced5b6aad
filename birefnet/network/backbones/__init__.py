"""Encoders BiRefNet is released with: Swin v1 (t/s/b/l) and PVT v2 (b0/b1/b2/b5)."""

from __future__ import annotations

from torch import nn

from .drop_path import DropPath, drop_path_rates
from .pvt_v2 import PVT_V2_CONFIGS, PvtV2Config, PyramidVisionTransformerV2
from .swin import SWIN_CONFIGS, SwinConfig, SwinTransformer
from .swin_windows import relative_position_index

BACKBONES: tuple[str, ...] = tuple(SWIN_CONFIGS) + tuple(PVT_V2_CONFIGS)


def backbone_channels(name: str) -> tuple[int, int, int, int]:
    """Output channels of the four encoder stages, shallow to deep."""
    if name in SWIN_CONFIGS:
        return SWIN_CONFIGS[name].channels
    if name in PVT_V2_CONFIGS:
        return PVT_V2_CONFIGS[name].channels
    raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")


def build_backbone(name: str, drop_path_rate: float = 0.0) -> nn.Module:
    """A randomly initialised encoder by name (``swin_v1_t`` ... ``pvt_v2_b5``), with stochastic depth rising
    linearly to ``drop_path_rate`` over its blocks (training only; 0 = off)."""
    if name in SWIN_CONFIGS:
        return SwinTransformer(SWIN_CONFIGS[name], drop_path_rate)
    if name in PVT_V2_CONFIGS:
        return PyramidVisionTransformerV2(PVT_V2_CONFIGS[name], drop_path_rate)
    raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")


__all__ = [
    "BACKBONES",
    "DropPath",
    "PVT_V2_CONFIGS",
    "SWIN_CONFIGS",
    "PvtV2Config",
    "PyramidVisionTransformerV2",
    "SwinConfig",
    "SwinTransformer",
    "backbone_channels",
    "build_backbone",
    "drop_path_rates",
    "relative_position_index",
]
