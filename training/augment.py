"""Training augmentations of the reference recipe, on PIL images, driven by an explicit RNG.

Order: horizontal flip (p 0.5) -> rotation (p 0.2, uniform -15..15 degrees; bicubic image,
bilinear mask, zero fill) -> colour enhancement (brightness and contrast 0.5..1.5, colour 0..2,
sharpness 0..3) -> pepper noise (0.15% of the image's pixels set to black or white).
Masks only follow the geometric steps. The RNG is a ``numpy.random.Generator`` so each sample's
augmentation can be reproduced from a seed (exact resume, any number of workers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance


@dataclass(frozen=True)
class AugmentConfig:
    """Switches and ranges of the augmentations (defaults: the reference recipe)."""

    flip_p: float = 0.5
    rotate_p: float = 0.2
    rotate_degrees: float = 15.0
    brightness: tuple[float, float] = (0.5, 1.5)
    contrast: tuple[float, float] = (0.5, 1.5)
    colour: tuple[float, float] = (0.0, 2.0)
    sharpness: tuple[float, float] = (0.0, 3.0)
    enhance: bool = True
    pepper_fraction: float = 0.0015


NO_AUGMENT = AugmentConfig(flip_p=0.0, rotate_p=0.0, enhance=False, pepper_fraction=0.0)


def pepper(image: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    """Set ``int(fraction * H * W)`` random pixels (all channels) to 0 or 255."""
    array = np.array(image)
    h, w = array.shape[:2]
    count = int(fraction * h * w)
    if count == 0:
        return image
    rows = rng.integers(0, h, count)
    cols = rng.integers(0, w, count)
    array[rows, cols] = (rng.integers(0, 2, count) * 255).astype(array.dtype)[:, None]
    return Image.fromarray(array)


def augment(
    image: Image.Image, mask: Image.Image, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()
) -> tuple[Image.Image, Image.Image]:
    """Augment an RGB image and its 'L' mask of the same size; returns new PIL images."""
    if rng.random() < config.flip_p:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < config.rotate_p:
        angle = float(rng.uniform(-config.rotate_degrees, config.rotate_degrees))
        image = image.rotate(angle, Image.Resampling.BICUBIC)
        mask = mask.rotate(angle, Image.Resampling.BILINEAR)
    if config.enhance:
        image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(*config.brightness)))
        image = ImageEnhance.Contrast(image).enhance(float(rng.uniform(*config.contrast)))
        image = ImageEnhance.Color(image).enhance(float(rng.uniform(*config.colour)))
        image = ImageEnhance.Sharpness(image).enhance(float(rng.uniform(*config.sharpness)))
    if config.pepper_fraction > 0:
        image = pepper(image, config.pepper_fraction, rng)
    return image, mask
