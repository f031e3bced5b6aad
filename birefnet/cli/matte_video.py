"""``python -m birefnet matte-video ...``: stream videos of any length through BiRefNet (see ``birefnet.video``).

Ctrl-C stops after the current chunk and finishes each output written so far (playable, shorter) as
``<name>_interrupted<ext>``, exit code 130; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import pathlib
from typing import Any

from ..errors import BiRefNetError
from ..video.writers import FORMATS, output_path
from .options import add_model_options
from .outputs import check_output_plan
from .setup import check_resolution, prepare_run
from .stopping import stop_between_chunks


def add_matte_video_parser(commands: Any) -> None:
    """Add the ``matte-video`` sub-command to the ``python -m birefnet`` sub-parsers."""
    parser = commands.add_parser(
        "matte-video",
        help="matte videos of any length frame by frame (flat memory): transparent video, PNGs, green screen, mask",
        description="Stream each video through BiRefNet and write, per --format: webm (<stem>.webm, VP9 with "
        "alpha), prores (<stem>.mov, ProRes 4444 with alpha), png (<stem>_png/ folder of RGBA PNGs), "
        "greenscreen (<stem>_greenscreen.mp4, H.264 over --color), mask (<stem>_mask.mp4, grey H.264). "
        "Timestamps and audio are kept. Ctrl-C keeps the part done as <name>_interrupted.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video files")
    add_model_options(parser, compile_help="torch.compile the model (slow first batch)")
    parser.add_argument("--out", required=True, type=pathlib.Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=FORMATS,
        metavar="{" + ",".join(FORMATS) + "}",
        help="output format; repeat for several (default: webm)",
    )
    parser.add_argument("--batch-size", type=int, default=4, metavar="N", help="frames per forward pass (4)")
    parser.add_argument(
        "--temporal-radius",
        type=int,
        default=0,
        metavar="N",
        help="average each mask with N frames on each side (reduces flicker; 0 = off)",
    )
    parser.add_argument(
        "--grow", type=int, default=0, metavar="N", help="grow (>0) / shrink (<0) the mask by N px"
    )
    parser.add_argument(
        "--feather", type=float, default=0.0, metavar="S", help="Gaussian feather sigma in px"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.0, metavar="T", help="binarise at T in (0, 1]; 0 = off"
    )
    parser.add_argument(
        "--color", default="#00ff00", metavar="#RRGGBB", help="greenscreen background (#00ff00)"
    )
    parser.add_argument("--start", type=float, default=0.0, metavar="S", help="start at S seconds")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="process S seconds")
    parser.add_argument(
        "--no-edge-fix", action="store_true", help="write the source colours as they are (no blur-fusion fix)"
    )
    parser.set_defaults(handler=run_matte_video)


def video_outputs(
    files: list[pathlib.Path], out_dir: pathlib.Path, formats: list[str]
) -> list[dict[str, pathlib.Path]]:
    """{format: output path} per input video (names: ``video.writers.output_path``); refuses clashes."""
    outputs = [{fmt: output_path(out_dir, f.stem, fmt) for fmt in formats} for f in files]
    check_output_plan(files, outputs, "video")
    return outputs


def run_matte_video(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..matting.composite import parse_color
    from ..video import check_encoder, matte_video

    formats = list(dict.fromkeys(args.formats or ["webm"]))
    for fmt in formats:
        check_encoder(fmt)
    if args.batch_size < 1:
        raise BiRefNetError(f"--batch-size must be at least 1, got {args.batch_size}.")
    if args.temporal_radius < 0:
        raise BiRefNetError(f"--temporal-radius must be 0 or more, got {args.temporal_radius}.")
    resolution = check_resolution(args.resolution)
    color = parse_color(args.color)
    files = [pathlib.Path(p).expanduser() for p in args.inputs]
    for f in files:
        if not f.is_file():
            raise BiRefNetError(f"Input video {f} does not exist (or is not a file).")
    outputs = video_outputs(files, args.out, formats)
    refine = {
        "threshold": args.threshold,
        "grow_pixels": args.grow,
        "feather_sigma": args.feather,
        "temporal_radius": args.temporal_radius,
    }
    model, dtype = prepare_run(args)

    for source, paths in zip(files, outputs, strict=True):
        with tqdm(unit="frame", desc=source.name, dynamic_ncols=True) as bar:

            def on_progress(done: int, total: int | None, bar: Any = bar) -> None:
                if total is not None and bar.total != max(total, done):
                    bar.total = max(total, done)
                bar.update(done - bar.n)

            with stop_between_chunks() as between_chunks:
                result = matte_video(
                    model,
                    source,
                    paths,
                    resolution=resolution,
                    batch_size=args.batch_size,
                    dtype=dtype,
                    refine=refine,
                    color=color,
                    fix_edge_colors=not args.no_edge_fix,
                    start=args.start,
                    duration=args.duration,
                    progress=on_progress,
                    between_chunks=between_chunks,
                )
        for path in result.paths.values():
            print(f"wrote {path} ({result.frames} frames)")
    return 0
