"""Crop to the subject and paste back: box properties over random masks, exact round trips, batches, errors."""

import math
import random

import pytest
import torch

from birefnet import BiRefNetError, crop_to_subject, parse_aspect, paste_back, subject_box

ASPECTS = [None, (1, 1), (16, 9), (9, 16), (4, 3), (2, 3), (21, 9)]


def rectangle_mask(height: int, width: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    x0, y0, x1, y1 = box
    mask = torch.zeros(height, width)
    mask[y0:y1, x0:x1] = 0.9
    return mask


def test_subject_box_is_the_grown_bounding_box_clipped_to_the_image():
    mask = rectangle_mask(100, 200, (40, 30, 70, 50))
    mask[31, 45] = 0.4  # at or below the threshold: not the subject
    assert subject_box(mask) == (40, 30, 70, 50)
    assert subject_box(mask, margin=10) == (30, 20, 80, 60)
    assert subject_box(mask, margin=45) == (0, 0, 115, 95)
    with pytest.warns(UserWarning, match="no pixel above 0.95"):
        assert subject_box(mask, threshold=0.95) == (0, 0, 200, 100)  # nothing above it: the whole image


def test_an_aspect_and_multiple_grow_the_box_around_the_subject_by_hand():
    mask = rectangle_mask(300, 400, (100, 100, 140, 120))  # 40 x 20, centre (120, 110)
    assert subject_box(mask, aspect=(1, 1)) == (100, 90, 140, 130)
    assert subject_box(mask, aspect=(1, 1), multiple=64) == (88, 78, 152, 142)
    assert subject_box(mask, multiple=8) == (100, 98, 140, 122)  # 40 x 24


def test_an_empty_mask_gives_the_whole_image_and_a_warning():
    with pytest.warns(UserWarning, match="no pixel above 0.5: cropping to the whole image"):
        assert subject_box(torch.zeros(50, 80)) == (0, 0, 80, 50)
    with pytest.warns(UserWarning):
        assert subject_box(torch.zeros(50, 80), aspect=(1, 1), multiple=8) == (16, 1, 64, 49)


def test_an_aspect_the_image_cannot_hold_gives_the_largest_box_of_it_centred_on_the_subject():
    mask = rectangle_mask(100, 400, (300, 40, 320, 60))  # centre x 310; a 1:1 box can be 100 high at most
    assert subject_box(mask, aspect=(1, 1), margin=200) == (260, 0, 360, 100)
    assert subject_box(mask, aspect=(9, 16), margin=200) == (282, 0, 338, 100)


def test_subject_box_properties_over_random_masks_and_sizes():
    rng = random.Random(0)
    for trial in range(400):
        height, width = rng.randint(16, 300), rng.randint(16, 300)
        multiple = rng.choice([m for m in (1, 8, 16, 64) if m <= min(height, width)])
        aspect = rng.choice(ASPECTS)
        margin = rng.choice([0, 5, 32])
        x0, y0 = rng.randrange(width), rng.randrange(height)
        subject = (x0, y0, rng.randint(x0 + 1, width), rng.randint(y0 + 1, height))
        mask = rectangle_mask(height, width, subject)
        bx0, by0, bx1, by1 = subject_box(mask, margin=margin, aspect=aspect, multiple=multiple)
        w, h = bx1 - bx0, by1 - by0
        case = f"trial {trial}: {width}x{height}, {subject}, margin {margin}, {aspect}, multiple {multiple}"
        assert 0 <= bx0 < bx1 <= width and 0 <= by0 < by1 <= height, case
        assert w % multiple == 0 and h % multiple == 0, case
        grown = (
            max(subject[0] - margin, 0),
            max(subject[1] - margin, 0),
            min(subject[2] + margin, width),
            min(subject[3] + margin, height),
        )
        gw, gh = grown[2] - grown[0], grown[3] - grown[1]
        if aspect is None:
            fits = (
                math.ceil(gw / multiple) * multiple <= width and math.ceil(gh / multiple) * multiple <= height
            )
        else:
            ratio = aspect[0] / aspect[1]
            assert min(abs(w - h * ratio), abs(h - w / ratio)) <= multiple, case
            need_h = max(gh, gw / ratio)  # room for the exact box plus the rounding of both sides
            fits = need_h + multiple <= height // multiple * multiple and (
                need_h * ratio + 2 * multiple <= width // multiple * multiple
            )
        if fits:
            assert bx0 <= grown[0] and by0 <= grown[1] and bx1 >= grown[2] and by1 >= grown[3], case


def test_a_batch_of_masks_gives_one_box_around_all_subjects():
    masks = torch.stack([rectangle_mask(60, 90, (10, 5, 20, 15)), rectangle_mask(60, 90, (50, 30, 70, 40))])
    assert subject_box(masks) == (10, 5, 70, 40)


def test_parse_aspect():
    assert parse_aspect("16:9") == (16, 9) and parse_aspect(" 2 / 3 ") == (2, 3)
    assert parse_aspect("") is None and parse_aspect("Free") is None
    for text in ("16x9x2", "0:1", "wide"):
        with pytest.raises(BiRefNetError, match="Cannot read aspect ratio"):
            parse_aspect(text)


def test_crop_and_paste_back_of_unchanged_crops_restore_the_images_bit_for_bit():
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(3, 70, 90, 3, generator=gen)
    masks = torch.stack(
        [rectangle_mask(70, 90, b) for b in ((10, 10, 30, 40), (40, 5, 85, 60), (0, 50, 20, 70))]
    )
    crops, crop_masks, boxes = crop_to_subject(images, masks, per_image=False, margin=3)
    assert boxes == [(0, 2, 88, 70)] * 3 and crops.shape == (3, 68, 88, 3)
    assert torch.equal(crops, images[:, 2:70, 0:88]) and torch.equal(crop_masks, masks[:, 2:70, 0:88])
    assert torch.equal(paste_back(images, crops, boxes), images)
    one, _, box = crop_to_subject(images[1:2], masks[1:2], margin=2, multiple=8)
    assert box == [(34, 0, 90, 64)]  # 49 x 59 grown to 56 x 64 around the subject's centre
    assert torch.equal(paste_back(images[1:2], one, box), images[1:2])


def test_per_image_crops_of_different_sizes_are_resized_to_the_largest_and_pasted_back_at_their_box():
    images = torch.zeros(2, 64, 64, 3)
    masks = torch.stack([rectangle_mask(64, 64, (0, 0, 16, 16)), rectangle_mask(64, 64, (16, 16, 48, 48))])
    crops, crop_masks, boxes = crop_to_subject(images, masks)
    assert boxes == [(0, 0, 16, 16), (16, 16, 48, 48)] and crops.shape == (2, 32, 32, 3)
    assert torch.allclose(crop_masks[0], torch.full((32, 32), 0.9))
    edited = torch.ones_like(crops)
    pasted = paste_back(images, edited, boxes)
    assert pasted[0, :16, :16].eq(1).all() and pasted[0].sum() == 16 * 16 * 3
    assert pasted[1, 16:48, 16:48].eq(1).all() and pasted[1].sum() == 32 * 32 * 3


def test_paste_back_blends_by_the_mask():
    images = torch.zeros(1, 20, 20, 3)
    patches = torch.ones(1, 10, 10, 3)
    masks = torch.zeros(1, 10, 10)
    masks[0, :, 5:] = 0.25
    pasted = paste_back(images, patches, [(5, 5, 15, 15)], masks=masks)
    assert pasted[0, 5:15, 10:15].eq(0.25).all() and pasted[0, 5:15, 5:10].eq(0).all()
    assert pasted[0].sum() == pytest.approx(0.25 * 50 * 3)


def test_bad_inputs_are_errors_naming_them():
    images = torch.zeros(1, 20, 30, 3)
    with pytest.raises(BiRefNetError, match="mask is 20x30 but the image is 30x20"):
        crop_to_subject(images, torch.ones(1, 30, 20))
    with pytest.raises(BiRefNetError, match="multiple 64 is larger than the 30x20 image"):
        subject_box(torch.ones(20, 30), multiple=64)
    with pytest.raises(BiRefNetError, match="Box 25,0,35,10 is not inside the 30x20 image"):
        paste_back(images, torch.zeros(1, 10, 10, 3), [(25, 0, 35, 10)])
