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
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from birefnet import BiRefNet, BiRefNetError, fixed_cpu_kernels

from .augment import NO_AUGMENT, AugmentConfig
from .checkpoints import (
    load_training_state,
    restore_rng_states,
    rng_states,
    save_training_state,
    save_weights,
    unwrap_model,
)
from .data import SegmentationDataset, class_vocabulary, dynamic_batch_size, split_samples
from .distributed import DistributedContext, barrier, cleanup_distributed, mean_over_ranks, setup_distributed
from .losses import birefnet_loss
from .presets import default_drop_path_rate, get_preset, loss_weights_for_epoch, scaled_lr
from .sampler import DistributedBatchSampler

STATE_FILE = "training_state.pt"
LOG_FILE = "train_log.jsonl"
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainConfig:
    """Everything a run needs. ``None`` fields take the preset's value."""

    data_root: str
    output_dir: str
    train_split: str = "DIS-TR"
    val_split: str | None = None
    preset: str = "DIS5K"
    backbone: str = "swin_v1_l"
    size: tuple[int, int] | None = None  # (width, height), multiples of 32; None = the preset's
    dynamic_size: tuple[int, int] | None = None  # (low, high) side range per batch, e.g. (256, 2304)
    batch_size: int = 4  # per process
    grad_accum: int = 1
    epochs: int | None = None
    last_epochs: int | None = None
    lr: float | None = None  # overrides the preset's scaled learning rate
    drop_path_rate: float | None = None  # encoder stochastic depth; None = Swin v1 0.2, PVT v2 0.1
    max_steps: int | None = None  # stop (and save the state) after this many optimizer steps in total
    precision: str = "fp32"
    compile: bool = False
    seed: int = 0
    num_workers: int = 0
    init_checkpoint: str | None = None  # BiRefNet weights to fine-tune from
    imagenet_init: bool = False  # encoder from timm's ImageNet weights
    resume: bool = True
    augment: bool = True
    save_every_epochs: int = 1
    save_every_steps: int | None = None
    validate_every_epochs: int = 0  # 0 = never
    val_hce: bool = False
    aux_classification: bool = False  # auxiliary class head on DIS5K class names (CE x5)
    device: str | None = None
    progress: bool = True


def micro_batch_seed(seed: int, step: int, slot: int) -> int:
    """Torch seed for the micro-batch in ``slot`` (micro-step * world_size + rank) of optimizer step ``step``."""
    return int(np.random.SeedSequence([seed, step, slot]).generate_state(1)[0])


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_model(config: TrainConfig, context: DistributedContext, num_classes: int = 0) -> BiRefNet:
    """A fresh model (seeded), from a BiRefNet checkpoint, or with an ImageNet encoder; with an auxiliary
    classification head of ``num_classes`` outputs when that is > 0, and the encoder's stochastic depth at
    ``config.drop_path_rate`` (None: the backbone's reference rate)."""
    rate = default_drop_path_rate(config.backbone) if config.drop_path_rate is None else config.drop_path_rate
    if config.init_checkpoint:
        from birefnet.weights.load import load_model

        model = load_model(config.init_checkpoint)
        if model.backbone_name != config.backbone:
            raise BiRefNetError(
                f"--init-checkpoint {config.init_checkpoint} is a {model.backbone_name} model but "
                f"--backbone is {config.backbone}; make them agree."
            )
        if num_classes and (model.cls_head is None or model.cls_head[0].out_features != num_classes):
            model.cls_head = model.class_head(num_classes)
        model.bb.set_drop_path_rate(rate)
    else:
        model = BiRefNet(config.backbone, num_classes=num_classes, drop_path_rate=rate)
        if config.imagenet_init:
            from .timm_init import imagenet_backbone_state, load_timm_weights

            left = load_timm_weights(model, imagenet_backbone_state(config.backbone))
            if context.is_main and left:
                print(f"encoder keys without ImageNet weights (kept at init): {len(left)}", file=sys.stderr)
    return model.to(context.device).train()


class JsonlLog:
    """Append-only JSON-lines log (rank 0 only; a no-op elsewhere)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop step records beyond ``step`` (left by a run killed after its last checkpoint)."""
        if not (self.enabled and self.path.exists()):
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))


def _resize_batch(batch: dict[str, torch.Tensor], size: tuple[int, int]) -> dict[str, torch.Tensor]:
    width, height = size
    if batch["image"].shape[-2:] == (height, width):
        return batch
    resized = dict(batch)
    resized["image"] = F.interpolate(batch["image"], (height, width), mode="bilinear", align_corners=False)
    resized["mask"] = F.interpolate(batch["mask"], (height, width), mode="bilinear", align_corners=False)
    return resized


def resolve_defaults(config: TrainConfig) -> TrainConfig:
    """``config`` with the preset's training size and the backbone's drop path rate where they are None."""
    if config.size is None:
        config = replace(config, size=get_preset(config.preset).size)
    if config.drop_path_rate is None:
        config = replace(config, drop_path_rate=default_drop_path_rate(config.backbone))
    return config


def _check_config(config: TrainConfig) -> None:
    w, h = config.size
    if w % 32 or h % 32:
        raise BiRefNetError(f"Training size {w}x{h}: width and height must be multiples of 32.")
    if config.batch_size < 2:
        raise BiRefNetError("--batch-size must be at least 2 per process (BatchNorm needs two samples).")
    if config.grad_accum < 1:
        raise BiRefNetError("--grad-accum must be at least 1.")
    if config.precision not in PRECISIONS:
        raise BiRefNetError(f"--precision {config.precision!r}: use one of {', '.join(PRECISIONS)}.")
    if config.drop_path_rate is not None and not 0.0 <= config.drop_path_rate < 1.0:
        raise BiRefNetError(f"--drop-path-rate {config.drop_path_rate}: use a value in [0, 1).")


def train(config: TrainConfig) -> dict[str, Any]:
    """Run (or resume) training; returns a summary (steps, epochs, last loss, files written)."""
    with fixed_cpu_kernels():
        context = setup_distributed(config.device)
        try:
            return _train(config, context)
        finally:
            cleanup_distributed()


def _train(config: TrainConfig, context: DistributedContext) -> dict[str, Any]:
    autocast_dtype = PRECISIONS.get(config.precision)
    config = resolve_defaults(config)
    preset = get_preset(config.preset)
    _check_config(config)
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
        state = load_training_state(state_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step, start_epoch, skip_steps = state["step"], state["epoch"], state["step_in_epoch"]
        if state["epoch_done"]:
            start_epoch, skip_steps = start_epoch + 1, 0
        restore_rng_states(state["rng"])
        log.truncate_after(step)

    ddp_model: nn.Module = model
    if context.enabled:
        ids = [context.device.index] if context.device.type == "cuda" else None
        ddp_model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    forward = torch.compile(ddp_model) if config.compile else ddp_model

    def save_state(epoch: int, step_in_epoch: int, epoch_done: bool) -> None:
        if not context.is_main:
            return
        save_training_state(
            {
                "model": {k: v.detach().cpu() for k, v in unwrap_model(model).state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "step": step,
                "epoch": epoch,
                "step_in_epoch": step_in_epoch,
                "epoch_done": epoch_done,
                "rng": rng_states(),
                "config": json.dumps(asdict(config)),
            },
            state_path,
        )

    weights_written: list[str] = []
    last_loss = float("nan")
    stopped = False
    started = time.time()
    for epoch in range(start_epoch, epochs + 1):
        weights = loss_weights_for_epoch(preset.loss_weights, preset.switch, epoch, epochs, last_epochs)
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch, skip_steps)
        step_in_epoch = skip_steps
        skip_steps = 0
        bar = tqdm(
            total=sampler.steps_per_epoch,
            initial=step_in_epoch,
            desc=f"epoch {epoch}/{epochs}",
            disable=not (config.progress and context.is_main),
        )
        micro = 0
        running = torch.zeros((), device=context.device)
        parts_sum: dict[str, torch.Tensor] = {}
        for batch in loader:
            if config.dynamic_size is not None:
                batch = _resize_batch(
                    batch, dynamic_batch_size(config.seed, epoch, step_in_epoch, *config.dynamic_size)
                )
            images = batch["image"].to(context.device, non_blocking=True)
            masks = batch["mask"].to(context.device, non_blocking=True)
            last_micro = micro == config.grad_accum - 1
            # Dropout and drop-path draws depend only on (seed, step, slot): DDP ranks and accumulation
            # micro-steps that see the same micro-batch draw the same masks, and resumed runs need no
            # mid-epoch RNG replay.
            torch.manual_seed(micro_batch_seed(config.seed, step, micro * context.world_size + context.rank))
            sync = ddp_model.no_sync() if (context.enabled and not last_micro) else _null_context()
            with sync:
                with torch.autocast(
                    context.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None
                ):
                    output = forward(images)
                class_labels = batch["class_index"].to(context.device) if config.aux_classification else None
                terms = birefnet_loss(
                    output, masks, weights, class_logits=output.class_logits, class_labels=class_labels
                )
                scaler.scale(terms.total / config.grad_accum).backward()
            running = running + terms.total.detach() / config.grad_accum
            logged = {**terms.parts, "gradient": terms.gradient}
            if config.aux_classification:
                logged["classification"] = terms.classification
            for name, value in logged.items():
                parts_sum[name] = parts_sum.get(name, 0) + value.detach() / config.grad_accum
            micro += 1
            if not last_micro:
                continue
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            micro = 0
            step += 1
            step_in_epoch += 1
            loss = mean_over_ranks(running, context)
            last_loss = float(loss)
            log.write(
                {
                    "step": step,
                    "epoch": epoch,
                    "loss": last_loss,
                    **{k: float(mean_over_ranks(v, context)) for k, v in parts_sum.items()},
                    "lr": optimizer.param_groups[0]["lr"],
                    "time": round(time.time() - started, 3),
                }
            )
            running = torch.zeros((), device=context.device)
            parts_sum = {}
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}")
            if config.max_steps is not None and step >= config.max_steps:
                stopped = True
                break
            if config.save_every_steps and step % config.save_every_steps == 0:
                save_state(epoch, step_in_epoch, False)
        bar.close()
        epoch_done = step_in_epoch >= sampler.steps_per_epoch
        if epoch_done and context.is_main and (epoch % config.save_every_epochs == 0 or epoch == epochs):
            path = out / "weights" / f"epoch_{epoch:04d}.safetensors"
            save_weights(model, path, {"backbone": config.backbone, "epoch": str(epoch), "step": str(step)})
            weights_written.append(str(path))
        if epoch_done and config.validate_every_epochs and epoch % config.validate_every_epochs == 0:
            _validate(config, model, context, log, epoch, step)
        save_state(epoch, step_in_epoch, epoch_done)
        barrier(context)
        if stopped:
            break
    return {
        "steps": step,
        "last_loss": last_loss,
        "lr": lr,
        "weights": weights_written,
        "state": str(state_path),
        "stopped_early": stopped,
    }


class _null_context:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _validate(
    config: TrainConfig, model: nn.Module, context: DistributedContext, log: JsonlLog, epoch: int, step: int
) -> None:
    """Rank 0 evaluates the validation split; the others wait."""
    if config.val_split and context.is_main:
        from .evaluate import evaluate_model

        # Keep RNG streams untouched so that validation does not change the training run.
        saved = rng_states()
        results = evaluate_model(
            model, split_samples(config.data_root, config.val_split), config.size, config.val_hce, None, False
        )
        restore_rng_states(saved)
        log.write({"step": step, "epoch": epoch, "validation": config.val_split, **results})
    barrier(context)


def _size(text: str) -> tuple[int, int]:
    parts = [int(p) for p in text.lower().replace("x", ",").split(",") if p]
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    p.add_argument("--data-root", required=True, help="dataset root (e.g. DIS5K) or a folder with im/ + gt/")
    p.add_argument("--output-dir", required=True, help="logs, weights and the resumable training state")
    p.add_argument("--train-split", default="DIS-TR", help="sub-folder(s) joined by '+', or '.' for the root")
    p.add_argument("--val-split", default=None, help="validation sub-folder(s), e.g. DIS-VD")
    p.add_argument("--preset", default="DIS5K", help="DIS5K, General, General-2K, Matting, COD or HRSOD")
    p.add_argument("--backbone", default="swin_v1_l", help="swin_v1_t/s/b/l or pvt_v2_b0/b1/b2/b5")
    p.add_argument(
        "--size", type=_size, default=None, help="training size: 1024 or WxH (default: the preset's)"
    )
    p.add_argument(
        "--dynamic-size", type=_size, default=None, help="per-batch side range LOW,HIGH, e.g. 256,2304"
    )
    p.add_argument("--batch-size", type=int, default=4, help="per process")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--last-epochs", type=int, default=None, help="epochs of the final region-loss switch")
    p.add_argument("--lr", type=float, default=None, help="default: preset lr * sqrt(batch/4)")
    p.add_argument(
        "--drop-path-rate",
        type=float,
        default=None,
        help="encoder stochastic depth of the last block, linear from 0 (default: swin 0.2, pvt 0.1; 0 = off)",
    )
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--precision", default="fp32", choices=sorted(PRECISIONS))
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--init-checkpoint", default=None, help="BiRefNet weights to fine-tune")
    p.add_argument("--imagenet-init", action="store_true", help="encoder from ImageNet weights via timm")
    p.add_argument("--no-resume", dest="resume", action="store_false")
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--save-every-epochs", type=int, default=1)
    p.add_argument("--save-every-steps", type=int, default=None)
    p.add_argument("--validate-every-epochs", type=int, default=0)
    p.add_argument("--val-hce", action="store_true", help="include HCE in validation")
    p.add_argument(
        "--aux-classification",
        action="store_true",
        help="auxiliary classification head on DIS5K class names (cross-entropy x5)",
    )
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    return TrainConfig(**vars(p.parse_args(argv)))


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
