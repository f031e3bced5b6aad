"""`predict_guided` with a stand-in network whose mask is a known function of the red channel (RedLogitModel):
crops and pasting, the component filter by region and points, the soft-fringe rule, several objects.

Picture (128 x 128, float): blob A (white, rows/cols 20..49) and blob B (white, rows 80..109, cols 70..109), each
with a 2-pixel soft ring (red 0.49 -> mask 0.27), and a soft-only patch C (rows 10..15, cols 100..115).
"""

import warnings

import pytest
import torch
from torch import nn

from birefnet import Prompt, predict, predict_guided


class RedLogitModel(nn.Module):
    """logits ``[N, 1, H, W]`` = gain * (red - 0.5), red being the de-normalised red channel of the input.

    With gain 100 a red value of 1 gives mask 1.0, 0 gives ~2e-22 (0 in 8 bits), 0.49 gives sigmoid(-1) = 0.27.
    """

    def __init__(self, gain: float = 100.0) -> None:
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(()))  # gives the model a device and a dtype
        self.gain = gain
        self.variant = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = x[:, :1] * 0.229 + 0.485
        return self.gain * (red - 0.5) + self.offset


@pytest.fixture
def red_logit_model() -> RedLogitModel:
    return RedLogitModel()


SOFT = 0.49
A = (20, 20, 50, 50)  # x0, y0, x1, y1
B = (70, 80, 110, 110)
C = (100, 10, 116, 16)


def _with_ring(image: torch.Tensor, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    image[y0 - 2 : y1 + 2, x0 - 2 : x1 + 2] = SOFT
    image[y0:y1, x0:x1] = 1.0


def blobs_image() -> torch.Tensor:
    """The picture above as float RGB ``[128, 128, 3]``."""
    image = torch.zeros(128, 128, 3)
    _with_ring(image, A)
    _with_ring(image, B)
    image[C[1] : C[3], C[0] : C[2]] = SOFT
    return image


def ringed(box: tuple[int, int, int, int]) -> tuple[slice, slice]:
    """(rows, columns) of `box` with its soft ring."""
    x0, y0, x1, y1 = box
    return slice(y0 - 2, y1 + 2), slice(x0 - 2, x1 + 2)


def unfiltered(model, image) -> torch.Tensor:
    """The mask of the whole 128 x 128 picture at input size 128: no resize, each pixel a function of its red."""
    return predict(model, image, 128)[0]


def cores_only(mask: torch.Tensor) -> torch.Tensor:
    """`mask` with the pixels that are 0 in 8 bits set to 0 (a choosing filter keeps only kept cores' fringes)."""
    return torch.where(mask > 0.5 / 255, mask, torch.zeros(()))


def test_the_stand_in_gives_cores_soft_rings_and_a_soft_patch(red_logit_model):
    mask = unfiltered(red_logit_model, blobs_image())
    assert mask[30, 30] == 1.0 and mask[90, 90] == 1.0
    assert mask[18, 30] == pytest.approx(0.2689, abs=1e-3) and mask[12, 105] == pytest.approx(
        0.2689, abs=1e-3
    )
    assert 0 < mask[5, 5] < 0.5 / 255


def test_outside_the_grown_box_the_mask_is_exactly_zero_inside_it_is_predict_on_the_crop(red_logit_model):
    image = blobs_image()
    mask = predict_guided(red_logit_model, image, Prompt(boxes=((30, 40, 60, 70),)), 96, margin=7)[0]
    inside = torch.zeros(128, 128, dtype=torch.bool)
    inside[33:77, 23:67] = True
    assert torch.count_nonzero(mask[~inside]) == 0
    assert torch.equal(mask[33:77, 23:67], predict(red_logit_model, image[33:77, 23:67], 96)[0])


def test_the_margin_is_clipped_at_the_image_edges(red_logit_model):
    image = blobs_image()
    mask = predict_guided(red_logit_model, image, Prompt(boxes=((100, 5, 128, 40),)), 64, margin=32)[0]
    assert torch.equal(mask[0:72, 68:128], predict(red_logit_model, image[0:72, 68:128], 64)[0])
    assert torch.count_nonzero(mask[72:]) == 0 and torch.count_nonzero(mask[:, :68]) == 0


def test_several_boxes_are_combined_with_max(red_logit_model):
    image = blobs_image()
    boxes = ((10, 10, 60, 60), (40, 40, 120, 120))
    mask = predict_guided(red_logit_model, image, Prompt(boxes=boxes), 64, margin=0)[0]
    expected = torch.zeros(128, 128)
    for x0, y0, x1, y1 in boxes:
        one = predict(red_logit_model, image[y0:y1, x0:x1], 64)[0]
        expected[y0:y1, x0:x1] = torch.maximum(expected[y0:y1, x0:x1], one)
    assert torch.equal(mask, expected)


def scribble_on_a() -> torch.Tensor:
    """A rough region mask over part of blob A."""
    region = torch.zeros(128, 128)
    region[30:40, 25:45] = 1.0
    return region


# Margin 100 makes every crop below the whole picture, seen at 128 (its own size).


def test_region_keeps_the_components_it_touches_with_their_soft_ring_and_removes_the_rest(red_logit_model):
    image = blobs_image()
    mask = predict_guided(red_logit_model, image, Prompt(region=scribble_on_a()), 128, margin=100)[0]
    expected = cores_only(unfiltered(red_logit_model, image))
    expected[ringed(B)] = 0  # B's core and its soft ring
    expected[C[1] : C[3], C[0] : C[2]] = 0  # soft only: no core, so no kept core in its fringe
    assert torch.equal(mask, expected)
    assert mask[18, 30] > 0.25  # A's soft ring is kept


def test_a_removed_core_keeps_a_soft_fringe_joined_to_a_kept_core(red_logit_model):
    image = blobs_image()
    image[50:52, 45:70] = SOFT  # a soft bridge from A's ring (right, down) to B's ring
    image[50:80, 68:70] = SOFT
    mask = predict_guided(red_logit_model, image, Prompt(region=scribble_on_a()), 128, margin=100)[0]
    expected = cores_only(unfiltered(red_logit_model, image))
    expected[B[1] : B[3], B[0] : B[2]] = 0  # B's core goes, its ring is A's fringe now
    expected[C[1] : C[3], C[0] : C[2]] = 0
    assert torch.equal(mask, expected)
    assert mask[78, 90] > 0.25


def test_a_positive_point_keeps_only_its_component(red_logit_model):
    image = blobs_image()
    mask = predict_guided(red_logit_model, image, Prompt(points=((90, 95),)), 128, margin=100)[0]
    expected = cores_only(unfiltered(red_logit_model, image))
    expected[ringed(A)] = 0
    expected[C[1] : C[3], C[0] : C[2]] = 0
    assert torch.equal(mask, expected)


def test_a_negative_point_removes_its_component_and_nothing_else(red_logit_model):
    image = blobs_image()
    prompt = Prompt(boxes=((0, 0, 128, 128),), negative_points=((30, 30),))
    mask = predict_guided(red_logit_model, image, prompt, 128, margin=0)[0]
    expected = unfiltered(red_logit_model, image)
    expected[ringed(A)] = 0
    assert torch.equal(mask, expected)
    assert mask[12, 105] > 0.25  # the soft patch C stays: no region or positive point chooses what stays


def test_region_and_positive_points_keep_the_union(red_logit_model):
    image = blobs_image()
    prompt = Prompt(region=scribble_on_a(), points=((100, 100),))
    mask = predict_guided(red_logit_model, image, prompt, 128, margin=100)[0]
    expected = cores_only(unfiltered(red_logit_model, image))
    expected[C[1] : C[3], C[0] : C[2]] = 0
    assert torch.equal(mask, expected)


def test_a_point_in_no_component_warns_naming_it_and_is_ignored(red_logit_model):
    image = blobs_image()
    prompt = Prompt(boxes=((0, 0, 128, 128),), negative_points=((5, 120),))
    with pytest.warns(UserWarning, match=r"Point 5,120 of image 0 falls on no object"):
        mask = predict_guided(red_logit_model, image, prompt, 128, margin=0)[0]
    assert torch.equal(mask, unfiltered(red_logit_model, image))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predict_guided(red_logit_model, image, Prompt(points=((30, 30),)), 128, margin=0)


def test_positive_points_act_only_on_the_boxes_that_hold_them(red_logit_model):
    image = blobs_image()
    prompt = Prompt(boxes=((0, 0, 64, 64), (64, 64, 128, 128)), points=((90, 95),))
    mask = predict_guided(red_logit_model, image, prompt, 64, margin=0)[0]
    plain = predict_guided(red_logit_model, image, Prompt(boxes=prompt.boxes), 64, margin=0)[0]
    assert torch.equal(mask[:64, :64], plain[:64, :64])  # no point in this box: A stays
    assert torch.equal(mask[64:, 64:], cores_only(plain[64:, 64:]))  # B holds the point: kept with its fringe
