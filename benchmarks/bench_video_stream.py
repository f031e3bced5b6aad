"""Streaming video matting (birefnet.video.matte_video) against the whole-batch way, on a synthetic 720p clip.

Cases, each in its own process so its peak resident set size (ru_maxrss) is its own:
  stream-N : matte_video, N frames of 1280x720 -> green-screen H.264 MP4 (decode, segment, blur-fusion
             colours, composite, encode), frames streamed in chunks of --batch-size.
  batch-N  : what LoadVideo -> GetVideoComponents -> BiRefNet segment -> Composite -> CreateVideo/SaveVideo
             does: decode every frame into one float32 [N, 720, 1280, 3] tensor, predict, cut_out over green
             with fix_edge_colors, encode the whole result to H.264.
Flat memory means stream-300 and stream-1200 peak within 10% of each other. The batch path needs about
N * 1280 * 720 * 3 * 4 bytes several times over, so it runs on a shorter clip (--batch-frames).

Random pvt_v2_b0 weights at 256x256 (speed and memory do not depend on the weights).

    python benchmarks/bench_video_stream.py [--lengths 300 1200] [--flat-format mask] [--batch-frames 150]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT, FPS = 1280, 720, 25


def make_clip(path: Path, frames: int) -> Path:
    """A 720p H.264 clip of moving shapes (made once per length, then reused)."""
    import av

    from tests.video_samples import moving_shapes

    if path.is_file():
        return path
    background = moving_shapes(0, WIDTH, HEIGHT)
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(frames):
            frame = background.copy()
            x = (40 + 9 * i) % (WIDTH - 300)
            frame[200:520, x : x + 300] = (230, 200, 60)  # a moving block over a static background
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = i
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(path)
    return path


def run_case(case: str, clip: Path, args: argparse.Namespace) -> dict:
    from birefnet.network.model import BiRefNet

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BiRefNet("pvt_v2_b0").eval()
    out_dir = Path(tempfile.mkdtemp(prefix="bench_video_"))
    start = time.perf_counter()
    if case == "stream":
        from birefnet.video import matte_video

        result = matte_video(
            model, clip, {args.format: out_dir / "out.mp4"}, resolution=256, batch_size=args.batch_size
        )
        frames = result.frames
    else:
        import av
        import numpy as np

        from birefnet import composite, predict

        with av.open(str(clip)) as container:  # GetVideoComponents: every frame as float32 0..1
            images = (
                torch.from_numpy(np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)]))
                .float()
                .div_(255.0)
            )
        masks = predict(model, images, 256, batch_size=args.batch_size)
        composited, _ = composite(images, masks, "color", "#00ff00", fix_edge_colors=True)
        del images
        with av.open(str(out_dir / "out.mp4"), "w") as container:  # CreateVideo -> SaveVideo
            stream = container.add_stream("libx264", rate=FPS, options={"crf": "16", "preset": "fast"})
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            for i, frame in enumerate(composited):
                rgb = (frame * 255).round().to(torch.uint8).numpy()
                video_frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                video_frame.pts = i
                for packet in stream.encode(video_frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        frames = composite.shape[0]
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"case": case, "frames": frames, "seconds": seconds, "fps": frames / seconds, "peak_bytes": peak}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[300, 1200], help="streamed clip lengths")
    parser.add_argument(
        "--batch-frames", type=int, default=150, help="clip length for batch-vs-stream speed (0: skip)"
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--clips", type=Path, default=Path(tempfile.gettempdir()) / "birefnet_bench_clips")
    parser.add_argument(
        "--flat-format",
        default="greenscreen",
        choices=["greenscreen", "mask"],
        help="output of the streamed --lengths runs (mask skips the colour work: quicker on slow machines)",
    )
    parser.add_argument("--format", default="greenscreen", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--clip", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.clip, args)))
        return
    args.clips.mkdir(parents=True, exist_ok=True)
    print(
        f"720p clips, pvt_v2_b0 at 256x256 (random weights), batch_size {args.batch_size}, fp32 CPU, "
        f"{args.threads} torch thread(s), torch {torch.__version__}; output: green-screen H.264 (mask: grey H.264)"
    )
    cases = [("stream", n, args.flat_format) for n in args.lengths]
    if args.batch_frames > 0:
        cases += [("batch", args.batch_frames, "greenscreen"), ("stream", args.batch_frames, "greenscreen")]
    results = {}
    for case, frames, fmt in cases:
        clip = make_clip(args.clips / f"clip_{frames}.mp4", frames)
        command = [sys.executable, __file__, "--case", case, "--clip", str(clip), "--batch-size",
                   str(args.batch_size), "--threads", str(args.threads), "--format", fmt]  # fmt: skip
        result = json.loads(
            subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
        )
        results[(case, frames, fmt)] = result
        print(
            f"{case + '-' + str(frames) + ' ' + fmt:>22}: {result['fps']:6.2f} frames/s ({result['seconds']:.0f} s), "
            f"peak RSS {result['peak_bytes'] / 2**20:.0f} MiB",
            flush=True,
        )
    streamed = [results[("stream", n, args.flat_format)]["peak_bytes"] for n in args.lengths]
    print(
        f"streaming peak RSS spread over {args.lengths} frames: {100 * (max(streamed) / min(streamed) - 1):.1f}%"
    )


if __name__ == "__main__":
    main()
