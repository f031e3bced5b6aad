"""What each entry of the model lists is: a local file, a released variant on disk, or one that downloads.

``model_entries()`` is the JSON the front end shows next to the model combos (route in ``routes.py``).
Sizes of variants not on disk are computed from the architecture: parameter count of the backbone's
BiRefNet (built on the meta device, no memory) times the bytes of the released file's dtype.
"""

from __future__ import annotations

import functools
import os
import pathlib

import torch

from ..birefnet import BiRefNet, Variant, find_local_variant_in, find_variant, parse_dtype, variant_for_path
from .model_files import download_dir, folder_dirs, local_checkpoint_paths, model_choices


@functools.cache
def parameter_count(backbone: str) -> int:
    """Number of values in the state dict of ``BiRefNet(backbone)`` (e.g. 220,700,285 for swin_v1_l)."""
    with torch.device("meta"):
        model = BiRefNet(backbone)
    return sum(value.numel() for value in model.state_dict().values())


def download_bytes(variant: Variant) -> int:
    """Approximate size of the released weights file in bytes (tensor data; the header is a few KB)."""
    return parameter_count(variant.backbone) * parse_dtype(variant.stored_dtype).itemsize


def variant_json(variant: Variant) -> dict:
    """The registry facts a person choosing a model needs."""
    return {
        "name": variant.name,
        "repo_id": variant.repo_id,
        "page_url": variant.page_url,
        "backbone": variant.backbone,
        "resolution": list(variant.resolution) if variant.resolution else None,
        "task": variant.task,
        "license": variant.license,
        "gated": variant.gated,
        "non_commercial": "non-commercial" in variant.license.lower(),
        "description": variant.description,
    }


def describe_choice(choice: str, local_files: dict[str, pathlib.Path]) -> dict:
    """One entry: ``kind`` is "file" (a checkpoint in a model folder), "variant_on_disk" (a variant name
    whose file is already in a model folder) or "download" (a variant that downloads when allowed)."""
    if choice in local_files:
        path = local_files[choice]
        variant = variant_for_path(path)
        return {
            "name": choice,
            "kind": "file",
            "file": str(path),
            "size_bytes": path.stat().st_size,
            "variant": variant_json(variant) if variant else None,
        }
    variant = find_variant(choice)
    if variant is None:  # listed but gone since (deleted file): the loader will say so
        return {"name": choice, "kind": "missing", "file": None, "size_bytes": None, "variant": None}
    on_disk = find_local_variant_in(variant, folder_dirs())
    if on_disk is not None:
        return {
            "name": choice,
            "kind": "variant_on_disk",
            "file": str(on_disk),
            "size_bytes": on_disk.stat().st_size,
            "variant": variant_json(variant),
        }
    return {
        "name": choice,
        "kind": "download",
        "file": str(download_dir() / f"{variant.name}.safetensors"),
        "size_bytes": download_bytes(variant),
        "variant": variant_json(variant),
    }


def model_entries() -> dict:
    """``{"models": [one entry per model choice, in the combos' order], "folders": [model folders searched],
    "download_folder": where downloads go}``."""
    local_files = local_checkpoint_paths()
    return {
        "models": [describe_choice(choice, local_files) for choice in model_choices()],
        "folders": [os.fspath(p) for p in folder_dirs()],
        "download_folder": os.fspath(download_dir()),
    }
