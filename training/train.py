"""Train or fine-tune BiRefNet; ``python -m training.train --help``, or ``torchrun ... -m training.train``.

The loop: AdamW (weight decay 1e-2) at the preset's learning rate scaled by sqrt(batch / 4) (batch per
process, as in the reference), constant; fp32 / bf16 / fp16 autocast (fp16 with a gradient scaler on
CUDA); optional torch.compile; gradient accumulation; DDP when launched by torchrun. Loss =
``training.losses.birefnet_loss`` with the preset's weights after its last-epochs switch. The encoder
trains with stochastic depth (``--drop-path-rate``, default the reference's: Swin v1 0.2, PVT v2 0.1).

Files in ``output_dir``: ``train_log.jsonl`` (one JSON object per optimizer step, plus validation
records), ``weights/epoch_NNNN.safetensors`` (official key names), ``training_state.pt`` (model,
optimizer, scaler, counters, RNG states; written at epoch ends, every ``save_every_steps`` steps and
when ``max_steps`` stops the run). A run started again in the same ``output_dir`` resumes from
``training_state.pt`` and reproduces the uninterrupted run exactly (same data order, augmentations
and dropout / drop-path draws). Only rank 0 writes files.

The parts: ``config`` (settings, command line), ``model`` (building it), ``state`` (seeding, resumable
state), ``log`` (``train_log.jsonl``), ``loop`` (one epoch), ``validation``; this module runs the epochs.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from birefnet import BiRefNetError, fixed_cpu_kernels

from .augment import NO_AUGMENT, AugmentConfig
from .checkpoints import save_weights
from .config import TrainConfig, check_config, parse_args, resolve_defaults
from .data import SegmentationDataset, class_vocabulary, split_samples
from .distributed import DistributedContext, barrier, cleanup_distributed, setup_distributed
from .log import LOG_FILE, JsonlLog
from .loop import Trainer, train_epoch
from .model import build_model
from .presets import get_preset, loss_weights_for_epoch, scaled_lr
from .sampler import DistributedBatchSampler
from .state import STATE_FILE, resume, save_state, set_seeds
from .validation import validate


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) training; returns a summary (steps, epochs, last loss, files written)."""
    with fixed_cpu_kernels():
        context = setup_distributed(config.device)
        try:
            return _train(config, context)
        finally:
            cleanup_distributed()


def _train(config: TrainConfig, context: DistributedContext) -> dict[str, Any]:
    config = resolve_defaults(config)
    preset = get_preset(config.preset)
    check_config(config)
    epochs = config.epochs or preset.epochs
    last_epochs = preset.last_epochs if config.last_epochs is None else config.last_epochs
    lr = config.lr if config.lr is not None else scaled_lr(preset.lr, config.batch_size)
    if last_epochs >= epochs and context.is_main:
        switch = ", ".join(f"{name} x{factor:g}" for name, factor in preset.switch.items())
        print(
            f"warning: --last-epochs {last_epochs} >= --epochs {epochs}: every epoch is in the {preset.name} "
            f"loss switch ({switch} per epoch), as in the reference; pass a smaller --last-epochs to avoid it.",
            file=sys.stderr,
        )
    out = Path(config.output_dir)
    if context.is_main:
        (out / "weights").mkdir(parents=True, exist_ok=True)
    log = JsonlLog(out / LOG_FILE, context.is_main)

    samples = split_samples(config.data_root, config.train_split)
    classes = class_vocabulary(samples)
    if config.aux_classification and not classes:
        raise BiRefNetError(
            f"--aux-classification needs class names in the file names (DIS5K style, e.g. "
            f"'1#Accessories#1#Bag#123.jpg'), but none were found in {config.data_root}/{config.train_split}."
        )
    set_seeds(config.seed)
    model = build_model(config, context, len(classes) if config.aux_classification else 0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=preset.weight_decay)
    scaler = torch.amp.GradScaler(
        context.device.type, enabled=config.precision == "fp16" and context.device.type == "cuda"
    )

    load_size = config.size if config.dynamic_size is None else (config.dynamic_size[1],) * 2
    dataset = SegmentationDataset(
        samples, load_size, AugmentConfig() if config.augment else NO_AUGMENT, config.seed, classes
    )
    sampler = DistributedBatchSampler(
        len(dataset), config.batch_size, context.world_size, context.rank, config.grad_accum, config.seed
    )
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=config.num_workers,
        generator=torch.Generator().manual_seed(config.seed),  # keeps the global RNG untouched
    )

    step, start_epoch, skip_steps = 0, 1, 0
    state_path = out / STATE_FILE
    if config.resume and state_path.exists():
        step, start_epoch, skip_steps = resume(state_path, model, optimizer, scaler)
        log.truncate_after(step)
    trainer = Trainer(config, context, model, optimizer, scaler, log, step)

    def save(epoch: int, step_in_epoch: int, epoch_done: bool = False) -> None:
        if context.is_main:
            counters = {
                "step": trainer.step,
                "epoch": epoch,
                "step_in_epoch": step_in_epoch,
                "epoch_done": epoch_done,
            }
            save_state(state_path, model, optimizer, scaler, counters, asdict(config))

    weights_written: list[str] = []
    stopped = False
    for epoch in range(start_epoch, epochs + 1):
        loss_weights = loss_weights_for_epoch(preset.loss_weights, preset.switch, epoch, epochs, last_epochs)
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch, skip_steps)
        bar = tqdm(
            total=sampler.steps_per_epoch,
            initial=skip_steps,
            desc=f"epoch {epoch}/{epochs}",
            disable=not (config.progress and context.is_main),
        )
        step_in_epoch, stopped = train_epoch(trainer, loader, epoch, skip_steps, loss_weights, bar, save)
        skip_steps = 0
        bar.close()
        epoch_done = step_in_epoch >= sampler.steps_per_epoch
        if epoch_done and context.is_main and (epoch % config.save_every_epochs == 0 or epoch == epochs):
            path = out / "weights" / f"epoch_{epoch:04d}.safetensors"
            metadata = {"backbone": config.backbone, "epoch": str(epoch), "step": str(trainer.step)}
            save_weights(model, path, metadata)
            weights_written.append(str(path))
        if epoch_done and config.validate_every_epochs and epoch % config.validate_every_epochs == 0:
            validate(config, model, context, log, epoch, trainer.step)
        save(epoch, step_in_epoch, epoch_done)
        barrier(context)
        if stopped:
            break
    return {
        "steps": trainer.step,
        "last_loss": trainer.last_loss,
        "lr": lr,
        "weights": weights_written,
        "state": str(state_path),
        "stopped_early": stopped,
    }


def main(argv: list[str] | None = None) -> int:
    try:
        summary = train(parse_args(argv))
    except BiRefNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
