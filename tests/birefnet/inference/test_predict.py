"""`predict` against a fake model whose logits are a known function of its input, plus a real-network smoke test.

The fake model computes logit = 10 * (mean over RGB of the de-normalised input - 0.5) with a 1x1 convolution
and records what it was given, so normalisation, sizes, chunks and dtypes can be checked by hand.
"""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from birefnet import VARIANTS, BiRefNetError
from birefnet.inference.predict import predict
from birefnet.inference.sizes import dynamic_input_size, model_input_size, parse_resolution


class MeanLogitModel(nn.Module):
    """logits [N,1,H,W] = 10 * (mean_c(x_c * std_c + mean_c) - 0.5) for ImageNet-normalised x [N,3,H,W]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225])
        mean = torch.tensor([0.485, 0.456, 0.406])
        with torch.no_grad():
            self.conv.weight.copy_((10 * std / 3).view(1, 3, 1, 1))
            self.conv.bias.fill_(10 * (float(mean.sum()) / 3 - 0.5))
        self.inputs: list[torch.Tensor] = []
        self.output_dtypes: list[torch.dtype] = []
        self.variant = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.clone())
        logits = self.conv(x)
        self.output_dtypes.append(logits.dtype)
        return logits


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A float32 HWC RGB image in 0..1 with smooth content (a coarse random grid, upsampled)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((1, 3, 5, 7), dtype=np.float32))
    fine = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
    return fine[0].permute(1, 2, 0).clamp(0, 1).numpy()


def test_normalisation_and_output_match_hand_computed_values():
    model = MeanLogitModel()
    image = np.empty((20, 30, 3), dtype=np.uint8)
    image[...] = (51, 102, 153)  # exactly 0.2, 0.4, 0.6
    mask = predict(model, image, 64)
    seen = model.inputs[0]
    assert seen.shape == (1, 3, 64, 64)
    expected = torch.tensor([(0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (0.6 - 0.406) / 0.225])
    assert torch.allclose(seen[0, :, 10, 10], torch.tensor([-1.2445415, -0.25, 0.8622222]), atol=1e-5)
    assert torch.allclose(seen.amax(dim=(2, 3))[0], expected, atol=1e-5)
    assert torch.allclose(seen.amin(dim=(2, 3))[0], expected, atol=1e-5)
    assert mask.shape == (1, 20, 30) and mask.dtype == torch.float32 and mask.device.type == "cpu"
    assert torch.allclose(mask, torch.full_like(mask, sigmoid(10 * (0.4 - 0.5))), atol=1e-5)


def pil_reference(image: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """The same pipeline done with PIL's bilinear resize (mode "F"): the reference's resizing convention."""
    height, width = image.shape[:2]
    channels = [
        np.asarray(Image.fromarray(image[:, :, c]).resize(size_wh, Image.Resampling.BILINEAR))
        for c in range(3)
    ]
    logits = 10 * (np.mean(channels, axis=0) - 0.5)
    probabilities = (1 / (1 + np.exp(-logits))).astype(np.float32)
    back = Image.fromarray(probabilities).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(back)


@pytest.mark.parametrize(
    ("shape", "resolution"),
    [((40, 70), 64), ((200, 150), (96, 64)), ((33, 47), 128), ((500, 300), (64, 32))],
)
def test_resizing_matches_pil_bilinear(shape, resolution):
    image = smooth_image(*shape)
    mask = predict(MeanLogitModel(), image, resolution)
    size_wh = (resolution, resolution) if isinstance(resolution, int) else resolution
    expected = pil_reference(image, size_wh)
    assert mask.shape == (1, *shape)
    assert np.abs(mask[0].numpy() - expected).max() < 1e-5


def test_layouts_and_channel_counts_give_the_same_masks():
    model = MeanLogitModel()
    rgb = smooth_image(24, 40)
    rgb8 = (rgb * 255).round().astype(np.uint8)
    reference = predict(model, rgb8, 64)
    batch = np.stack([rgb8, rgb8[::-1].copy()])
    alpha = np.random.default_rng(1).integers(0, 256, size=(2, 24, 40, 1), dtype=np.uint8)
    rgba = np.concatenate([batch, alpha], axis=-1)
    as_float = torch.from_numpy(batch).float() / 255

    nhwc = predict(model, batch, 64)
    assert torch.allclose(nhwc[0], reference[0], atol=1e-6)
    assert torch.allclose(predict(model, torch.from_numpy(rgb8), 64), reference, atol=1e-6)
    assert torch.allclose(predict(model, torch.from_numpy(batch).permute(0, 3, 1, 2), 64), nhwc, atol=1e-6)
    assert torch.allclose(predict(model, as_float, 64), nhwc, atol=1e-6)
    as_uint16 = batch.astype(np.uint16) * 257  # 0..65535
    assert torch.allclose(predict(model, as_uint16, 64), nhwc, atol=1e-6)
    assert torch.allclose(predict(model, as_float.permute(0, 3, 1, 2).numpy(), 64), nhwc, atol=1e-6)
    assert torch.allclose(predict(model, rgba, 64), nhwc, atol=1e-6)  # alpha is ignored
    assert torch.allclose(predict(model, Image.fromarray(rgb8), 64), reference, atol=1e-6)
    assert torch.allclose(predict(model, [Image.fromarray(im) for im in rgba], 64), nhwc, atol=1e-6)

    grey8 = rgb8[:, :, 1]
    grey_rgb = np.repeat(grey8[:, :, None], 3, axis=2)
    grey_reference = predict(model, grey_rgb, 64)
    assert torch.allclose(predict(model, grey8, 64), grey_reference, atol=1e-6)
    assert torch.allclose(predict(model, grey8[:, :, None], 64), grey_reference, atol=1e-6)
    assert torch.allclose(predict(model, Image.fromarray(grey8), 64), grey_reference, atol=1e-6)


def test_chunks_equal_one_big_batch_and_report_progress():
    rng = np.random.default_rng(2)
    images = torch.from_numpy(rng.random((5, 30, 50, 3), dtype=np.float32))
    whole_model = MeanLogitModel()
    whole = predict(whole_model, images, 64, batch_size=5)
    chunked_model = MeanLogitModel()
    calls = []
    chunked = predict(
        chunked_model, images, 64, batch_size=2, progress=lambda done, total: calls.append((done, total))
    )
    assert [x.shape[0] for x in whole_model.inputs] == [5]
    assert [x.shape[0] for x in chunked_model.inputs] == [2, 2, 1]
    assert calls == [(2, 5), (4, 5), (5, 5)]
    assert torch.allclose(chunked, whole, atol=1e-6)
    for i in range(5):  # each image's mask is its own, in order
        assert torch.allclose(predict(whole_model, images[i], 64)[0], whole[i], atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.filterwarnings("ignore:(fp16|bf16) on this CPU is emulated")  # tested in test_precision.py
def test_half_precision_models_run_under_autocast_with_float32_inputs(dtype):
    image = smooth_image(30, 40)
    full = predict(MeanLogitModel(), image, 64)
    model = MeanLogitModel().to(dtype)
    half = predict(model, image, 64)
    assert model.inputs[0].dtype == torch.float32
    assert model.output_dtypes == [dtype]
    assert half.dtype == torch.float32
    assert (half - full).abs().max() < 2e-2


def test_autocast_when_a_lower_dtype_is_asked_for_an_fp32_model():
    image = smooth_image(30, 40)
    model = MeanLogitModel()
    full = predict(model, image, 64)
    mixed = predict(model, image, 64, dtype=torch.bfloat16)
    assert model.output_dtypes[-1] == torch.bfloat16 and model.inputs[-1].dtype == torch.float32
    assert (mixed - full).abs().max() < 2e-2
    with pytest.raises(BiRefNetError, match="convert it with model.to"):
        predict(MeanLogitModel().to(torch.bfloat16), image, 64, dtype=torch.float32)


def test_resolution_choices():
    image = np.zeros((300, 600, 3), dtype=np.uint8)
    cases = [
        (64, (64, 64)),
        ((96, 64), (64, 96)),
        ("96x64", (64, 96)),
        (100, (96, 96)),  # nearest multiple of 32
        (112, (128, 128)),  # halves round up
        (10, (32, 32)),  # at least 32
        ("dynamic", (512, 1024)),  # long side 1024, aspect kept
    ]
    for resolution, expected_hw in cases:
        model = MeanLogitModel()
        predict(model, image, resolution)
        assert model.inputs[0].shape[2:] == expected_hw, resolution
    model = MeanLogitModel()
    predict(model, image, "dynamic", dynamic_long_side=512)
    assert model.inputs[0].shape[2:] == (256, 512)


def test_resolution_from_the_model_variant():
    image = np.zeros((30, 60, 3), dtype=np.uint8)
    expected = {None: (1024, 1024), "BiRefNet_512x512": (512, 512), "BiRefNet_dynamic": (512, 1024)}
    for name, expected_hw in expected.items():
        model = MeanLogitModel()
        model.variant = None if name is None else VARIANTS[name]
        mask = predict(model, image)
        assert model.inputs[0].shape[2:] == expected_hw, name
        assert mask.shape == (1, 30, 60)
    assert model_input_size(None, MeanLogitModel(), (10, 10)) == (1024, 1024)
    lite2k = MeanLogitModel()
    lite2k.variant = VARIANTS["BiRefNet_lite-2K"]
    assert model_input_size(None, lite2k, (10, 10)) == (2560, 1440)
    assert model_input_size(256, lite2k, (10, 10)) == (256, 256)  # an explicit resolution wins


def test_dynamic_sizes_keep_aspect_and_stay_in_range():
    assert dynamic_input_size(300, 600) == (1024, 512)
    assert dynamic_input_size(1000, 1000) == (1024, 1024)
    assert dynamic_input_size(440, 680) == (1024, 672)  # 662.6 -> 672
    assert dynamic_input_size(100, 2000) == (1024, 256)  # short side 51 -> clamped up to 256
    assert dynamic_input_size(4000, 3000, long_side=4000) == (2304, 2304)  # clamped down to 2304
    for h, w in [(17, 999), (1234, 567), (2000, 2000)]:
        width, height = dynamic_input_size(h, w)
        assert (
            width % 32 == 0 and height % 32 == 0 and 256 <= min(width, height) <= max(width, height) <= 2304
        )


def test_parse_resolution():
    assert parse_resolution("1024") == 1024
    assert parse_resolution(" 2560x1440 ") == (2560, 1440)
    assert parse_resolution("Dynamic") == "dynamic"
    with pytest.raises(BiRefNetError, match="Cannot read resolution"):
        parse_resolution("big")


def test_a_model_in_training_mode_is_run_in_eval_and_restored():
    model = MeanLogitModel().train()
    seen_modes = []
    model.register_forward_pre_hook(lambda module, args: seen_modes.append(module.training))
    predict(model, np.zeros((8, 8, 3), dtype=np.uint8), 32)
    assert seen_modes == [False] and model.training


@pytest.mark.parametrize(
    ("images", "kwargs", "message"),
    [
        (np.zeros((0, 10, 3), dtype=np.uint8), {}, "Empty image"),
        (np.zeros((0, 10, 10, 3), dtype=np.uint8), {}, "No images"),
        ([], {}, "No images"),
        (np.full((8, 8, 3), np.nan, dtype=np.float32), {}, "NaN or infinite"),
        (torch.full((8, 8, 3), float("inf")), {}, "NaN or infinite"),
        (np.zeros((8, 8, 2), dtype=np.uint8), {}, "channel axis of size 1, 3 or 4"),
        (np.zeros((2, 8, 8, 5), dtype=np.float32), {}, "channel axis of size 1, 3 or 4"),
        (np.zeros((1, 1, 8, 8, 3), dtype=np.float32), {}, "dimensions"),
        (np.zeros(8, dtype=np.float32), {}, "dimensions"),
        (np.full((8, 8, 3), 255.0, dtype=np.float32), {}, "divide 0..255 data by 255"),
        (np.zeros((8, 8, 3), dtype=np.int64), {}, "Unsupported image dtype"),
        (np.zeros((8, 8, 3), dtype=np.uint32), {}, "Unsupported image dtype"),
        ("image.png", {}, "Unsupported image type"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": 0}, "out of range"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": -5}, "out of range"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": 100000}, "out of range"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": (64, 0)}, "out of range"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": 64.5}, "Cannot use resolution"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": (64.5, 64)}, "whole number"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": "huge"}, "Cannot read resolution"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"resolution": (1, 2, 3)}, "Cannot use resolution"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"batch_size": 0}, "batch_size"),
        (np.zeros((8, 8, 3), dtype=np.uint8), {"device": "meta"}, "move it with model.to"),
    ],
)
def test_bad_input_is_a_clear_error(images, kwargs, message):
    with pytest.raises(BiRefNetError, match=message):
        predict(MeanLogitModel(), images, **kwargs)


def test_pil_images_of_different_sizes_are_refused():
    images = [Image.new("RGB", (10, 10)), Image.new("RGB", (12, 10))]
    with pytest.raises(BiRefNetError, match="different sizes"):
        predict(MeanLogitModel(), images, 32)


@pytest.mark.slow
def test_real_network_smoke():
    model_module = pytest.importorskip("birefnet.network.model")
    torch.manual_seed(0)
    model = model_module.BiRefNet("pvt_v2_b0").eval()
    images = torch.from_numpy(np.stack([smooth_image(50, 70, seed=3), smooth_image(50, 70, seed=4)]))
    masks = predict(model, images, 64, batch_size=2)
    assert masks.shape == (2, 50, 70) and masks.dtype == torch.float32
    assert bool(torch.isfinite(masks).all()) and float(masks.min()) >= 0 and float(masks.max()) <= 1
    one_by_one = predict(model, images, 64, batch_size=1)
    assert torch.allclose(masks, one_by_one, atol=1e-5)
    # Through the public loader, from a saved checkpoint.
    loading = pytest.importorskip("birefnet.weights.load")
    loaded = loading.load_model(model.state_dict())
    assert torch.allclose(predict(loaded, images, 64), masks, atol=1e-5)
