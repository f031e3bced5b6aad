"""``python -m birefnet matte-video ...``: stream videos of any length through BiRefNet (see ``birefnet.video``).

A batch job over the input videos (``batch.BatchJob``): a video that fails (damaged, unreadable) is
reported, its partial outputs deleted, and the next one goes on (exit code 1 at the end); --skip-existing,
--manifest and the torchrun split as described there. Ctrl-C stops after the current chunk and finishes each
output written so far (playable, shorter) as ``<name>_interrupted<ext>``, exit code 130; a second Ctrl-C
stops at once.
"""

from __future__ import annotations

import argparse
import pathlib
import time
from collections.abc import Callable
from typing import Any

from ..errors import BiRefNetError
from ..video.writers import FORMATS, output_path
from .batch import BatchJob, add_batch_options, failure_reason
from .guided import add_margin_option, check_margin, check_prompt_fits, read_region
from .options import add_model_options
from .outputs import check_output_plan
from .ranks import Rank
from .setup import check_resolution, prepare_run
from .stopping import stop_between_chunks

INTERRUPTED = "interrupted: the part done is kept as <name>_interrupted (rerun to redo this video)"


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
    parser.add_argument(
        "--region",
        type=pathlib.Path,
        metavar="MASK.png",
        help="matte only this object: a rough mask of it in the first frame (white = object, or a PNG's alpha; "
        "the frames' size), followed from frame to frame while it moves less than --margin pixels per frame",
    )
    add_margin_option(
        parser, "with --region: pixels the previous frame's mask is grown by to find the object"
    )
    add_batch_options(parser)
    parser.set_defaults(handler=run_matte_video)


def video_outputs(
    files: list[pathlib.Path], out_dir: pathlib.Path, formats: list[str]
) -> list[dict[str, pathlib.Path]]:
    """{format: output path} per input video (names: ``video.writers.output_path``); refuses clashes."""
    outputs = [{fmt: output_path(out_dir, f.stem, fmt) for fmt in formats} for f in files]
    check_output_plan(files, outputs, "video")
    return outputs


def run_matte_video(args: argparse.Namespace) -> int:
    from ..matting.composite import parse_color
    from ..video import check_encoder

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
    margin = check_margin(args, args.region is not None, "--region")
    region = first_frame_region(args, files)
    refine = {
        "threshold": args.threshold,
        "grow_pixels": args.grow,
        "feather_sigma": args.feather,
        "temporal_radius": args.temporal_radius,
    }
    rank = Rank.from_env()
    model, dtype = prepare_run(args, rank)
    job = BatchJob(list(zip(files, outputs, strict=True)), args, rank)
    settings = {
        "resolution": resolution,
        "batch_size": args.batch_size,
        "dtype": dtype,
        "refine": refine,
        "color": color,
        "fix_edge_colors": not args.no_edge_fix,
        "start": args.start,
        "duration": args.duration,
        "region": region,
        "margin": margin,
    }
    with stop_between_chunks() as between_chunks:
        try:
            for source, paths in job.pending():
                between_chunks()  # a Ctrl-C that came between two videos
                started = time.monotonic()
                try:
                    result = matte_one_video(model, source, paths, settings, between_chunks)
                except KeyboardInterrupt:
                    job.record(source, paths, "failed", INTERRUPTED, started)
                    raise
                except Exception as error:  # matte_video deleted its partial outputs; the next video goes on
                    job.record(source, paths, "failed", failure_reason(error), started)
                    continue
                job.record(source, paths, "done", None, started)
                for path in result.paths.values():
                    print(f"wrote {path} ({result.frames} frames)")
        except KeyboardInterrupt:
            job.finish(interrupted=True)
            raise
    return job.finish()


def first_frame_region(args: argparse.Namespace, files: list[pathlib.Path]) -> Any:
    """``--region`` read and checked against every video's first frame (None when not given)."""
    from ..inference.prompts import Prompt

    region = read_region(args.region)
    if region is not None:
        check_prompt_fits(Prompt(region=region), ((f, video_frame_size(f)) for f in files))
    return region


def video_frame_size(path: pathlib.Path) -> tuple[int, int] | None:
    """(width, height) of the first frame of a video as ``matte_video`` sees it (rotation applied); None when
    it cannot be decoded (that video fails later, with the reason)."""
    from ..video.decode import VideoFrame, VideoReader

    try:
        with VideoReader(path) as reader:
            for event in reader.events():
                if isinstance(event, VideoFrame):
                    return event.rgb.shape[1], event.rgb.shape[0]
    except BiRefNetError:
        return None
    return None


def matte_one_video(
    model: Any,
    source: pathlib.Path,
    paths: dict[str, pathlib.Path],
    settings: dict[str, Any],
    between_chunks: Callable[[], None],
) -> Any:
    """``matte_video`` on one file with a progress bar of frames."""
    from tqdm import tqdm

    from ..video import matte_video

    with tqdm(unit="frame", desc=source.name, dynamic_ncols=True) as bar:

        def on_progress(done: int, total: int | None) -> None:
            if total is not None and bar.total != max(total, done):
                bar.total = max(total, done)
            bar.update(done - bar.n)

        return matte_video(
            model, source, paths, progress=on_progress, between_chunks=between_chunks, **settings
        )
