"""Datasets, augmentations, the per-rank sampler and the synthetic thin-structure data of training/."""

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from birefnet import BiRefNetError
from training.augment import NO_AUGMENT, AugmentConfig, augment, pepper
from training.data import (
    SegmentationDataset,
    class_vocabulary,
    dis5k_class_name,
    dynamic_batch_size,
    find_pairs,
    split_samples,
)
from training.sampler import DistributedBatchSampler
from training.synthetic import thin_structure_pair, write_thin_structure_dataset


def _write_pair(folder, stem, seed, size=(48, 32)):
    rng = np.random.default_rng(seed)
    (folder / "im").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
        folder / "im" / f"{stem}.jpg"
    )
    Image.fromarray((rng.random((size[1], size[0])) > 0.5).astype(np.uint8) * 255).save(
        folder / "gt" / f"{stem}.png"
    )


def test_dis5k_layout_and_class_names(tmp_path):
    assert dis5k_class_name("1#Accessories#1#Bag#2339506821_83cf9f9d41_o.jpg") == "Bag"
    assert dis5k_class_name("photo_001.jpg") is None
    _write_pair(tmp_path / "DIS-TR", "1#Accessories#1#Bag#2339506821_83cf9f9d41_o", 0)
    _write_pair(tmp_path / "DIS-TR", "5#Electronics#3#Antenna#1234_abcd_o", 1)
    _write_pair(tmp_path / "DIS-VD", "2#Aircraft#2#Airplane#777_x_o", 2)
    train = split_samples(tmp_path, "DIS-TR")
    assert [s.class_name for s in train] == ["Bag", "Antenna"]
    both = split_samples(tmp_path, "DIS-TR+DIS-VD")
    assert len(both) == 3 and class_vocabulary(both) == ["Airplane", "Antenna", "Bag"]
    dataset = SegmentationDataset(train, (64, 32), seed=0, classes=class_vocabulary(train))
    assert dataset[0]["class_index"].item() == 1 and dataset[1]["class_index"].item() == 0


def test_missing_mask_is_a_clear_error(tmp_path):
    _write_pair(tmp_path, "a", 0)
    (tmp_path / "gt" / "a.png").unlink()
    with pytest.raises(BiRefNetError, match="no mask"):
        find_pairs(tmp_path / "im", tmp_path / "gt")
    with pytest.raises(BiRefNetError, match="needs an image folder"):
        split_samples(tmp_path, "nothing-here")


def test_item_is_resized_and_imagenet_normalised_like_torchvision(tmp_path):
    _write_pair(tmp_path, "a", 0)
    item = SegmentationDataset(split_samples(tmp_path, "."), (64, 32))[0]
    image = Image.open(tmp_path / "im" / "a.jpg").convert("RGB").resize((64, 32), Image.Resampling.BILINEAR)
    expected = TF.normalize(TF.to_tensor(image), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    torch.testing.assert_close(item["image"], expected)
    mask = Image.open(tmp_path / "gt" / "a.png").convert("L").resize((64, 32), Image.Resampling.BILINEAR)
    torch.testing.assert_close(item["mask"], TF.to_tensor(mask))
    assert item["class_index"].item() == -1


def test_augmentation_is_reproducible_and_geometry_follows_the_mask():
    image, mask = thin_structure_pair(0, 0, 64)
    config = AugmentConfig()
    a = augment(image, mask, np.random.default_rng([1, 2, 3]), config)
    b = augment(image, mask, np.random.default_rng([1, 2, 3]), config)
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0])) and np.array_equal(
        np.asarray(a[1]), np.asarray(b[1])
    )
    flip_only = AugmentConfig(flip_p=1.0, rotate_p=0.0, enhance=False, pepper_fraction=0.0)
    fi, fm = augment(image, mask, np.random.default_rng(0), flip_only)
    assert np.array_equal(np.asarray(fi), np.asarray(image)[:, ::-1])
    assert np.array_equal(np.asarray(fm), np.asarray(mask)[:, ::-1])
    same_i, same_m = augment(image, mask, np.random.default_rng(0), NO_AUGMENT)
    assert np.array_equal(np.asarray(same_i), np.asarray(image))
    # Colour enhancement never touches the mask.
    enhance_only = AugmentConfig(flip_p=0.0, rotate_p=0.0, pepper_fraction=0.0)
    ei, em = augment(image, mask, np.random.default_rng(5), enhance_only)
    assert np.array_equal(np.asarray(em), np.asarray(mask)) and not np.array_equal(
        np.asarray(ei), np.asarray(image)
    )


def test_pepper_sets_the_expected_number_of_pixels_to_black_or_white():
    grey = Image.fromarray(np.full((100, 200, 3), 128, np.uint8))
    out = np.asarray(pepper(grey, 0.0015, np.random.default_rng(0)))
    changed = (out != 128).any(axis=2)
    assert 25 <= changed.sum() <= 30  # 30 draws, a few may land on the same pixel
    assert set(np.unique(out[changed])) <= {0, 255}


def test_sampler_splits_global_batches_like_gradient_accumulation():
    ddp = [list(DistributedBatchSampler(10, 2, world_size=2, rank=r, seed=4)) for r in range(2)]
    accum = list(DistributedBatchSampler(10, 2, world_size=1, accumulation=2, seed=4))
    assert len(accum) == 4 and accum[0::2] == ddp[0] and accum[1::2] == ddp[1]
    used = sorted(i for batch in accum for i in batch)
    assert len(set(used)) == 8  # 10 samples, global batch 4: two steps, the rest dropped
    sampler = DistributedBatchSampler(10, 2, accumulation=2, seed=4)
    sampler.set_epoch(0, skip_steps=1)
    assert list(sampler) == accum[2:]
    sampler.set_epoch(1)
    assert list(sampler) != accum
    with pytest.raises(BiRefNetError, match="fewer than one global batch"):
        DistributedBatchSampler(3, 2, world_size=2)


def test_dynamic_sizes_are_multiples_of_32_in_range_and_reproducible():
    sizes = {dynamic_batch_size(0, 1, step, 256, 512) for step in range(30)}
    assert len(sizes) > 5
    assert all(256 <= s <= 512 and s % 32 == 0 for size in sizes for s in size)
    assert dynamic_batch_size(0, 1, 7, 256, 512) == dynamic_batch_size(0, 1, 7, 256, 512)


def test_synthetic_dataset_is_thin_binary_and_reproducible(tmp_path):
    write_thin_structure_dataset(tmp_path, 4, seed=2, size=64)
    samples = split_samples(tmp_path, ".")
    assert len(samples) == 4
    for sample in samples:
        mask = np.asarray(Image.open(sample.mask))
        assert set(np.unique(mask)) <= {0, 255}
        assert 0 < (mask > 0).mean() < 0.35
    again_image, again_mask = thin_structure_pair(2, 0, 64)
    assert np.array_equal(np.asarray(again_image), np.asarray(Image.open(samples[0].image)))
