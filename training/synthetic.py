"""A synthetic thin-structure segmentation dataset: lines, rings and branching trees on textures.

Writes ``<folder>/im/NNNN.png`` (RGB) and ``<folder>/gt/NNNN.png`` (L, 0 or 255), a layout
``training.data.folder_samples`` reads. Every picture is a pure function of (seed, index).
Backgrounds mix a colour gradient, random stripes and noise; the structures are 1..4 px wide,
drawn in a colour that differs from the local background but not by much.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Background [size,size,3] float 0..255: gradient + two stripe patterns + noise."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(40, 215, 3)
    slope = rng.uniform(-60, 60, (2, 3))
    image = base + x[..., None] * slope[0] + y[..., None] * slope[1]
    for _ in range(2):
        freq = rng.uniform(3, 20)
        angle = rng.uniform(0, math.pi)
        phase = rng.uniform(0, 2 * math.pi)
        stripes = np.sin(2 * math.pi * freq * (x * math.cos(angle) + y * math.sin(angle)) + phase)
        image = image + stripes[..., None] * rng.uniform(5, 30, 3)
    image = image + rng.normal(0, rng.uniform(3, 12), image.shape)
    return np.clip(image, 0, 255)


def _draw_line(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, width: int) -> None:
    x0, y0, x1, y1 = rng.uniform(0, size, 4)
    draw.line([(x0, y0), (x1, y1)], fill=255, width=width)


def _draw_ring(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, width: int) -> None:
    r = rng.uniform(0.1, 0.35) * size
    cx, cy = rng.uniform(r * 0.5, size - r * 0.5, 2)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=255, width=width)


def _draw_branch(
    draw: ImageDraw.ImageDraw,
    rng: np.random.Generator,
    x: float,
    y: float,
    angle: float,
    length: float,
    depth: int,
) -> None:
    x1, y1 = x + length * math.cos(angle), y + length * math.sin(angle)
    draw.line([(x, y), (x1, y1)], fill=255, width=max(1, depth))
    if depth > 1:
        for turn in (-1, 1):
            spread = rng.uniform(0.3, 0.8)
            _draw_branch(draw, rng, x1, y1, angle + turn * spread, length * rng.uniform(0.55, 0.8), depth - 1)


def thin_structure_pair(seed: int, index: int, size: int = 128) -> tuple[Image.Image, Image.Image]:
    """One (RGB image, L mask) pair of side ``size``."""
    rng = np.random.default_rng([seed, index])
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 3))
        width = int(rng.integers(1, 5))
        if kind == 0:
            _draw_line(draw, rng, size, width)
        elif kind == 1:
            _draw_ring(draw, rng, size, width)
        else:
            x, y = rng.uniform(0.2 * size, 0.8 * size, 2)
            _draw_branch(draw, rng, x, y, rng.uniform(0, 2 * math.pi), size * rng.uniform(0.15, 0.3), 3)
    background = _texture(rng, size)
    shift = rng.choice([-1.0, 1.0], 3) * rng.uniform(50, 110, 3)
    foreground = np.clip(background.mean(axis=(0, 1)) + shift + rng.normal(0, 6, background.shape), 0, 255)
    alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255.0
    image = background * (1 - alpha) + foreground * alpha
    return Image.fromarray(image.round().astype(np.uint8), "RGB"), mask


def write_thin_structure_dataset(
    folder: str | os.PathLike, count: int, seed: int = 0, size: int = 128
) -> Path:
    """Write ``count`` pairs into ``folder/im`` and ``folder/gt``; returns the folder."""
    folder = Path(folder)
    (folder / "im").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        image, mask = thin_structure_pair(seed, index, size)
        image.save(folder / "im" / f"{index:05d}.png")
        mask.save(folder / "gt" / f"{index:05d}.png")
    return folder
