"""Initialise BiRefNet's encoder from ImageNet weights through timm (optional dependency).

timm names its Swin v1 and PVT v2 parameters differently from the released BiRefNet checkpoints
(which follow the original Swin / PVT v2 code). ``timm_to_birefnet_key`` maps one onto the other:

PVT v2: ``patch_embed.*`` -> ``patch_embed1.*``; ``stages.i.downsample.*`` -> ``patch_embed{i+1}.*``;
``stages.i.blocks.j.*`` -> ``block{i+1}.j.*`` (``mlp.dwconv.*`` -> ``mlp.dwconv.dwconv.*``);
``stages.i.norm.*`` -> ``norm{i+1}.*``.
Swin v1: blocks and patch embedding keep their names; timm >= 0.9 runs patch merging at the start of
stage i (``layers.i.downsample``), the original at the end of stage i-1 (``layers.{i-1}.downsample``);
the final ``norm`` (after the last stage) -> ``norm3``. Classifier heads are dropped; the out norms
``norm0..norm2`` of Swin have no ImageNet counterpart and keep their initialisation.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from birefnet import BiRefNetError

TIMM_NAMES: dict[str, str] = {
    "swin_v1_t": "swin_tiny_patch4_window7_224",
    "swin_v1_s": "swin_small_patch4_window7_224",
    "swin_v1_b": "swin_base_patch4_window12_384",
    "swin_v1_l": "swin_large_patch4_window12_384",
    "pvt_v2_b0": "pvt_v2_b0",
    "pvt_v2_b1": "pvt_v2_b1",
    "pvt_v2_b2": "pvt_v2_b2",
    "pvt_v2_b5": "pvt_v2_b5",
}


def _pvt_key(key: str) -> str | None:
    if key.startswith("head."):
        return None
    if key.startswith("patch_embed."):
        return "patch_embed1." + key[len("patch_embed.") :]
    m = re.fullmatch(r"stages\.(\d+)\.downsample\.(.+)", key)
    if m:
        return f"patch_embed{int(m[1]) + 1}.{m[2]}"
    m = re.fullmatch(r"stages\.(\d+)\.norm\.(.+)", key)
    if m:
        return f"norm{int(m[1]) + 1}.{m[2]}"
    m = re.fullmatch(r"stages\.(\d+)\.blocks\.(\d+)\.(.+)", key)
    if m:
        rest = re.sub(r"^mlp\.dwconv\.", "mlp.dwconv.dwconv.", m[3])
        return f"block{int(m[1]) + 1}.{m[2]}.{rest}"
    return None


def _swin_key(key: str, downsample_at_stage_start: bool) -> str | None:
    if key.startswith("head.") or key.endswith("attn_mask") or key.endswith("relative_position_index"):
        return None
    if key.startswith("norm."):
        return "norm3." + key[len("norm.") :]
    m = re.fullmatch(r"layers\.(\d+)\.downsample\.(.+)", key)
    if m:
        stage = int(m[1]) - 1 if downsample_at_stage_start else int(m[1])
        return f"layers.{stage}.downsample.{m[2]}"
    if key.startswith("patch_embed.") or key.startswith("layers."):
        return key
    return None


def timm_to_birefnet_key(key: str, backbone: str, downsample_at_stage_start: bool = True) -> str | None:
    """Our encoder key (without the ``bb.`` prefix) for a timm key, or None when it has no counterpart."""
    if backbone.startswith("pvt_v2"):
        return _pvt_key(key)
    if backbone.startswith("swin_v1"):
        return _swin_key(key, downsample_at_stage_start)
    raise BiRefNetError(f"No timm mapping for backbone {backbone!r}; known: {', '.join(TIMM_NAMES)}.")


def map_timm_state_dict(timm_state: dict[str, torch.Tensor], backbone: str) -> dict[str, torch.Tensor]:
    """Rename a timm state dict to BiRefNet encoder keys (``bb.`` prefix included); unmapped keys are dropped."""
    # timm >= 0.9 has no downsample in stage 0; the original layout has none in the last stage.
    at_start = not any(k.startswith("layers.0.downsample.") for k in timm_state)
    mapped = {}
    for key, value in timm_state.items():
        ours = timm_to_birefnet_key(key, backbone, at_start)
        if ours is not None:
            mapped["bb." + ours] = value
    return mapped


def load_timm_weights(model: nn.Module, timm_state: dict[str, torch.Tensor]) -> list[str]:
    """Copy mapped timm weights into ``model`` (a ``birefnet.network.model.BiRefNet``); returns our encoder keys left
    at their initialisation. Shapes must match (pick the timm model with the same window size / depth)."""
    backbone = model.backbone_name
    mapped = map_timm_state_dict(timm_state, backbone)
    own = model.state_dict()
    for key, value in mapped.items():
        if key not in own:
            raise BiRefNetError(
                f"timm weight {key!r} has no place in BiRefNet({backbone}); is it the right model?"
            )
        if own[key].shape != value.shape:
            raise BiRefNetError(
                f"timm weight {key!r} has shape {tuple(value.shape)}, BiRefNet({backbone}) needs "
                f"{tuple(own[key].shape)}; use timm model {TIMM_NAMES.get(backbone)!r}."
            )
    model.load_state_dict(mapped, strict=False)
    return sorted(k for k in own if k.startswith("bb.") and k not in mapped)


def imagenet_backbone_state(backbone: str, timm_name: str | None = None) -> dict[str, torch.Tensor]:
    """Download (through timm and the Hugging Face hub) the ImageNet weights of ``backbone``."""
    try:
        import timm
    except ImportError as exc:
        raise BiRefNetError(
            "ImageNet initialisation needs timm: `pip install timm`, or start from a BiRefNet checkpoint "
            "with --init-checkpoint."
        ) from exc
    name = timm_name or TIMM_NAMES[backbone]
    return timm.create_model(name, pretrained=True).state_dict()
