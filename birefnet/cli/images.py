"""Reading photos and writing masks / cut-outs as files (used by the command line)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import BiRefNetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
"""File types picked up when a folder is given."""


def collect_image_files(inputs: Iterable[str | os.PathLike]) -> list[pathlib.Path]:
    """Files to process: given files as they are, folders scanned (not recursively) for IMAGE_SUFFIXES.

    Folder contents come sorted by name. Raises BiRefNetError for a missing path or when nothing is found.
    """
    files: list[pathlib.Path] = []
    for item in inputs:
        path = pathlib.Path(item).expanduser()
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise BiRefNetError(f"Input {path} does not exist.")
    if not files:
        raise BiRefNetError(
            f"No images found in {', '.join(map(str, inputs))} (looked for {', '.join(IMAGE_SUFFIXES)})."
        )
    return files


def load_rgb_image(path: str | os.PathLike) -> Image.Image:
    """Open an image file as an RGB PIL image, turned upright by its EXIF orientation; alpha is dropped."""
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BiRefNetError(f"Cannot read image {path}: {error}") from error


def mask_to_uint8(mask: torch.Tensor) -> np.ndarray:
    """A float mask [H, W] in 0..1 as uint8 [H, W] in 0..255 (rounded to nearest)."""
    return (mask.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def save_mask(mask: np.ndarray, path: str | os.PathLike) -> None:
    """Write a uint8 mask [H, W] as an 8-bit grey ("L") PNG."""
    Image.fromarray(mask).save(path)


def save_cutout(image: Image.Image, mask: np.ndarray, path: str | os.PathLike) -> None:
    """Write `image`'s RGB with the uint8 mask [H, W] as alpha, as an RGBA PNG."""
    if (image.height, image.width) != mask.shape:
        raise BiRefNetError(
            f"Mask size {mask.shape[1]}x{mask.shape[0]} does not match image size {image.width}x{image.height}."
        )
    cutout = image.convert("RGB")
    cutout.putalpha(Image.fromarray(mask))
    cutout.save(path)
