"""``python -m birefnet cutout``: background removal on image files (``<stem>.png`` RGBA + ``<stem>_mask.png``)."""

from __future__ import annotations

import argparse
import pathlib
from typing import Any

from ..errors import BiRefNetError
from .detail import add_detail_options, check_detail_options, segmenter
from .options import add_model_options
from .outputs import check_output_plan
from .setup import check_resolution, prepare_run


def add_cutout_parser(commands: Any) -> None:
    """Add the ``cutout`` sub-command to the ``python -m birefnet`` sub-parsers."""
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
    add_detail_options(cutout)
    cutout.set_defaults(handler=run_cutout)


def cutout_outputs(
    files: list[pathlib.Path], out_dir: pathlib.Path
) -> list[tuple[pathlib.Path, pathlib.Path]]:
    """(cut-out, mask) paths per input; refuses name clashes and overwriting an input."""
    outputs = [(out_dir / f"{f.stem}.png", out_dir / f"{f.stem}_mask.png") for f in files]
    check_output_plan(files, [{"cutout": c, "mask": m} for c, m in outputs], "image")
    return outputs


def run_cutout(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from .images import collect_image_files, load_rgb_image, mask_to_uint8, save_cutout, save_mask

    if args.batch_size < 1:
        raise BiRefNetError(f"--batch-size must be at least 1, got {args.batch_size}.")
    resolution = check_resolution(args.resolution)
    detail = check_detail_options(args)
    files = collect_image_files(args.inputs)
    outputs = cutout_outputs(files, args.out)
    model, dtype = prepare_run(args)

    with tqdm(total=len(files), unit="image", desc="cutout") as bar:
        predict = segmenter(detail, args.tile_overlap, bar)  # --detail: predict_detailed, tiles on the bar
        for start in range(0, len(files), args.batch_size):
            window = list(range(start, min(start + args.batch_size, len(files))))
            images = {i: load_rgb_image(files[i]) for i in window}
            by_size: dict[tuple[int, int], list[int]] = {}
            for i in window:
                by_size.setdefault(images[i].size, []).append(i)
            for indices in by_size.values():
                try:
                    masks = predict(
                        model,
                        [images[i] for i in indices],
                        resolution,
                        batch_size=args.batch_size,
                        dtype=dtype,
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
