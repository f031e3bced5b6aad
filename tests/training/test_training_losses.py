"""Losses and presets of training/ against hand-computed values and an independent SSIM."""

import math

import kornia
import numpy as np
import pytest
import torch
from scipy import ndimage

from birefnet import BiRefNetError
from training.losses import (
    bce_loss,
    gradient_loss,
    gradient_target,
    iou_loss,
    mae_loss,
    mse_loss,
    pixel_loss,
    ssim_loss,
    ssim_map,
)
from training.presets import default_drop_path_rate, get_preset, loss_weights_for_epoch, scaled_lr

PROB = torch.tensor([0.5, 0.8, 0.2, 0.9]).view(1, 1, 2, 2)
GT = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 2, 2)


def test_bce_iou_mae_match_hand_computed_values():
    bce = -(math.log(0.5) + math.log(0.8) + math.log(0.8) + math.log(0.1)) / 4
    assert bce_loss(PROB, GT).item() == pytest.approx(bce, rel=1e-6)
    # IoU: intersection 0.5 + 0.8 = 1.3, union 2.4 + 2 - 1.3 = 3.1; summed over a batch of two.
    batch_p, batch_g = torch.cat([PROB, PROB]), torch.cat([GT, GT])
    assert iou_loss(batch_p, batch_g).item() == pytest.approx(2 * (1 - 1.3 / 3.1), rel=1e-6)
    assert mae_loss(PROB, GT).item() == pytest.approx((0.5 + 0.2 + 0.2 + 0.9) / 4, rel=1e-6)


def _numpy_ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM straight from its definition: 11x11 Gaussian (sigma 1.5) weights, zero outside the image."""
    r = np.arange(11) - 5
    g = np.exp(-(r**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()

    def blur(x):
        return ndimage.correlate(x, w, mode="constant", cval=0.0)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def test_ssim_matches_direct_numpy_computation_and_kornia_interior():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(2, 1, 40, 48, generator=gen, dtype=torch.float64)
    b = (a + 0.3 * torch.rand(2, 1, 40, 48, generator=gen, dtype=torch.float64)).clamp(0, 1)
    ours = ssim_map(a, b)
    for i in range(2):
        expected = _numpy_ssim_map(a[i, 0].numpy(), b[i, 0].numpy())
        np.testing.assert_allclose(ours[i, 0].numpy(), expected, rtol=1e-9, atol=1e-12)
    # kornia with 'valid' padding gives the interior; its 'same' mode reflects at the border, which differs.
    valid = kornia.metrics.ssim(a, b, 11, padding="valid")
    torch.testing.assert_close(ours[..., 5:-5, 5:-5], valid, rtol=1e-7, atol=1e-9)
    same = kornia.metrics.ssim(a, b, 11)
    assert (same - ours).abs().amax() > 1e-3
    expected_loss = (
        1 - (1 + np.mean([_numpy_ssim_map(a[i, 0].numpy(), b[i, 0].numpy()) for i in range(2)])) / 2
    )
    assert ssim_loss(a, b).item() == pytest.approx(expected_loss, rel=1e-9)
    assert ssim_loss(a, a).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_target_is_normalised_laplacian_of_channel_mean():
    x = torch.randn(1, 3, 20, 24, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    kernel = np.ones((5, 5))
    kernel[2, 2] = -24
    kernel /= np.abs(kernel).sum()  # kornia's normalised Laplacian
    mean = x.mean(dim=1)[0].numpy()
    expected = ndimage.correlate(mean, kernel, mode="mirror")  # torch 'reflect' padding
    np.testing.assert_allclose(gradient_target(x)[0, 0].numpy(), expected, rtol=1e-9, atol=1e-12)


def test_gradient_loss_hand_computed_and_upsampled():
    def sig(v):
        return 1 / (1 + math.exp(-v))

    pred, label = 0.3, -1.2
    expected = -(sig(label) * math.log(sig(pred)) + (1 - sig(label)) * math.log(1 - sig(pred)))
    preds = [torch.full((1, 1, 2, 2), pred), torch.full((1, 1, 4, 4), pred)]
    labels = [torch.full((1, 1, 8, 8), label), torch.full((1, 1, 8, 8), label)]
    assert gradient_loss(preds, labels).item() == pytest.approx(2 * expected, rel=1e-5)


def test_pixel_loss_sums_weighted_losses_over_upsampled_outputs():
    gt = torch.zeros(1, 1, 8, 8)
    gt[..., 2:6, 2:6] = 1
    value = 0.4
    logits = [torch.full((1, 1, s, s), math.log(value / (1 - value))) for s in (1, 2, 4, 8)]
    weights = get_preset("General").loss_weights
    total, parts = pixel_loss(logits, gt, weights)
    prob = torch.full((1, 1, 8, 8), value)
    fg = 16 / 64
    bce = -(fg * math.log(value) + (1 - fg) * math.log(1 - value))
    iou = 1 - (value * 16) / (value * 64 + 16 - value * 16)
    mae = fg * (1 - value) + (1 - fg) * value
    ssim = 1 - (1 + _numpy_ssim_map(prob[0, 0].double().numpy(), gt[0, 0].double().numpy()).mean()) / 2
    assert parts["bce"].item() == pytest.approx(4 * 30 * bce, rel=1e-5)
    assert parts["iou"].item() == pytest.approx(4 * 0.5 * iou, rel=1e-5)
    assert parts["mae"].item() == pytest.approx(4 * 100 * mae, rel=1e-5)
    assert parts["ssim"].item() == pytest.approx(4 * 10 * ssim, rel=1e-4)
    assert total.item() == pytest.approx(sum(p.item() for p in parts.values()), rel=1e-6)


def test_presets_and_last_epochs_switch():
    dis = get_preset("dis5k")
    assert (dis.lr, dis.epochs, dis.last_epochs, dis.size) == (1e-4, 500, 40, (1024, 1024))
    assert dis.loss_weights == {"bce": 30.0, "iou": 0.5, "ssim": 10.0}
    assert get_preset("Matting").loss_weights == {"bce": 30.0, "mae": 100.0, "ssim": 10.0}
    assert scaled_lr(1e-4, 16) == pytest.approx(2e-4)
    w = loss_weights_for_epoch(dis.loss_weights, dis.switch, 460, 500, 40)
    assert w == dis.loss_weights
    w = loss_weights_for_epoch(dis.loss_weights, dis.switch, 461, 500, 40)
    assert w == {"bce": 0.0, "iou": 0.25, "ssim": 10.0}


def test_general_2k_preset():
    preset = get_preset("general-2k")
    general = get_preset("General")
    assert preset.name == "General-2K"
    assert (preset.size, preset.epochs, preset.last_epochs) == ((2560, 1440), 250, 20)
    assert (preset.lr, preset.loss_weights, preset.switch) == (
        general.lr,
        general.loss_weights,
        general.switch,
    )
    assert general.lr == 1e-5 and general.size == (1024, 1024)


# (preset, epoch, expected weights): k = epoch - (epochs - last_epochs) switched epochs, multipliers by hand.
SCHEDULES = [
    ("DIS5K", 460, {"bce": 30.0, "iou": 0.5, "ssim": 10.0}),  # k = 0
    ("DIS5K", 463, {"bce": 0.0, "iou": 0.5 / 8, "ssim": 10.0}),  # k = 3
    ("COD", 132, {"bce": 0.0, "iou": 0.5 / 4, "ssim": 10.0}),  # k = 2
    ("HRSOD", 150, {"bce": 0.0, "iou": 0.5 / 2**20, "ssim": 10.0}),  # k = 20
    ("General", 181, {"bce": 0.0, "iou": 0.25, "ssim": 10.0, "mae": 90.0}),  # k = 1
    ("General", 182, {"bce": 0.0, "iou": 0.125, "ssim": 10.0, "mae": 81.0}),  # k = 2
    ("General-2K", 230, {"bce": 30.0, "iou": 0.5, "ssim": 10.0, "mae": 100.0}),  # k = 0
    ("General-2K", 233, {"bce": 0.0, "iou": 0.0625, "ssim": 10.0, "mae": 72.9}),  # k = 3
    ("Matting", 140, {"bce": 30.0, "mae": 100.0, "ssim": 10.0}),  # k = 0
    ("Matting", 141, {"bce": 30.0, "mae": 100.0, "ssim": 9.0}),  # k = 1
    ("Matting", 143, {"bce": 30.0, "mae": 100.0, "ssim": 7.29}),  # k = 3
]


@pytest.mark.parametrize("name,epoch,expected", SCHEDULES)
def test_last_epochs_schedule_of_every_preset(name, epoch, expected):
    preset = get_preset(name)
    weights = loss_weights_for_epoch(
        preset.loss_weights, preset.switch, epoch, preset.epochs, preset.last_epochs
    )
    assert weights == pytest.approx(expected, rel=1e-12)
    assert set(weights) == set(expected)


def test_matting_switch_scales_mse_and_ssim_only():
    # With an MSE weight (the reference's Matting lambdas carry it, at 0) MSE goes x0.9 per switched epoch.
    matting = get_preset("Matting")
    weights = {**matting.loss_weights, "iou": 0.5, "mse": 30.0}
    w = loss_weights_for_epoch(weights, matting.switch, 142, 150, 10)
    assert w == pytest.approx({"bce": 30.0, "iou": 0.5, "mae": 100.0, "ssim": 8.1, "mse": 24.3}, rel=1e-12)


def test_matting_loss_after_one_switched_epoch():
    gt = torch.zeros(1, 1, 8, 8)
    gt[..., 2:6, 2:6] = 1
    logits = [torch.full((1, 1, 8, 8), 0.3)]
    matting = get_preset("Matting")
    before, parts = pixel_loss(logits, gt, matting.loss_weights)
    after, _ = pixel_loss(
        logits, gt, loss_weights_for_epoch(matting.loss_weights, matting.switch, 141, 150, 10)
    )
    ssim = parts["ssim"].item()
    assert after.item() == pytest.approx(before.item() - 0.1 * ssim, rel=1e-6)


def test_mse_matches_hand_computed_value():
    assert mse_loss(PROB, GT).item() == pytest.approx((0.25 + 0.04 + 0.04 + 0.81) / 4, rel=1e-6)


def test_drop_path_rate_defaults_per_encoder_family():
    expected = {"swin_v1_t": 0.2, "swin_v1_l": 0.2, "pvt_v2_b0": 0.1, "pvt_v2_b5": 0.1}
    assert {name: default_drop_path_rate(name) for name in expected} == expected
    with pytest.raises(BiRefNetError, match="--backbone"):
        default_drop_path_rate("resnet50")
