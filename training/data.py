"""Image/mask datasets: the DIS5K layout and any pair of image and mask folders.

DIS5K: ``<root>/DIS-TR``, ``DIS-VD``, ``DIS-TE1`` .. ``DIS-TE4``, each with ``im/`` (jpg) and ``gt/`` (png).
A split may name several folders joined by ``+`` ("DIS-TE1+DIS-TE2"). Any folder holding ``im/`` and
``gt/`` (or ``images/`` and ``masks/``) works the same way; images and masks pair by file stem.
DIS5K file names carry the class: ``1#Accessories#1#Bag#2339506821_83cf9f9d41_o.jpg`` -> ``Bag``.

A sample is an ImageNet-normalised image [3,H,W] float32, its mask [1,H,W] float32 in 0..1 and a class
index (long, -1 when unknown). Augmentation randomness comes from ``(seed, epoch, index)`` only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from birefnet import BiRefNetError

from .augment import NO_AUGMENT, AugmentConfig, augment

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_DIR_NAMES = ("im", "images", "image", "imgs")
MASK_DIR_NAMES = ("gt", "masks", "mask", "gts")
DIS5K_SPLITS = ("DIS-TR", "DIS-VD", "DIS-TE1", "DIS-TE2", "DIS-TE3", "DIS-TE4")


@dataclass(frozen=True)
class Sample:
    """One image/mask pair; ``class_name`` from a DIS5K-style file name, else None."""

    image: Path
    mask: Path
    class_name: str | None = None


def dis5k_class_name(filename: str) -> str | None:
    """Class field of a DIS5K file name (``group#Group#class#Class#id.ext`` -> ``Class``), else None."""
    fields = Path(filename).stem.split("#")
    return fields[3] if len(fields) >= 5 and fields[3] else None


def _images_in(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS}


def _find_subdir(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    return None


def find_pairs(image_dir: str | os.PathLike, mask_dir: str | os.PathLike) -> list[Sample]:
    """Pair the images of ``image_dir`` with the masks of ``mask_dir`` by file stem (sorted by stem).

    Images without a mask are an error (the message lists a few); masks without an image are ignored.
    """
    image_dir, mask_dir = Path(image_dir), Path(mask_dir)
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise BiRefNetError(f"Folder {folder} does not exist; give a folder of images and one of masks.")
    images, masks = _images_in(image_dir), _images_in(mask_dir)
    missing = sorted(set(images) - set(masks))
    if missing:
        raise BiRefNetError(
            f"{len(missing)} image(s) in {image_dir} have no mask in {mask_dir} (e.g. {missing[:3]}); "
            "masks must share the image's file name stem."
        )
    if not images:
        raise BiRefNetError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {image_dir}.")
    return [Sample(images[s], masks[s], dis5k_class_name(images[s].name)) for s in sorted(images)]


def folder_samples(folder: str | os.PathLike) -> list[Sample]:
    """Samples of a folder holding an image folder (im/images) and a mask folder (gt/masks)."""
    folder = Path(folder)
    image_dir = _find_subdir(folder, IMAGE_DIR_NAMES)
    mask_dir = _find_subdir(folder, MASK_DIR_NAMES)
    if image_dir is None or mask_dir is None:
        raise BiRefNetError(
            f"{folder} needs an image folder ({'/'.join(IMAGE_DIR_NAMES)}) and a mask folder "
            f"({'/'.join(MASK_DIR_NAMES)}) side by side."
        )
    return find_pairs(image_dir, mask_dir)


def split_samples(root: str | os.PathLike, split: str) -> list[Sample]:
    """Samples of ``split`` ("DIS-TR", "DIS-TE1+DIS-TE2", any sub-folder name, or "." for root itself)."""
    samples: list[Sample] = []
    for part in split.split("+"):
        samples.extend(folder_samples(Path(root) / part))
    return samples


def class_vocabulary(samples: list[Sample]) -> list[str]:
    """Sorted class names found in the samples (the auxiliary head's classes)."""
    return sorted({s.class_name for s in samples if s.class_name})


def to_tensor_normalised(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> ImageNet-normalised float32 [3,H,W]."""
    array = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (array - mean) / std


def sample_seed(seed: int, epoch: int, index: int) -> np.random.Generator:
    """RNG of one sample's augmentation in one epoch."""
    return np.random.default_rng([seed, epoch, index])


class SegmentationDataset(Dataset):
    """Samples resized to ``size`` (width, height), then augmented.

    Items: dict(image [3,H,W] float32 normalised, mask [1,H,W] float32 0..1, class_index long, index long).
    Call ``set_epoch`` before each epoch so augmentations change per epoch (deterministically).
    """

    def __init__(
        self,
        samples: list[Sample],
        size: tuple[int, int],
        augment_config: AugmentConfig | None = None,
        seed: int = 0,
        classes: list[str] | None = None,
    ) -> None:
        if not samples:
            raise BiRefNetError("The dataset is empty: no image/mask pairs were found.")
        self.samples = samples
        self.size = size
        self.augment_config = augment_config or NO_AUGMENT
        self.seed = seed
        self.epoch = 0
        self.class_index = {name: i for i, name in enumerate(classes or [])}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.samples[index]
        try:
            image = Image.open(sample.image).convert("RGB")
            mask = Image.open(sample.mask).convert("L")
        except OSError as exc:
            raise BiRefNetError(f"Cannot read {sample.image} / {sample.mask}: {exc}") from exc
        image = image.resize(self.size, Image.Resampling.BILINEAR)
        mask = mask.resize(self.size, Image.Resampling.BILINEAR)
        image, mask = augment(image, mask, sample_seed(self.seed, self.epoch, index), self.augment_config)
        mask_tensor = torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0)[None]
        class_index = self.class_index.get(sample.class_name, -1) if sample.class_name else -1
        return {
            "image": to_tensor_normalised(image),
            "mask": mask_tensor,
            "class_index": torch.tensor(class_index, dtype=torch.long),
            "index": torch.tensor(index, dtype=torch.long),
        }


def dynamic_batch_size(
    seed: int, epoch: int, step: int, low: int = 256, high: int = 2304, multiple: int = 32
) -> tuple[int, int]:
    """(width, height) for one batch of dynamic-size training: each side uniform in [low, high], rounded
    down to ``multiple``; a pure function of (seed, epoch, step) so resumed runs draw the same sizes."""
    rng = np.random.default_rng([seed, epoch, step, 7])
    w, h = rng.integers(low, high + 1, 2)
    return max(multiple, int(w) // multiple * multiple), max(multiple, int(h) // multiple * multiple)


def resize_batch(batch: dict[str, torch.Tensor], size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """``batch`` with its images and masks resized (bilinear) to ``size`` (width, height)."""
    width, height = size
    if batch["image"].shape[-2:] == (height, width):
        return batch
    resized = dict(batch)
    resized["image"] = F.interpolate(batch["image"], (height, width), mode="bilinear", align_corners=False)
    resized["mask"] = F.interpolate(batch["mask"], (height, width), mode="bilinear", align_corners=False)
    return resized
