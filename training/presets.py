"""Training recipes of the reference implementation: size, learning rate, epochs, loss weights and the
last-epochs loss switch per task, and the encoders' stochastic depth.

Loss weights multiply the per-output pixel losses (BCE, IoU, SSIM, MAE, MSE). During the last
``last_epochs`` epochs the reference moves the weights a little further every epoch, compounding: each
switched epoch multiplies every weight by the preset's ``switch`` factor (see ``loss_weights_for_epoch``).
Matting: MAE x1, MSE x0.9, SSIM x0.9; every other task: BCE x0, IoU x0.5, MAE x0.9, SSIM x1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from birefnet import BACKBONES, BiRefNetError

# Per-epoch multipliers of the last-epochs switch (compounding from the first switched epoch); absent = x1.
REGION_SWITCH: dict[str, float] = {"bce": 0.0, "iou": 0.5, "mae": 0.9, "ssim": 1.0}
MATTING_SWITCH: dict[str, float] = {"mae": 1.0, "mse": 0.9, "ssim": 0.9}

# Stochastic depth of the last encoder block in training (reference defaults; rising linearly from 0).
DROP_PATH_RATES: dict[str, float] = {"swin_v1": 0.2, "pvt_v2": 0.1}


@dataclass(frozen=True)
class TrainingPreset:
    """One task's recipe.

    ``lr`` is the learning rate at batch size 4; ``scaled_lr`` applies the sqrt(batch/4) rule.
    ``loss_weights`` maps loss name ("bce", "iou", "ssim", "mae", "mse") to its weight; absent = 0.
    ``switch`` maps loss name to its per-epoch multiplier in the last ``last_epochs`` epochs; absent = x1.
    """

    name: str
    lr: float
    epochs: int
    last_epochs: int
    loss_weights: dict[str, float] = field(default_factory=dict)
    switch: dict[str, float] = field(default_factory=lambda: dict(REGION_SWITCH))
    size: tuple[int, int] = (1024, 1024)  # (width, height) training size
    weight_decay: float = 1e-2
    aux_class_weight: float = 5.0  # cross-entropy weight of the optional class head


_REGION = {"bce": 30.0, "iou": 0.5, "ssim": 10.0}
_GENERAL = {**_REGION, "mae": 100.0}

PRESETS: dict[str, TrainingPreset] = {
    "DIS5K": TrainingPreset("DIS5K", lr=1e-4, epochs=500, last_epochs=40, loss_weights=dict(_REGION)),
    "COD": TrainingPreset("COD", lr=1e-5, epochs=150, last_epochs=20, loss_weights=dict(_REGION)),
    "HRSOD": TrainingPreset("HRSOD", lr=1e-5, epochs=150, last_epochs=20, loss_weights=dict(_REGION)),
    "General": TrainingPreset("General", lr=1e-5, epochs=200, last_epochs=20, loss_weights=dict(_GENERAL)),
    "General-2K": TrainingPreset(
        "General-2K", lr=1e-5, epochs=250, last_epochs=20, loss_weights=dict(_GENERAL), size=(2560, 1440)
    ),
    "Matting": TrainingPreset(
        "Matting",
        lr=1e-5,
        epochs=150,
        last_epochs=10,
        loss_weights={"bce": 30.0, "mae": 100.0, "ssim": 10.0},
        switch=dict(MATTING_SWITCH),
    ),
}


def get_preset(name: str) -> TrainingPreset:
    """Return the preset called ``name`` (case-insensitive)."""
    for key, preset in PRESETS.items():
        if key.lower() == name.lower():
            return preset
    raise BiRefNetError(f"Unknown training preset {name!r}; choose one of {', '.join(PRESETS)}.")


def default_drop_path_rate(backbone: str) -> float:
    """The reference's stochastic depth rate for ``backbone``: 0.2 for Swin v1, 0.1 for PVT v2."""
    for family, rate in DROP_PATH_RATES.items():
        if backbone.startswith(family):
            return rate
    raise BiRefNetError(f"Unknown backbone {backbone!r} (--backbone); choose one of {', '.join(BACKBONES)}.")


def scaled_lr(base_lr: float, batch_size: int) -> float:
    """The recipe's learning-rate rule: ``base_lr * sqrt(batch_size / 4)`` (global batch size)."""
    return base_lr * math.sqrt(batch_size / 4)


def switched_epochs(epoch: int, epochs: int, last_epochs: int) -> int:
    """How many of the last-epochs switches have happened by ``epoch`` (1-based); 0 before the switch."""
    return max(0, epoch - (epochs - last_epochs))


def loss_weights_for_epoch(
    weights: dict[str, float], switch: dict[str, float], epoch: int, epochs: int, last_epochs: int
) -> dict[str, float]:
    """Loss weights in effect during ``epoch`` (1-based) of ``epochs``, after the last-epochs switch.

    Epoch ``epochs - last_epochs + k`` (k >= 1) uses ``weight * switch[name] ** k`` for every loss
    (``switch`` absent = x1), e.g. for DIS5K BCE x0, IoU x0.5**k; before that the weights unchanged.
    """
    k = switched_epochs(epoch, epochs, last_epochs)
    return {name: w * (switch.get(name, 1.0) ** k) for name, w in weights.items()}
