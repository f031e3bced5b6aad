"""Train-mode parity with the reference implementation (tests/fixtures/train_parity): swin_v1_t, batch of two
256x256 images, the parity tool's deterministic weights, stochastic depth and dropout off. Our train-mode
outputs, the DIS5K objective and its parameter gradients against the reference's, within the tolerances
of the fixture's README (the reference against itself on 1 vs 2 threads)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import parity
import pytest
import torch
from testdata import FIXTURES
from torch import nn

from birefnet import BiRefNet
from training.losses import birefnet_loss
from training.presets import default_drop_path_rate, get_preset

CASE = FIXTURES / "train_parity" / "swin_v1_t_256.npz"
MAP_TOL = 1e-3  # max|d| <= MAP_TOL * max(1, max|ref|) for logits and gradient maps
LOSS_RTOL = 1e-4
GRAD_TOL = 2e-2  # max|d| <= GRAD_TOL * max|ref| for parameter gradients


def switch_off_stochastic_layers(model: nn.Module) -> None:
    """Every ``drop_prob`` and every ``nn.Dropout.p`` to 0, as the fixture was made on the reference side."""
    for module in model.modules():
        if hasattr(module, "drop_prob"):
            module.drop_prob = 0.0
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def train_parity_report() -> dict[str, float]:
    """Runs our model on the fixture's case; returns max|d| / scale per array, loss and gradient differences."""
    ref = np.load(CASE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one summation order: train-mode gradients amplify rounding (see README)
    try:
        return _compare(ref)
    finally:
        torch.set_num_threads(threads)


def _compare(ref: Mapping[str, np.ndarray]) -> dict[str, float]:
    # The training default (0.2 for swin) switched off afterwards: the modules' drop_prob is what counts.
    model = BiRefNet("swin_v1_t", drop_path_rate=default_drop_path_rate("swin_v1_t"))
    model.load_state_dict(parity.make_weights(parity.load_manifest("swin_v1_t")))
    assert max(m.drop_prob for m in model.modules() if hasattr(m, "drop_prob")) == pytest.approx(0.2)
    switch_off_stochastic_layers(model)
    model.train()
    output = model(torch.from_numpy(ref["input"]))
    terms = birefnet_loss(output, torch.from_numpy(ref["gt"]), get_preset("DIS5K").loss_weights)
    terms.total.backward()

    report: dict[str, float] = {}
    ours = {f"logits_{i}": t for i, t in enumerate(output.logits)}
    ours.update({f"gradient_pred_{i}": t for i, t in enumerate(output.gradient_preds)})
    ours.update({f"gradient_label_{i}": t for i, t in enumerate(output.gradient_labels)})
    assert len(ours) == 10
    for name, tensor in ours.items():
        expected = ref[name]
        assert tuple(tensor.shape) == expected.shape, name
        scale = max(1.0, float(np.abs(expected).max()))
        report[name] = float(np.abs(tensor.detach().numpy() - expected).max()) / scale
    for name, value in (
        ("loss_pixel", terms.pixel),
        ("loss_gradient", terms.gradient),
        ("loss_total", terms.total),
    ):
        report[name] = abs(value.detach().item() - float(ref[name])) / abs(float(ref[name]))
    parameters = dict(model.named_parameters())
    grads = [key for key in ref if key.startswith("grad:")]
    assert len(grads) == 6
    for key in grads:
        expected = ref[key]
        grad = parameters[key.removeprefix("grad:")].grad
        assert grad is not None and tuple(grad.shape) == expected.shape, key
        report[key] = float(np.abs(grad.numpy() - expected).max()) / float(np.abs(expected).max())
    return report


@pytest.fixture(scope="module")
def report() -> dict[str, float]:
    """The differences (printed with ``pytest -s``)."""
    numbers = train_parity_report()
    for name, value in numbers.items():
        print(f"{name:64s} {value:.3e}")
    return numbers


def test_train_mode_outputs_match_the_reference(report):
    maps = {k: v for k, v in report.items() if k.startswith(("logits_", "gradient_"))}
    assert len(maps) == 10
    assert all(v <= MAP_TOL for v in maps.values()), maps


def test_dis5k_loss_matches_the_reference(report):
    losses = {k: v for k, v in report.items() if k.startswith("loss_")}
    assert all(v <= LOSS_RTOL for v in losses.values()), losses


def test_parameter_gradients_match_the_reference(report):
    grads = {k: v for k, v in report.items() if k.startswith("grad:")}
    assert all(v <= GRAD_TOL for v in grads.values()), grads
