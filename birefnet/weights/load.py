"""``load_model``: any released BiRefNet checkpoint (file or state dict) to a ready-to-run model."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import torch

from ..errors import BiRefNetError
from ..inference.precision import parse_dtype
from ..network.backbones import relative_position_index
from ..network.model import BiRefNet
from ..network.patches import PATCH_ORDERS
from .files import check_birefnet_file, infer_backbone, read_state_dict, strip_prefixes
from .registry import variant_for_path

logger = logging.getLogger(__name__)


def _complete_buffers(expected: dict[str, torch.Tensor], state_dict: dict[str, torch.Tensor]) -> None:
    """Add the entries older or slimmed checkpoints omit: Swin's relative_position_index and
    BatchNorm's num_batches_tracked (neither is learned)."""
    for key, value in expected.items():
        if key in state_dict:
            continue
        if key.endswith(".relative_position_index"):
            window = int(round(value.shape[0] ** 0.5))
            state_dict[key] = relative_position_index(window)
        elif key.endswith(".num_batches_tracked"):
            state_dict[key] = torch.zeros((), dtype=torch.long)


def _check_keys(
    model: BiRefNet, expected: dict[str, torch.Tensor], state_dict: dict[str, torch.Tensor], source: str
) -> None:
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing:
        extra = f" and {len(unexpected)} unexpected keys ({_few(unexpected)})" if unexpected else ""
        raise BiRefNetError(
            f"{source} is missing {len(missing)} keys of a {model.backbone_name} BiRefNet ({_few(missing)})"
            f"{extra}. Is it a checkpoint of another network or an incomplete file?"
        )
    if unexpected:
        logger.warning(
            "%s: ignoring %d keys BiRefNet does not use (%s)", source, len(unexpected), _few(unexpected)
        )
        for key in unexpected:
            del state_dict[key]
    for key, param in expected.items():
        got = tuple(state_dict[key].shape)
        if got != tuple(param.shape):
            raise BiRefNetError(
                f"{source}: key {key!r} has shape {list(got)}, but a {model.backbone_name} BiRefNet needs "
                f"{list(param.shape)}. The file was made for a differently configured network."
            )


def _few(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_model(
    source: str | os.PathLike | Mapping[str, torch.Tensor],
    *,
    patch_order: str | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | str | None = None,
) -> BiRefNet:
    """Build the BiRefNet a checkpoint describes and load its weights.

    Args:
        source: a ``.safetensors`` / ``.pth`` / ``.pt`` / ``.bin`` file, or a state dict. The encoder and every
            shape are read off the keys; ``module.`` and ``_orig_mod.`` prefixes are removed.
        patch_order: InRef patch channel order (``current`` or ``legacy``); ``None`` takes it from the variant
            registry when the file is a known release, else ``current``.
        device: where the model lives (default CPU).
        dtype: parameter dtype, ``fp32`` (default), ``fp16`` or ``bf16``, whatever the file stores.

    Returns:
        The model in ``eval()`` mode; ``model.variant`` is the registry entry when the file is a known release.
    """
    variant = None
    target_dtype = parse_dtype(dtype)
    if isinstance(source, Mapping):
        name = "state dict"
        state_dict = dict(source)
    else:
        name = os.fspath(source)
        if os.path.isfile(name):
            check_birefnet_file(name)  # header only: a 900 MB file of another network is refused at once
        state_dict = read_state_dict(name, target_dtype)
        variant = variant_for_path(name)
    if not state_dict:
        raise BiRefNetError(f"{name} is empty: it holds no tensors.")
    state_dict = strip_prefixes(state_dict)
    if patch_order is None:
        patch_order = variant.patch_order if variant is not None else "current"
    if patch_order not in PATCH_ORDERS:
        raise BiRefNetError(f"unknown patch order {patch_order!r}; use 'current' or 'legacy'.")

    backbone = infer_backbone(state_dict, name)
    head = state_dict.get("cls_head.0.weight")
    num_classes = head.shape[0] if head is not None and head.ndim == 2 else 0
    with torch.device("meta"):
        model = BiRefNet(backbone, patch_order, num_classes)
    expected = model.state_dict(keep_vars=True)  # names and shapes (parameters on meta)
    _complete_buffers(expected, state_dict)
    _check_keys(model, expected, state_dict, name)
    for key, value in state_dict.items():
        if value.is_floating_point():
            state_dict[key] = value.to(target_dtype)
    model.load_state_dict(state_dict, strict=True, assign=True)
    for key, value in model.state_dict().items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise BiRefNetError(f"{name}: key {key!r} holds NaN or infinite values; the file is damaged.")
    model.variant = variant
    return model.to(device or "cpu").eval()
