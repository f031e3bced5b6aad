"""Reading photos and writing masks / cut-outs as files (used by the command line)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from ..errors import BiRefNetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
"""File types picked up when a folder is given."""
_EXIF_ORIENTATION = 0x0112


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


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of an image file as `load_rgb_image` gives it (EXIF orientation applied), read from
    its header only; None when the file cannot be read (that image fails later, with the reason)."""
    try:
        with Image.open(path) as opened:
            width, height = opened.size
            turned = opened.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8)  # 90 or 270 degrees
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return (height, width) if turned else (width, height)


def load_region(path: str | os.PathLike, flag: str = "--region") -> torch.Tensor:
    """A region mask file as float32 `[H, W]` in 0..1 (1 = the object), upright by its EXIF orientation.

    An image with transparency (any alpha below 255) gives its alpha (a cut-out works as a region); any other
    gives its luminance (white = object; grey, RGB, palette). Raises BiRefNetError naming `flag` and the file.
    """
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BiRefNetError(f"{flag}: cannot read the region mask {path}: {error}") from error
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit grey: scale by the type's range
        values = np.asarray(image, dtype=np.float32)
        return torch.from_numpy(values / (1.0 if image.mode == "F" else 65535.0)).clamp_(0, 1)
    if "A" in image.getbands() or "transparency" in image.info:
        alpha = np.asarray(image.convert("RGBA").getchannel("A"))
        if alpha.min() < 255:
            return torch.from_numpy(alpha.astype(np.float32) / 255.0)
    return torch.from_numpy(np.asarray(image.convert("L"), dtype=np.float32) / 255.0)


def mask_to_uint8(mask: torch.Tensor) -> np.ndarray:
    """A float mask [H, W] in 0..1 as uint8 [H, W] in 0..255 (rounded to nearest)."""
    return (mask.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _png_text(text: Mapping[str, str] | None) -> dict[str, PngInfo]:
    if not text:
        return {}
    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    return {"pnginfo": info}


def save_mask(mask: np.ndarray, path: str | os.PathLike, text: Mapping[str, str] | None = None) -> None:
    """Write a uint8 mask [H, W] as an 8-bit grey ("L") PNG (with `text` chunks when given)."""
    Image.fromarray(mask).save(path, **_png_text(text))


def save_cutout(
    image: Image.Image, mask: np.ndarray, path: str | os.PathLike, text: Mapping[str, str] | None = None
) -> None:
    """Write `image`'s RGB with the uint8 mask [H, W] as alpha, as an RGBA PNG (`text`: PNG text chunks)."""
    if (image.height, image.width) != mask.shape:
        raise BiRefNetError(
            f"Mask size {mask.shape[1]}x{mask.shape[0]} does not match image size {image.width}x{image.height}."
        )
    cutout = image.convert("RGB")
    cutout.putalpha(Image.fromarray(mask))
    cutout.save(path, **_png_text(text))
