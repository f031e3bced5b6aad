"""The released BiRefNet checkpoints: where they live, what they expect, how they were trained.

`VARIANTS` maps a variant name (the Hugging Face repository name, e.g. "BiRefNet_HR") to a `Variant`.
`get_variant` finds one by name, `variant_for_path` recognises a checkpoint file by its path.
"""

from __future__ import annotations

import difflib
import pathlib
from dataclasses import dataclass

from ..errors import BiRefNetError

MIT_LICENSE = "MIT"
RMBG_LICENSE = "CC BY-NC 4.0 (non-commercial; Bria AI licence)"


@dataclass(frozen=True)
class Variant:
    """One released checkpoint.

    name: the repository name, also the local file stem ("<name>.safetensors").
    repo_id: Hugging Face repository, "ZhengPeng7/<name>" or "briaai/RMBG-2.0".
    filename: the weights file inside the repository.
    backbone: "swin_v1_l", "swin_v1_t", ... (a `birefnet.model.BiRefNet` backbone name).
    resolution: native input size (width, height) in pixels, or None for dynamic (any size, aspect kept).
    task: what it was trained for: "general", "portrait", "matting", "DIS", "COD", "HRSOD".
    patch_order: "legacy" (released up to October 2024) or "current" (the decoder's image-patch order).
    license: short licence note for the weights.
    stored_dtype: precision of the released file, "fp32" or "fp16".
    description: one line for people.
    """

    name: str
    repo_id: str
    filename: str
    backbone: str
    resolution: tuple[int, int] | None
    task: str
    patch_order: str
    license: str
    stored_dtype: str
    description: str

    @property
    def url(self) -> str:
        """Direct download address of the weights file."""
        return f"https://huggingface.co/{self.repo_id}/resolve/main/{self.filename}"

    @property
    def page_url(self) -> str:
        """The repository's page (model card, licence, access request for gated repositories)."""
        return f"https://huggingface.co/{self.repo_id}"

    @property
    def gated(self) -> bool:
        """True when Hugging Face asks users to accept a licence before downloading."""
        return self.repo_id.startswith("briaai/")


def _zheng(
    name: str,
    backbone: str,
    resolution: tuple[int, int] | None,
    task: str,
    patch_order: str,
    stored_dtype: str,
    description: str,
) -> Variant:
    return Variant(
        name=name,
        repo_id=f"ZhengPeng7/{name}",
        filename="model.safetensors",
        backbone=backbone,
        resolution=resolution,
        task=task,
        patch_order=patch_order,
        license=MIT_LICENSE,
        stored_dtype=stored_dtype,
        description=description,
    )


_ALL = [
    _zheng("BiRefNet", "swin_v1_l", (1024, 1024), "general", "legacy", "fp32",
           "General-purpose background removal / foreground segmentation."),
    _zheng("BiRefNet_lite", "swin_v1_t", (1024, 1024), "general", "legacy", "fp32",
           "Lighter general model (Swin-T backbone): faster, slightly less accurate."),
    _zheng("BiRefNet_lite-2K", "swin_v1_t", (2560, 1440), "general", "legacy", "fp32",
           "Lighter general model trained at 2560x1440 for high-resolution landscape images."),
    _zheng("BiRefNet-portrait", "swin_v1_l", (1024, 1024), "portrait", "legacy", "fp32",
           "Portrait (people) segmentation."),
    _zheng("BiRefNet-matting", "swin_v1_l", (1024, 1024), "matting", "legacy", "fp32",
           "Soft alpha mattes (hair, fur, transparency)."),
    _zheng("BiRefNet_HR", "swin_v1_l", (2048, 2048), "general", "current", "fp16",
           "General model trained at 2048x2048 for high-resolution images."),
    _zheng("BiRefNet_HR-matting", "swin_v1_l", (2048, 2048), "matting", "current", "fp16",
           "Matting model trained at 2048x2048."),
    _zheng("BiRefNet_dynamic", "swin_v1_l", None, "general", "current", "fp16",
           "General model trained at varied sizes (256..2304 per side): keeps the aspect ratio."),
    _zheng("BiRefNet_dynamic-matting", "swin_v1_l", None, "matting", "current", "fp16",
           "Matting model trained at varied sizes: keeps the aspect ratio."),
    _zheng("BiRefNet_512x512", "swin_v1_l", (512, 512), "general", "current", "fp16",
           "General model trained at 512x512: fast, for small images."),
    _zheng("BiRefNet-DIS5K", "swin_v1_l", (1024, 1024), "DIS", "legacy", "fp32",
           "Dichotomous image segmentation, trained on DIS5K (benchmark weights)."),
    _zheng("BiRefNet-DIS5K-TR_TEs", "swin_v1_l", (1024, 1024), "DIS", "legacy", "fp32",
           "Dichotomous image segmentation, trained on DIS5K train + test sets."),
    _zheng("BiRefNet-HRSOD", "swin_v1_l", (1024, 1024), "HRSOD", "legacy", "fp32",
           "High-resolution salient object detection (benchmark weights)."),
    _zheng("BiRefNet-COD", "swin_v1_l", (1024, 1024), "COD", "legacy", "fp32",
           "Camouflaged object detection (benchmark weights)."),
    _zheng("BiRefNet-legacy", "swin_v1_l", (1024, 1024), "DIS", "legacy", "fp32",
           "The first public release (paper version), kept for reproducing published results."),
    Variant(
        name="RMBG-2.0",
        repo_id="briaai/RMBG-2.0",
        filename="model.safetensors",
        backbone="swin_v1_l",
        resolution=(1024, 1024),
        task="general",
        patch_order="legacy",
        license=RMBG_LICENSE,
        stored_dtype="fp32",
        description="Bria AI background removal (BiRefNet architecture); gated: accept the licence first.",
    ),
]  # fmt: skip

VARIANTS: dict[str, Variant] = {v.name: v for v in _ALL}
"""Every known checkpoint, by name."""


def _normalised(text: str) -> str:
    """Lower case with '-' and '_' treated alike: "birefnet-hr" and "BiRefNet_HR" compare equal."""
    return text.strip().lower().replace("-", "_")


_BY_NORMALISED_NAME = {_normalised(v.name): v for v in _ALL}
_BY_REPO_ID = {v.repo_id.lower(): v for v in _ALL}
_BY_CACHE_FOLDER = {("models--" + v.repo_id.replace("/", "--")).lower(): v for v in _ALL}
assert len(_BY_NORMALISED_NAME) == len(_ALL), "variant names must differ after normalisation"


def find_variant(name: str) -> Variant | None:
    """The variant called `name` (case-insensitive, '-' and '_' alike, or its repo id), else None."""
    key = name.strip().lower()
    if key in _BY_REPO_ID:
        return _BY_REPO_ID[key]
    return _BY_NORMALISED_NAME.get(_normalised(name))


def get_variant(name: str) -> Variant:
    """The variant called `name` ("BiRefNet_HR", "birefnet_hr", "ZhengPeng7/BiRefNet_HR", "RMBG-2.0").

    Raises BiRefNetError naming the closest known variants when there is no such variant.
    """
    variant = find_variant(name)
    if variant is not None:
        return variant
    close = difflib.get_close_matches(_normalised(name.split("/")[-1]), list(_BY_NORMALISED_NAME), n=3)
    hint = f" Did you mean {', '.join(_BY_NORMALISED_NAME[c].name for c in close)}?" if close else ""
    raise BiRefNetError(f"Unknown BiRefNet variant {name!r}.{hint} Known variants: {', '.join(VARIANTS)}.")


def variant_for_path(path: str | pathlib.Path) -> Variant | None:
    """Recognise a released checkpoint from its file path, or None.

    Recognised: a Hugging Face cache path (".../models--ZhengPeng7--BiRefNet_HR/snapshots/<hash>/..."),
    a file named after a variant ("BiRefNet_HR.safetensors", "rmbg-2.0.safetensors"), or a
    "model.safetensors" in a folder named after a variant (".../BiRefNet_HR/model.safetensors").
    """
    path = pathlib.Path(path)
    for part in path.parts:
        variant = _BY_CACHE_FOLDER.get(part.lower())
        if variant is not None:
            return variant
    variant = _BY_NORMALISED_NAME.get(_normalised(path.stem))
    if variant is not None:
        return variant
    if path.stem.lower() == "model":
        return _BY_NORMALISED_NAME.get(_normalised(path.parent.name))
    return None
