"""``python -m birefnet cutout``: background removal on image files (``<stem>.png`` RGBA + ``<stem>_mask.png``).

A batch job (``batch.BatchJob``): an image that cannot be read or written is reported and the rest goes on
(exit code 1 at the end); Ctrl-C stops between images (exit code 130); --skip-existing, --manifest and the
torchrun split as described there.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import BiRefNetError
from .batch import BatchJob, Job, add_batch_options, failure_reason
from .crop import BOX_TEXT_KEY, Cropper, add_crop_options, check_crop_options
from .detail import add_detail_options, check_detail_options, segmenter
from .guided import add_prompt_options, check_margin, check_prompt_fits, guided_segmenter, prompt_from_args
from .options import add_model_options
from .outputs import check_output_plan, write_atomically
from .ranks import Rank
from .setup import check_resolution, prepare_run
from .stopping import stop_between_chunks


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
    add_batch_options(cutout)
    add_detail_options(cutout)
    add_prompt_options(cutout)
    add_crop_options(cutout)
    cutout.set_defaults(handler=run_cutout)


def cutout_outputs(files: list[pathlib.Path], out_dir: pathlib.Path) -> list[dict[str, pathlib.Path]]:
    """{"cutout": path, "mask": path} per input; refuses name clashes and overwriting an input."""
    outputs = [{"cutout": out_dir / f"{f.stem}.png", "mask": out_dir / f"{f.stem}_mask.png"} for f in files]
    check_output_plan(files, outputs, "image")
    return outputs


def run_cutout(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .images import collect_image_files, image_size

    if args.batch_size < 1:
        raise BiRefNetError(f"--batch-size must be at least 1, got {args.batch_size}.")
    resolution = check_resolution(args.resolution)
    detail = check_detail_options(args)
    prompt = prompt_from_args(args)
    margin = check_margin(args, prompt is not None, "--box, --region or --points")
    if prompt is not None and detail is not None:
        raise BiRefNetError(
            "--detail does not combine with --box/--region/--points: the crop already gives the object the "
            "model's full input size; drop --detail (or the object flags)."
        )
    crop = check_crop_options(args)
    files = collect_image_files(args.inputs)
    if prompt is not None:
        check_prompt_fits(prompt, ((f, image_size(f)) for f in files))
    rank = Rank.from_env()
    jobs = list(zip(files, cutout_outputs(files, args.out), strict=True))
    model, dtype = prepare_run(args, rank)
    job = BatchJob(jobs, args, rank)

    with (
        stop_between_chunks("image") as between_images,
        tqdm(total=len(job.jobs), unit="image", desc="cutout") as bar,
    ):
        # --box/--region/--points: predict_guided; --detail: predict_detailed, tiles on the bar; else predict
        if prompt is not None:
            segment = guided_segmenter(prompt, margin)
        else:
            segment = segmenter(detail, args.tile_overlap, bar)
        pending = list(job.pending())
        bar.update(len(job.jobs) - len(pending))
        try:
            for start in range(0, len(pending), args.batch_size):
                between_images()
                window = pending[start : start + args.batch_size]
                cut_out_window(model, window, resolution, dtype, job, segment=segment, crop=crop)
                bar.update(len(window))
        except KeyboardInterrupt:
            job.finish(interrupted=True)
            raise
    return job.finish()


def cut_out_window(
    model: Any,
    window: list[Job],
    resolution: Any,
    dtype: Any,
    job: BatchJob,
    segment: Any = None,
    crop: Cropper | None = None,
) -> None:
    """Read, segment and write one window of --batch-size images; each image that fails is recorded as
    failed (same-size images share a forward pass, so a failing pass fails all of them). ``segment``: what
    computes the masks, called as ``predict`` (default: ``predict``; --detail: see ``detail.segmenter``;
    --box/--region/--points: ``guided.guided_segmenter``). ``crop``: --crop's box of a mask
    (``write_cutout``)."""
    from ..inference.predict import predict

    segment = predict if segment is None else segment
    from .images import load_rgb_image

    started = time.monotonic()
    images = {}
    for source, outputs in window:
        try:
            images[source] = load_rgb_image(source)
        except BiRefNetError as error:
            job.record(source, outputs, "failed", str(error), started)
    by_size: dict[tuple[int, int], list[Job]] = {}
    for source, outputs in window:
        if source in images:
            by_size.setdefault(images[source].size, []).append((source, outputs))
    for group in by_size.values():
        try:
            with warnings_naming([s for s, _ in group]):
                masks = segment(
                    model, [images[s] for s, _ in group], resolution, batch_size=len(group), dtype=dtype
                )
        except Exception as error:  # noqa: BLE001 - out of memory, a size the model refuses: fail these only
            for source, outputs in group:
                job.record(source, outputs, "failed", failure_reason(error), started)
            continue
        for (source, outputs), mask in zip(group, masks, strict=True):
            try:
                with warnings_naming([source]):
                    write_cutout(images[source], mask, outputs, crop)
            except Exception as error:  # noqa: BLE001 - a full disk, a file in the way: fail this image only
                job.record(source, outputs, "failed", f"cannot write: {failure_reason(error)}", started)
            else:
                job.record(source, outputs, "done", None, started)


@contextlib.contextmanager
def warnings_naming(sources: list[pathlib.Path]) -> Iterator[None]:
    """Warnings raised inside (a point on no object, an empty mask for --crop) printed as one line each that
    names the input files: ``warning: FILE: message`` (every time, not once per run)."""
    from tqdm import tqdm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            names = ", ".join(str(source) for source in sources)
            for warning in caught:
                tqdm.write(f"warning: {names}: {warning.message}", file=sys.stderr)


def write_cutout(
    image: Any, mask: Any, outputs: Mapping[str, pathlib.Path], crop: Cropper | None = None
) -> None:
    """The RGBA cut-out and the grey mask of one image, each under a temporary name until complete.

    crop: gives the box (x0, y0, x1, y1) of the mask float [H, W]; both files are then cut to it and carry it
    as PNG text (``crop.BOX_TEXT_KEY``)."""
    from ..inference.prompts import format_boxes
    from .images import mask_to_uint8, save_cutout, save_mask

    alpha = mask_to_uint8(mask)
    text = None
    if crop is not None:
        x0, y0, x1, y1 = box = crop(mask)
        image, alpha = image.crop(box), alpha[y0:y1, x0:x1]
        text = {BOX_TEXT_KEY: format_boxes([box])}
    write_atomically(outputs["cutout"], lambda path: save_cutout(image, alpha, path, text))
    write_atomically(outputs["mask"], lambda path: save_mask(alpha, path, text))
