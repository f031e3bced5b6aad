"""`predict_guided` with the tiny random-weight BiRefNet: a boxed object equals `predict` on the crop, bit for
bit, at custom and dynamic sizes; empty prompts give `predict`'s masks; per-image prompts; bad inputs."""

import numpy as np
import pytest
import torch

from birefnet import BiRefNetError, Prompt, parse_points, predict, predict_guided

BOX = (50, 30, 130, 90)  # x0, y0, x1, y1


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """A 120 x 160 uint8 RGB picture of smooth noise."""
    rng = np.random.default_rng(7)
    small = rng.random((12, 16, 3))
    return (np.kron(small, np.ones((10, 10, 1))) * 255).astype(np.uint8)


@pytest.mark.parametrize("resolution", [96, (160, 64), "dynamic"])
def test_a_box_with_margin_0_equals_predict_on_the_crop(tiny_model, one_torch_thread, picture, resolution):
    x0, y0, x1, y1 = BOX
    mask = predict_guided(
        tiny_model, picture, Prompt(boxes=(BOX,)), resolution, margin=0, dynamic_long_side=256
    )
    crop = predict(tiny_model, picture[y0:y1, x0:x1], resolution, dynamic_long_side=256)
    assert torch.equal(mask[0, y0:y1, x0:x1], crop[0])
    outside = torch.ones(120, 160, dtype=torch.bool)
    outside[y0:y1, x0:x1] = False
    assert torch.count_nonzero(mask[0][outside]) == 0


def test_a_grown_box_equals_predict_on_the_grown_crop(tiny_model, one_torch_thread, picture):
    mask = predict_guided(tiny_model, picture, Prompt(boxes=(BOX,)), 64, margin=20)
    assert torch.equal(mask[0, 10:110, 30:150], predict(tiny_model, picture[10:110, 30:150], 64)[0])


def test_an_empty_prompt_gives_predict_bit_for_bit(tiny_model, one_torch_thread, picture):
    batch = np.stack([picture, picture[::-1].copy()])
    expected = predict(tiny_model, batch, 64, batch_size=2)
    assert torch.equal(predict_guided(tiny_model, batch, Prompt(), 64, batch_size=2), expected)
    assert torch.equal(predict_guided(tiny_model, batch, [Prompt(), Prompt()], 64, batch_size=2), expected)


def test_each_image_of_a_batch_gets_its_own_prompt(tiny_model, one_torch_thread, picture):
    batch = np.stack([picture, picture[:, ::-1].copy(), picture[::-1].copy()])
    region = torch.zeros(120, 160)
    region[40:60, 20:50] = 1.0
    prompts = [Prompt(), Prompt(boxes=(BOX,)), Prompt(region=region)]
    steps = []
    masks = predict_guided(
        tiny_model, batch, prompts, 64, margin=8, batch_size=1, progress=lambda *done: steps.append(done)
    )
    for i, prompt in enumerate(prompts):
        alone = predict_guided(tiny_model, batch[i], prompt, 64, margin=8, batch_size=1)
        assert torch.equal(masks[i], alone[0]), f"image {i}"
    assert steps == [(1, 3), (2, 3), (3, 3)]  # one whole image, then one crop each


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (Prompt(boxes=((200, 10, 260, 50),)), r"Box 200,10,260,50 lies outside the 160x120 image"),
        (Prompt(boxes=((50, 10, 40, 50),)), r"Box 50,10,40,50 is empty"),
        (Prompt(region=torch.ones(160, 120)), r"region mask is 120x160 but the image is 160x120"),
        (Prompt(region=torch.zeros(120, 160)), r"region mask is empty"),
        (Prompt(points=((160, 5),)), r"positive point 160,5 is outside the 160x120 image"),
        (Prompt(negative_points=((5, 120),)), r"negative point 5,120 is outside"),
    ],
)
def test_bad_prompts_are_errors_naming_the_input_never_a_whole_image_result(picture, prompt, message):
    with pytest.raises(BiRefNetError, match=message):
        predict_guided(_never_called_model(), picture, prompt)


def test_malformed_points_margin_or_prompt_count_are_errors(picture):
    with pytest.raises(BiRefNetError, match="Cannot read point '12'"):
        parse_points("12")
    with pytest.raises(BiRefNetError, match="margin must be a whole number of pixels >= 0, got -1"):
        predict_guided(_never_called_model(), picture, Prompt(boxes=(BOX,)), margin=-1)
    with pytest.raises(BiRefNetError, match="got 2 prompts for 1 images"):
        predict_guided(_never_called_model(), picture, [Prompt(), Prompt()])


def _never_called_model() -> torch.nn.Module:
    """A model that fails the test if it runs: bad input must be refused before any forward pass."""

    class Refuses(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):  # pragma: no cover - reached only when the check is missing
            raise AssertionError("the model ran although the input is bad")

    return Refuses()
