"""Preview files for the front end, written to ComfyUI's temp folder as the core preview nodes do.

Each node that previews returns ``io.NodeOutput(..., ui=...)`` with one custom key, ``birefnet_preview``,
which web/birefnet_exact.js reads in ``onExecuted``:

- cut-out (Composite, Remove background): ``{"kind": "cutout", "before": file, "after": file}``; "after"
  is an RGBA PNG when the result has alpha. The UI shows it over a checkerboard with a before/after slider.
- mask (Segment, Refine): ``{"kind": "mask", "image": file or None, "mask": file}``; the UI tints the mask
  over the image.

A file is ``{"filename", "subfolder", "type": "temp"}``, fetched by the UI through ``/view``. The payload's own
files are the batch's first image; ``frames`` lists the files of the first ``MAX_PREVIEW_FRAMES`` images
(the first again, then the next ones: the UI steps through them; fewer when the file cap below is lower),
never more, so a video batch does not write every frame; ``batch`` says how many images there were. ComfyUI empties the temp folder only when it starts, so a server that runs for days would pile
up previews: after each preview the oldest of this pack's preview files (``birefnet_*_.png`` in the temp
folder) beyond the newest MAX_PREVIEW_FILES are removed (``BIREFNET_MAX_PREVIEW_FILES`` overrides the number;
the files of the preview just written are always kept).
"""

from __future__ import annotations

import os
import secrets

import folder_paths
import numpy as np
import torch
from PIL import Image

PREVIEW_KEY = "birefnet_preview"
PNG_COMPRESS_LEVEL = 1  # as ComfyUI's PreviewImage: previews are written often and read once
PREVIEW_PREFIX = "birefnet_"
MAX_PREVIEW_FILES = 200
"""Newest preview files of this pack kept in the temp folder (100 mask or cut-out previews of two files)."""
MAX_PREVIEW_FRAMES = 8
"""Images of a batch written for a preview (the UI steps through them); the rest are not written."""


def max_preview_files() -> int:
    """MAX_PREVIEW_FILES, or ``BIREFNET_MAX_PREVIEW_FILES`` when set to a whole number (at least 2)."""
    try:
        return max(2, int(os.environ["BIREFNET_MAX_PREVIEW_FILES"]))
    except (KeyError, ValueError):
        return MAX_PREVIEW_FILES


def prune_previews(keep: set[str]) -> int:
    """Remove this pack's oldest preview files in the temp folder beyond the newest ``max_preview_files()``,
    never one named in ``keep``; returns how many were removed. Files another process removed are skipped."""
    temp_dir = folder_paths.get_temp_directory()
    try:
        entries = [
            e
            for e in os.scandir(temp_dir)
            if e.name.startswith(PREVIEW_PREFIX) and e.name.endswith("_.png") and e.is_file()
        ]
    except OSError:
        return 0
    excess = len(entries) - max_preview_files()
    if excess <= 0:
        return 0
    stamped = []
    for entry in entries:
        try:
            stamped.append((entry.stat().st_mtime_ns, entry.name, entry.path))
        except OSError:
            continue
    removed = 0
    for _, name, path in sorted(stamped)[:excess]:
        if name in keep:
            continue
        try:
            os.remove(path)
            removed += 1
        except OSError:
            pass
    return removed


def _to_pil(image: torch.Tensor) -> Image.Image:
    """One IMAGE frame ``[H, W, 3|4]`` (0..1) or MASK frame ``[H, W]`` (0..1) as an 8-bit RGB / RGBA / L image."""
    array = (image.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(f"cannot preview an array of shape {list(array.shape)}")
    return Image.fromarray(np.ascontiguousarray(array))  # L, RGB or RGBA from the shape


def save_temp_png(image: torch.Tensor, prefix: str) -> dict:
    """Write one frame to ComfyUI's temp folder; returns the UI file reference (type "temp")."""
    temp_dir = folder_paths.get_temp_directory()
    name = f"{prefix}_{secrets.token_hex(4)}"
    folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(name, temp_dir, 0, 0)
    os.makedirs(folder, exist_ok=True)
    file = f"{filename}_{counter:05}_.png"
    _to_pil(image).save(os.path.join(folder, file), compress_level=PNG_COMPRESS_LEVEL)
    return {"filename": file, "subfolder": subfolder, "type": "temp"}


def _frame(batch: torch.Tensor, index: int) -> torch.Tensor:
    """Image ``index`` of ``batch`` [B, ...], or its last image when the batch is shorter (a single image
    that went with a whole batch)."""
    return batch[min(index, batch.shape[0] - 1)]


def preview_frame_count(batch: int) -> int:
    """How many images of a batch of ``batch`` a preview writes: at most MAX_PREVIEW_FRAMES, and never more
    than ``max_preview_files()`` allows (two files an image), so the temp folder stays within that cap."""
    return max(1, min(batch, MAX_PREVIEW_FRAMES, max_preview_files() // 2))


def _payload(head: dict, frames: list[dict]) -> dict:
    """The UI payload: ``head`` (kind, batch), the first frame's files (what older front-end code reads) and
    all frames under ``frames``; prunes older preview files, never these."""
    payload = {**head, **frames[0], "frames": frames}
    prune_previews({f["filename"] for frame in frames for f in frame.values() if f is not None})
    return {PREVIEW_KEY: [payload]}


def cutout_preview(before: torch.Tensor, after: torch.Tensor) -> dict:
    """UI payload comparing the input images ``before`` [B,H,W,C] with the results ``after`` [B,H,W,C]
    (0..1; C = 4 when the result has alpha), for the first ``preview_frame_count`` images."""
    frames = [
        {
            "before": save_temp_png(_frame(before, i)[..., :3], "birefnet_before"),
            "after": save_temp_png(after[i], "birefnet_after"),
        }
        for i in range(preview_frame_count(after.shape[0]))
    ]
    return _payload({"kind": "cutout", "batch": int(after.shape[0])}, frames)


def mask_preview(mask: torch.Tensor, image: torch.Tensor | None) -> dict:
    """UI payload with the masks [B,H,W] (0..1, 1 = foreground) and, when given at the same size, their images
    [B,H,W,C], for the first ``preview_frame_count`` images."""
    same_size = image is not None and tuple(image.shape[1:3]) == tuple(mask.shape[1:3])
    frames = [
        {
            "image": save_temp_png(_frame(image, i)[..., :3], "birefnet_image") if same_size else None,
            "mask": save_temp_png(mask[i], "birefnet_mask"),
        }
        for i in range(preview_frame_count(mask.shape[0]))
    ]
    return _payload({"kind": "mask", "batch": int(mask.shape[0])}, frames)
