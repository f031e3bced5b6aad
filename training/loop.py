"""One epoch of training: micro-batches, gradient accumulation and optimizer steps.

An optimizer step takes ``grad_accum`` micro-batches per process; under DDP the gradients are all-reduced
on the last of them only (``no_sync`` before). Before each micro-batch torch is reseeded from
(seed, step, slot) (``training.state.micro_batch_seed``). Each optimizer step writes one log record: the
loss and its parts averaged over micro-batches and ranks, the learning rate and the time since the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from .config import AUTOCAST_DTYPES, TrainConfig
from .data import dynamic_batch_size, resize_batch
from .distributed import DistributedContext, mean_over_ranks
from .log import JsonlLog
from .losses import LossTerms, birefnet_loss
from .state import micro_batch_seed


@dataclass
class Trainer:
    """The model and what trains it. ``model`` is the plain module (saved, validated); ``forward`` the one
    that runs (DDP-wrapped when distributed, compiled with ``config.compile``). ``step`` counts optimizer
    steps, ``last_loss`` is the latest step's loss."""

    config: TrainConfig
    context: DistributedContext
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    log: JsonlLog
    step: int = 0
    last_loss: float = float("nan")
    ddp_model: nn.Module = field(init=False)
    forward: nn.Module = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.ddp_model = self.model
        if self.context.enabled:
            ids = [self.context.device.index] if self.context.device.type == "cuda" else None
            self.ddp_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.forward = torch.compile(self.ddp_model) if self.config.compile else self.ddp_model
        self.started = time.time()


def _micro_step(
    trainer: Trainer, batch: dict[str, torch.Tensor], loss_weights: dict[str, float], micro: int, sync: bool
) -> LossTerms:
    """Forward and backward of one micro-batch (loss / grad_accum); DDP all-reduces only when ``sync``."""
    config, context = trainer.config, trainer.context
    images = batch["image"].to(context.device, non_blocking=True)
    masks = batch["mask"].to(context.device, non_blocking=True)
    # Dropout and drop-path draws depend only on (seed, step, slot): DDP ranks and accumulation
    # micro-steps that see the same micro-batch draw the same masks, and resumed runs need no
    # mid-epoch RNG replay.
    torch.manual_seed(micro_batch_seed(config.seed, trainer.step, micro * context.world_size + context.rank))
    autocast_dtype = AUTOCAST_DTYPES[config.precision]
    with trainer.ddp_model.no_sync() if (context.enabled and not sync) else nullcontext():
        with torch.autocast(context.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            output = trainer.forward(images)
        class_labels = batch["class_index"].to(context.device) if config.aux_classification else None
        terms = birefnet_loss(
            output, masks, loss_weights, class_logits=output.class_logits, class_labels=class_labels
        )
        trainer.scaler.scale(terms.total / config.grad_accum).backward()
    return terms


def train_epoch(
    trainer: Trainer,
    loader: DataLoader,
    epoch: int,
    step_in_epoch: int,
    loss_weights: dict[str, float],
    bar: tqdm,
    save_state: Callable[[int, int], None],
) -> tuple[int, bool]:
    """Optimizer steps over ``loader`` (``epoch`` after its first ``step_in_epoch`` steps); calls
    ``save_state(epoch, step_in_epoch)`` every ``save_every_steps`` steps. Returns (steps done in the epoch,
    whether ``max_steps`` stopped it)."""
    config, context = trainer.config, trainer.context
    micro = 0
    running = torch.zeros((), device=context.device)
    parts_sum: dict[str, torch.Tensor] = {}
    for batch in loader:
        if config.dynamic_size is not None:
            batch = resize_batch(
                batch, dynamic_batch_size(config.seed, epoch, step_in_epoch, *config.dynamic_size)
            )
        last_micro = micro == config.grad_accum - 1
        terms = _micro_step(trainer, batch, loss_weights, micro, sync=last_micro)
        running = running + terms.total.detach() / config.grad_accum
        logged = {**terms.parts, "gradient": terms.gradient}
        if config.aux_classification:
            logged["classification"] = terms.classification
        for name, value in logged.items():
            parts_sum[name] = parts_sum.get(name, 0) + value.detach() / config.grad_accum
        micro += 1
        if not last_micro:
            continue
        trainer.scaler.step(trainer.optimizer)
        trainer.scaler.update()
        trainer.optimizer.zero_grad(set_to_none=True)
        micro = 0
        trainer.step += 1
        step_in_epoch += 1
        trainer.last_loss = float(mean_over_ranks(running, context))
        trainer.log.write(
            {
                "step": trainer.step,
                "epoch": epoch,
                "loss": trainer.last_loss,
                **{k: float(mean_over_ranks(v, context)) for k, v in parts_sum.items()},
                "lr": trainer.optimizer.param_groups[0]["lr"],
                "time": round(time.time() - trainer.started, 3),
            }
        )
        running = torch.zeros((), device=context.device)
        parts_sum = {}
        bar.update(1)
        bar.set_postfix(loss=f"{trainer.last_loss:.4f}")
        if config.max_steps is not None and trainer.step >= config.max_steps:
            return step_in_epoch, True
        if config.save_every_steps and trainer.step % config.save_every_steps == 0:
            save_state(epoch, step_in_epoch)
    return step_in_epoch, False
