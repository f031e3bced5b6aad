"""Command line: `python -m birefnet cutout ...` (background removal on files), `matte-video` (videos, see
birefnet.cli_video) and `python -m birefnet variants`.

Errors a user can fix (BiRefNetError) print one line to stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

from .cli_options import add_model_options
from .cli_video import add_matte_video_parser
from .errors import BiRefNetError
from .registry import VARIANTS, Variant

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m birefnet",
        description="BiRefNet background removal and dichotomous image segmentation.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    cutout = commands.add_parser(
        "cutout",
        help="cut the foreground out of images: writes <stem>.png (RGBA) and <stem>_mask.png per image",
        description="For each image write <stem>.png (the RGB with the mask as alpha) and <stem>_mask.png "
        "(8-bit grey mask) into --out.",
    )
    cutout.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files and/or folders")
    add_model_options(
        cutout,
        compile_help="torch.compile the model: a slow first batch per image size, faster after (worth it for many "
        "images)",
    )
    cutout.add_argument("--out", required=True, type=pathlib.Path, metavar="DIR", help="output folder")
    cutout.add_argument("--batch-size", type=int, default=1, metavar="N", help="images per forward pass (1)")
    cutout.set_defaults(handler=run_cutout)

    add_matte_video_parser(commands)

    variants = commands.add_parser("variants", help="list the known checkpoints")
    variants.add_argument("--markdown", action="store_true", help="print a Markdown table")
    variants.set_defaults(handler=run_variants)
    return parser


def _variant_rows() -> list[list[str]]:
    rows = [["name", "backbone", "input (WxH)", "task", "patch order", "stored", "licence"]]
    for v in VARIANTS.values():
        size = "dynamic" if v.resolution is None else f"{v.resolution[0]}x{v.resolution[1]}"
        rows.append([v.name, v.backbone, size, v.task, v.patch_order, v.stored_dtype, v.license])
    return rows


def format_variant_table(markdown: bool = False) -> str:
    """The registry as a text table (or a Markdown table)."""
    rows = _variant_rows()
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_variants(args: argparse.Namespace) -> int:
    print(format_variant_table(markdown=args.markdown))
    return 0


def _choose_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BiRefNetError("--device cuda was asked but PyTorch sees no CUDA GPU; use --device cpu.")
    return torch.device(name)


def _choose_dtype(precision: str, device: Any) -> Any:
    import torch

    from .loading import parse_dtype
    from .precision import cpu_emulation_message

    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    dtype = parse_dtype(precision)
    if (message := cpu_emulation_message(dtype, device)) is not None:
        raise BiRefNetError(f"--precision {precision} on the CPU: {message}")
    return dtype


def _output_paths(
    files: list[pathlib.Path], out_dir: pathlib.Path
) -> list[tuple[pathlib.Path, pathlib.Path]]:
    """(cut-out, mask) paths per input; refuses name clashes and overwriting an input."""
    outputs = [(out_dir / f"{f.stem}.png", out_dir / f"{f.stem}_mask.png") for f in files]
    seen: dict[pathlib.Path, pathlib.Path] = {}
    inputs = {f.resolve() for f in files}
    for source, (cutout, mask) in zip(files, outputs, strict=True):
        if cutout in seen:
            raise BiRefNetError(
                f"{source} and {seen[cutout]} would both be written to {cutout}: rename one or run them separately."
            )
        seen[cutout] = source
        for target in (cutout, mask):
            if target.resolve() in inputs:
                raise BiRefNetError(f"Writing {target} would overwrite an input image: choose another --out.")
    return outputs


def _load(args: argparse.Namespace, device: Any, dtype: Any) -> tuple[Any, Variant | None]:
    from .hub import default_models_dir, resolve_model
    from .loading import load_model

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
    return model, variant


def prepare_run(args: argparse.Namespace) -> tuple[Any, Any]:
    """(model, compute dtype) from the model options (see cli_options), compiled if asked; creates --out."""
    device = _choose_device(args.device)
    dtype = _choose_dtype(args.precision, device)
    model, _ = _load(args, device, dtype)
    if args.compile:
        from .compile import compile_model

        compile_model(model)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BiRefNetError(f"Cannot create output folder {args.out}: {error}") from error
    return model, dtype


def run_cutout(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from .imageio import collect_image_files, load_rgb_image, mask_to_uint8, save_cutout, save_mask
    from .predict import model_input_size, parse_resolution, predict

    if args.batch_size < 1:
        raise BiRefNetError(f"--batch-size must be at least 1, got {args.batch_size}.")
    resolution = parse_resolution(args.resolution) if args.resolution is not None else None
    if resolution is not None:
        model_input_size(resolution, None, (1024, 1024))  # validates it before any work
    files = collect_image_files(args.inputs)
    outputs = _output_paths(files, args.out)
    model, _ = prepare_run(args)

    with tqdm(total=len(files), unit="image", desc="cutout") as bar:
        for start in range(0, len(files), args.batch_size):
            window = list(range(start, min(start + args.batch_size, len(files))))
            images = {i: load_rgb_image(files[i]) for i in window}
            by_size: dict[tuple[int, int], list[int]] = {}
            for i in window:
                by_size.setdefault(images[i].size, []).append(i)
            for indices in by_size.values():
                try:
                    masks = predict(
                        model, [images[i] for i in indices], resolution, batch_size=args.batch_size
                    )
                except torch.cuda.OutOfMemoryError as error:
                    raise BiRefNetError(
                        "Out of GPU memory: use --batch-size 1, a smaller --resolution or --precision fp16."
                    ) from error
                for i, mask in zip(indices, masks, strict=True):
                    alpha = mask_to_uint8(mask)
                    cutout_path, mask_path = outputs[i]
                    save_cutout(images[i], alpha, cutout_path)
                    save_mask(alpha, mask_path)
                    bar.update(1)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    try:
        return args.handler(args)
    except BiRefNetError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
