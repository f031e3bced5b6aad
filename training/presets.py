"""Training recipes of the reference implementation: learning rate, epochs, loss weights per task.

Loss weights multiply the per-output pixel losses (BCE, IoU, SSIM, MAE). During the last
``last_epochs`` epochs the reference switches towards region losses; each switched epoch
multiplies BCE by 0, IoU by 0.5 and MAE by 0.9, compounding (see ``loss_weights_for_epoch``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from birefnet.errors import BiRefNetError

# Per-epoch multipliers of the last-epochs switch (compounding from the first switched epoch).
LAST_EPOCHS_DECAY: dict[str, float] = {"bce": 0.0, "iou": 0.5, "mae": 0.9}


@dataclass(frozen=True)
class TrainingPreset:
    """One task's recipe.

    ``lr`` is the learning rate at batch size 4; ``scaled_lr`` applies the sqrt(batch/4) rule.
    ``loss_weights`` maps loss name ("bce", "iou", "ssim", "mae") to its weight; absent = 0.
    """

    name: str
    lr: float
    epochs: int
    last_epochs: int
    loss_weights: dict[str, float] = field(default_factory=dict)
    size: tuple[int, int] = (1024, 1024)  # (width, height) training size
    weight_decay: float = 1e-2
    aux_class_weight: float = 5.0  # cross-entropy weight of the optional class head


_REGION = {"bce": 30.0, "iou": 0.5, "ssim": 10.0}

PRESETS: dict[str, TrainingPreset] = {
    "DIS5K": TrainingPreset("DIS5K", lr=1e-4, epochs=500, last_epochs=40, loss_weights=dict(_REGION)),
    "COD": TrainingPreset("COD", lr=1e-5, epochs=150, last_epochs=20, loss_weights=dict(_REGION)),
    "HRSOD": TrainingPreset("HRSOD", lr=1e-5, epochs=150, last_epochs=20, loss_weights=dict(_REGION)),
    "General": TrainingPreset(
        "General", lr=1e-5, epochs=200, last_epochs=20, loss_weights={**_REGION, "mae": 100.0}
    ),
    "Matting": TrainingPreset(
        "Matting", lr=1e-5, epochs=150, last_epochs=10, loss_weights={"bce": 30.0, "mae": 100.0, "ssim": 10.0}
    ),
}


def get_preset(name: str) -> TrainingPreset:
    """Return the preset called ``name`` (case-insensitive)."""
    for key, preset in PRESETS.items():
        if key.lower() == name.lower():
            return preset
    raise BiRefNetError(f"Unknown training preset {name!r}; choose one of {', '.join(PRESETS)}.")


def scaled_lr(base_lr: float, batch_size: int) -> float:
    """The recipe's learning-rate rule: ``base_lr * sqrt(batch_size / 4)`` (global batch size)."""
    return base_lr * math.sqrt(batch_size / 4)


def switched_epochs(epoch: int, epochs: int, last_epochs: int) -> int:
    """How many of the last-epochs switches have happened by ``epoch`` (1-based); 0 before the switch."""
    return max(0, epoch - (epochs - last_epochs))


def loss_weights_for_epoch(
    weights: dict[str, float], epoch: int, epochs: int, last_epochs: int
) -> dict[str, float]:
    """Loss weights in effect during ``epoch`` (1-based) of ``epochs``, after the last-epochs switch.

    Epoch ``epochs - last_epochs + k`` (k >= 1) uses BCE x0, IoU x0.5**k, MAE x0.9**k; SSIM unchanged.
    """
    k = switched_epochs(epoch, epochs, last_epochs)
    return {name: w * (LAST_EPOCHS_DECAY.get(name, 1.0) ** k) for name, w in weights.items()}
