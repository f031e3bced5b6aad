"""The model set-up that ``cutout`` and ``matte-video`` share: device, precision, model file, load, compile,
output folder (the options of ``options.add_model_options``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import BiRefNetError
from .ranks import Rank


def choose_device(name: str, rank: Rank | None = None) -> Any:
    """torch.device for ``--device`` auto / cpu / cuda; under torchrun each rank takes its own GPU
    (``cuda:LOCAL_RANK``, see ``Rank.cuda_index``)."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise BiRefNetError("--device cuda was asked but PyTorch sees no CUDA GPU; use --device cpu.")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and rank is not None and rank.distributed:
        device = torch.device("cuda", rank.cuda_index(torch.cuda.device_count()))
        torch.cuda.set_device(device)
        return device
    return torch.device(name)


def choose_dtypes(precision: str, device: Any) -> tuple[Any, Any]:
    """(weight dtype, compute dtype) for ``--precision`` on ``device`` (``inference.precision.choose_precision``)."""
    import torch

    from ..inference.precision import choose_precision

    cuda = device.type == "cuda"
    bf16_ok = cuda and torch.cuda.is_bf16_supported()
    return choose_precision(precision, device, fp16_ok=cuda, bf16_ok=bf16_ok, setting="--precision")


def load(args: argparse.Namespace, device: Any, dtype: Any) -> Any:
    """The model of ``--model`` (a file, or a variant found in / downloaded into ``--models-dir``)."""
    from ..weights.hub import default_models_dir, resolve_model
    from ..weights.load import load_model

    models_dir = args.models_dir if args.models_dir is not None else default_models_dir()
    path, variant = resolve_model(args.model, models_dir, allow_download=not args.no_download)
    if args.patch_order != "auto":
        patch_order = args.patch_order
    elif variant is not None:
        patch_order = variant.patch_order
    else:
        patch_order = "current"
        print(
            f"note: {path} is not a known release; using the current patch order "
            f"(pass --patch-order legacy for checkpoints trained before November 2024).",
            file=sys.stderr,
        )
    model = load_model(path, patch_order=patch_order, device=device, dtype=dtype)
    if getattr(model, "variant", None) is None:
        model.variant = variant
    return model


def prepare_run(args: argparse.Namespace, rank: Rank | None = None) -> tuple[Any, Any]:
    """(model, compute dtype) from the model options, compiled if asked, on this rank's device; creates
    ``--out``."""
    device = choose_device(args.device, rank)
    weight_dtype, compute_dtype = choose_dtypes(args.precision, device)
    model = load(args, device, weight_dtype)
    if args.compile:
        from ..inference.compile import compile_model

        compile_model(model)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BiRefNetError(f"Cannot create output folder {args.out}: {error}") from error
    return model, compute_dtype


def check_resolution(text: str | None) -> Any:
    """``--resolution`` parsed and validated before any work (None: the model's native size)."""
    from ..inference.sizes import model_input_size, parse_resolution

    if text is None:
        return None
    resolution = parse_resolution(text)
    model_input_size(resolution, None, (1024, 1024))
    return resolution
