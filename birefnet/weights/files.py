"""Reading BiRefNet checkpoints safely and working out which network they describe.

Files are read with ``safetensors`` or ``torch.load(..., weights_only=True)``: nothing in a model
file is ever executed.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterable, Mapping

import torch

from ..errors import BiRefNetError
from ..network.backbones import PVT_V2_CONFIGS, SWIN_CONFIGS

CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_NESTED_KEYS = ("state_dict", "model", "model_state_dict", "module")
_CONVERT_GROUP_BYTES = 64 << 20


def read_state_dict(path: str | os.PathLike, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Read a checkpoint file into a ``{key: tensor}`` dict on the CPU.

    ``.safetensors`` through safetensors; ``.pth``/``.pt``/``.bin``/``.ckpt`` through
    ``torch.load(weights_only=True)``. ``dtype``: floating-point tensors are converted to it; a safetensors
    file is converted tensor by tensor as it is read, so an fp32 file read as bf16 never holds all its fp32
    tensors at once. Raises :class:`BiRefNetError` for a missing, empty, truncated or foreign file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise BiRefNetError(f"checkpoint file not found: {path}. Check the path, or pick a file that exists.")
    if os.path.getsize(path) == 0:
        raise BiRefNetError(f"checkpoint file is empty (0 bytes): {path}. Download it again.")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in CHECKPOINT_SUFFIXES:
        raise BiRefNetError(
            f"{path}: unsupported checkpoint type {suffix!r}; use one of {', '.join(CHECKPOINT_SUFFIXES)}."
        )
    if suffix == ".safetensors":
        return _read_safetensors(path, dtype)
    return {key: _as_dtype(value, dtype) for key, value in _read_pickle(path).items()}


def _as_dtype(value: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """``value`` with floating point converted to ``dtype`` (``None``: unchanged). When converting, other
    tensors are copied: safetensors' tensors are views of the mapped file, and one small integer buffer left
    as a view would keep the whole fp32 file mapped and counted in the process's memory."""
    if dtype is None:
        return value
    return value.to(dtype) if value.is_floating_point() else value.clone()


def _read_safetensors(path: str, dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    try:
        if dtype is None:
            with safe_open(path, framework="pt", device="cpu") as file:
                return {key: file.get_tensor(key) for key in file.keys()}
        # Converting: the file is mapped for one group of tensors at a time, so that only about
        # _CONVERT_GROUP_BYTES of its pages count in the process's memory besides the converted tensors.
        state_dict: dict[str, torch.Tensor] = {}
        with safe_open(path, framework="pt", device="cpu") as file:
            keys = list(file.keys())
        while len(state_dict) < len(keys):
            group_bytes = 0
            with safe_open(path, framework="pt", device="cpu") as file:
                for key in keys[len(state_dict) :]:
                    value = file.get_tensor(key)
                    state_dict[key] = _as_dtype(value, dtype)
                    group_bytes += value.numel() * value.element_size()
                    del value
                    if group_bytes >= _CONVERT_GROUP_BYTES:
                        break
        return state_dict
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise BiRefNetError(
            f"{path} is not a readable safetensors file ({err}). It may be truncated or not a checkpoint: "
            "download it again."
        ) from err


def _read_pickle(path: str) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad or unsafe pickle
        raise BiRefNetError(
            f"{path} could not be read as a PyTorch checkpoint with weights_only=True ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). It may be truncated, not a checkpoint, or contain "
            "code; use a .safetensors file instead."
        ) from err
    return unwrap_state_dict(obj, source=path)


def unwrap_state_dict(obj: object, source: str = "state dict") -> dict[str, torch.Tensor]:
    """Find the ``{key: tensor}`` mapping in a loaded object (a plain state dict or one nested under
    ``state_dict`` / ``model`` / ``model_state_dict``)."""
    for _ in range(3):
        if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
        if isinstance(obj, Mapping):
            nested = next((obj[k] for k in _NESTED_KEYS if isinstance(obj.get(k), Mapping)), None)
            if nested is not None:
                obj = nested
                continue
        break
    raise BiRefNetError(f"{source} does not hold a state dict of tensors; is it a model checkpoint?")


def strip_prefixes(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove the ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes, in any nesting."""
    out = {}
    for key, value in state_dict.items():
        changed = True
        while changed:
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix) :], True
        out[key.replace("._orig_mod.", ".")] = value
    return out


_ENCODER_KEYS = ("bb.patch_embed.proj.weight", "bb.patch_embed1.proj.weight")
_MAX_HEADER_BYTES = 100 * 1024 * 1024

# What a file that is not BiRefNet seems to be, by the key prefixes / fragments its tensors have. Checked in
# order; each entry: (description, fragments that must all occur in some key).
_OTHER_MODELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "a diffusion model checkpoint (Stable Diffusion style 'model.diffusion_model.' keys)",
        ("model.diffusion_model.",),
    ),
    ("a VAE ('first_stage_model.' keys)", ("first_stage_model.",)),
    ("a VAE (encoder.down / decoder.up keys)", ("encoder.down.", "decoder.up.")),
    ("a LoRA (lora_ keys)", ("lora_",)),
    (
        "a Segment Anything (SAM) model (image_encoder / mask_decoder keys)",
        ("image_encoder.", "mask_decoder."),
    ),
    ("a U^2-Net model (rembg's u2net, 'stage1.rebnconvin' keys)", ("stage1.rebnconvin",)),
    ("a CLIP model (text_model / vision_model keys)", ("_model.encoder.layers.",)),
    ("an upscale model (ESRGAN style 'conv_first' keys)", ("conv_first.",)),
)


def read_safetensors_header(path: str | os.PathLike) -> dict[str, dict]:
    """The tensor table of a ``.safetensors`` file, ``{key: {"dtype", "shape", "data_offsets"}}``.

    Reads only the file's JSON header (a few kilobytes), not the weights. Raises :class:`BiRefNetError`
    when the file is not a readable safetensors file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            head = file.read(8)
            size = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if not 0 < size <= min(_MAX_HEADER_BYTES, os.path.getsize(path) - 8):
                raise ValueError("bad header length")
            header = json.loads(file.read(size))
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise BiRefNetError(
            f"{path} is not a readable safetensors file ({err}). It may be truncated or not a checkpoint: "
            "download it again."
        ) from err
    if not isinstance(header, dict):
        raise BiRefNetError(f"{path} has no safetensors tensor table; is it a model checkpoint?")
    header.pop("__metadata__", None)
    return header


def not_birefnet_reason(keys: Iterable[str]) -> str | None:
    """None when the key names are a BiRefNet's (an encoder under ``bb.``), else what the file seems to be.

    Wrapper prefixes (``module.``, ``_orig_mod.``) are ignored, as the loader ignores them.
    """
    names = list(strip_prefixes(dict.fromkeys(keys, None)))
    if any(name in _ENCODER_KEYS for name in names):
        return None
    for description, fragments in _OTHER_MODELS:
        if all(any(fragment in name for name in names) for fragment in fragments):
            return description
    sample = ", ".join(names[:4])
    return f"an unknown network with {len(names)} tensors and no 'bb.patch_embed' encoder keys (first keys: {sample})"


def check_birefnet_file(path: str | os.PathLike) -> None:
    """Refuse a ``.safetensors`` file whose tensor names are not a BiRefNet's, reading only its header.

    Raises :class:`BiRefNetError` naming the file and what it seems to be. Other file types pass (their
    keys are only known after loading them; ``infer_backbone`` checks them then).
    """
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() != ".safetensors":
        return
    reason = not_birefnet_reason(read_safetensors_header(path))
    if reason is not None:
        raise BiRefNetError(
            f"{path} is not a BiRefNet checkpoint: it looks like {reason}. Use it with the node that "
            "loads that kind of model, and pick a BiRefNet file here (ZhengPeng7/BiRefNet, briaai/RMBG-2.0, "
            "or ComfyUI's background_removal/birefnet.safetensors)."
        )


def _count(state_dict: Mapping[str, torch.Tensor], pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m.group(1) for key in state_dict if (m := regex.match(key))})


def infer_backbone(state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> str:
    """Name of the encoder (``swin_v1_t`` ... ``pvt_v2_b5``) whose shapes the checkpoint's ``bb.`` keys have."""
    if "bb.patch_embed.proj.weight" in state_dict:
        embed_dim = state_dict["bb.patch_embed.proj.weight"].shape[0]
        depths = tuple(_count(state_dict, rf"bb\.layers\.{i}\.blocks\.(\d+)\.") for i in range(4))
        for name, cfg in SWIN_CONFIGS.items():
            if cfg.embed_dim == embed_dim and cfg.depths == depths:
                return name
        found = f"Swin encoder with embed dim {embed_dim} and depths {depths}"
    elif "bb.patch_embed1.proj.weight" in state_dict:
        dims = tuple(
            state_dict[f"bb.patch_embed{i}.proj.weight"].shape[0]
            for i in range(1, 5)
            if f"bb.patch_embed{i}.proj.weight" in state_dict
        )
        depths = tuple(_count(state_dict, rf"bb\.block{i}\.(\d+)\.") for i in range(1, 5))
        for name, cfg in PVT_V2_CONFIGS.items():
            if cfg.embed_dims == dims and cfg.depths == depths:
                return name
        found = f"PVT v2 encoder with dims {dims} and depths {depths}"
    else:
        raise BiRefNetError(
            f"{source} is not a BiRefNet checkpoint: it looks like {not_birefnet_reason(state_dict)}. Use a "
            "BiRefNet checkpoint such as ZhengPeng7/BiRefNet or briaai/RMBG-2.0."
        )
    raise BiRefNetError(
        f"{source} holds a {found}, which matches none of the released BiRefNet encoders "
        f"({', '.join(list(SWIN_CONFIGS) + list(PVT_V2_CONFIGS))})."
    )
