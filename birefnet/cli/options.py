"""Command-line options shared by `cutout` and `matte-video`: which model, where, on what device."""

from __future__ import annotations

import argparse
import pathlib

MODELS_DIR_HELP = "$BIREFNET_MODELS_DIR, else ~/.cache/birefnet/models (or $XDG_CACHE_HOME/birefnet/models)"


def add_model_options(parser: argparse.ArgumentParser, compile_help: str) -> None:
    """--model, --resolution, --device, --precision, --models-dir, --patch-order, --no-download, --compile."""
    parser.add_argument(
        "--model",
        required=True,
        metavar="NAME_OR_PATH",
        help="a variant name (see `python -m birefnet variants`; downloaded on first use) or a checkpoint file",
    )
    parser.add_argument(
        "--resolution",
        metavar="N|WxH|dynamic",
        help="model input size; default: the variant's native size, 1024 for unknown checkpoints",
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "fp16", "bf16"),
        help="default: auto (fp32 weights with fp16 autocast on CUDA, fp32 on CPU)",
    )
    parser.add_argument(
        "--models-dir",
        type=pathlib.Path,
        metavar="DIR",
        help=f"where variants are kept; default {MODELS_DIR_HELP}",
    )
    parser.add_argument(
        "--patch-order",
        default="auto",
        choices=("auto", "legacy", "current"),
        help="decoder patch order; auto: from the variant (unknown files: current)",
    )
    parser.add_argument(
        "--no-download", action="store_true", help="never download; fail if the model is missing"
    )
    parser.add_argument("--compile", action="store_true", help=compile_help)
