"""What a training run is asked to do: ``TrainConfig``, its defaults and checks, and the command line.

``parse_args`` reads the flags of ``python -m training.train``; ``resolve_defaults`` fills the fields left
to the preset (size) and the backbone (drop path rate); ``check_config`` refuses settings that cannot train.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from birefnet import BiRefNetError, parse_size

from .presets import default_drop_path_rate, get_preset

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
"""``--precision`` -> autocast dtype (None: no autocast)."""
DESCRIPTION = (
    "Train or fine-tune BiRefNet; ``python -m training.train --help``, or ``torchrun ... -m training.train``."
)


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


def resolve_defaults(config: TrainConfig) -> TrainConfig:
    """``config`` with the preset's training size and the backbone's drop path rate where they are None."""
    if config.size is None:
        config = replace(config, size=get_preset(config.preset).size)
    if config.drop_path_rate is None:
        config = replace(config, drop_path_rate=default_drop_path_rate(config.backbone))
    return config


def check_config(config: TrainConfig) -> None:
    """Raise BiRefNetError for a resolved ``config`` that cannot train."""
    w, h = config.size
    if w % 32 or h % 32:
        raise BiRefNetError(f"Training size {w}x{h}: width and height must be multiples of 32.")
    if config.batch_size < 2:
        raise BiRefNetError("--batch-size must be at least 2 per process (BatchNorm needs two samples).")
    if config.grad_accum < 1:
        raise BiRefNetError("--grad-accum must be at least 1.")
    if config.precision not in AUTOCAST_DTYPES:
        raise BiRefNetError(f"--precision {config.precision!r}: use one of {', '.join(AUTOCAST_DTYPES)}.")
    if config.drop_path_rate is not None and not 0.0 <= config.drop_path_rate < 1.0:
        raise BiRefNetError(f"--drop-path-rate {config.drop_path_rate}: use a value in [0, 1).")


def _size_type(flag: str) -> Callable[[str], tuple[int, int]]:
    """argparse type for a size flag: ``birefnet.parse_size``, its message as the usage error."""

    def parse(text: str) -> tuple[int, int]:
        try:
            return parse_size(text, what=flag, multiple_of=None)
        except BiRefNetError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """The ``python -m training.train`` command line as a TrainConfig (defaults left to resolve_defaults)."""
    p = argparse.ArgumentParser(prog="python -m training.train", description=DESCRIPTION)
    p.add_argument("--data-root", required=True, help="dataset root (e.g. DIS5K) or a folder with im/ + gt/")
    p.add_argument("--output-dir", required=True, help="logs, weights and the resumable training state")
    p.add_argument("--train-split", default="DIS-TR", help="sub-folder(s) joined by '+', or '.' for the root")
    p.add_argument("--val-split", default=None, help="validation sub-folder(s), e.g. DIS-VD")
    p.add_argument("--preset", default="DIS5K", help="DIS5K, General, General-2K, Matting, COD or HRSOD")
    p.add_argument("--backbone", default="swin_v1_l", help="swin_v1_t/s/b/l or pvt_v2_b0/b1/b2/b5")
    p.add_argument(
        "--size",
        type=_size_type("--size"),
        default=None,
        help="training size: 1024 or WxH (default: the preset's)",
    )
    p.add_argument(
        "--dynamic-size",
        type=_size_type("--dynamic-size"),
        default=None,
        help="per-batch side range LOW,HIGH, e.g. 256,2304",
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
    p.add_argument("--precision", default="fp32", choices=sorted(AUTOCAST_DTYPES))
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
