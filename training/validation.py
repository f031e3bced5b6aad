"""Validation during training: rank 0 scores the validation split and logs it; the others wait."""

from __future__ import annotations

from torch import nn

from .config import TrainConfig
from .data import split_samples
from .distributed import DistributedContext, barrier
from .log import JsonlLog
from .state import restore_rng_states, rng_states


def validate(
    config: TrainConfig, model: nn.Module, context: DistributedContext, log: JsonlLog, epoch: int, step: int
) -> None:
    """Evaluate ``config.val_split`` at ``config.size`` (RNG states kept, so the run does not change) and
    write the metrics as a log record."""
    if config.val_split and context.is_main:
        from .evaluate import evaluate_model

        saved = rng_states()
        results = evaluate_model(
            model, split_samples(config.data_root, config.val_split), config.size, config.val_hce, None, False
        )
        restore_rng_states(saved)
        log.write({"step": step, "epoch": epoch, "validation": config.val_split, **results})
    barrier(context)
