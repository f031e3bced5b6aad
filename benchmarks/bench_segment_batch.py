"""Segment a batch of video frames: chunked (one predict call, batch_size frames per forward pass) versus
one frame per call. Prints frames per second and peak memory of each mode.

Each mode runs in its own subprocess so that peak memory (CUDA: max allocated; CPU: peak resident set
size of the process) belongs to that mode alone. Weights are random (speed and memory do not depend on
them); the default backbone is the released models' swin_v1_l on CUDA and the small pvt_v2_b0 on CPU.

    python benchmarks/bench_segment_batch.py [--device cuda] [--frames 64] [--batch-size 8]
        [--backbone swin_v1_l] [--resolution 1024] [--precision fp16]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_mode(args: argparse.Namespace) -> dict:
    from birefnet.inference.predict import predict
    from birefnet.network.model import BiRefNet

    device = torch.device(args.device)
    torch.manual_seed(0)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    model = BiRefNet(args.backbone).eval().to(device)
    frames = torch.rand(args.frames, 1080, 1920, 3, generator=torch.Generator().manual_seed(0))
    resolution = args.resolution
    predict(model, frames[:1], resolution, dtype=dtype)  # warm-up (kernels, allocator)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    if args.mode == "chunked":
        masks = predict(model, frames, resolution, batch_size=args.batch_size, dtype=dtype)
    else:
        masks = torch.cat(
            [predict(model, frames[i : i + 1], resolution, dtype=dtype) for i in range(args.frames)]
        )
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    assert masks.shape == (args.frames, 1080, 1920)
    peak = (
        torch.cuda.max_memory_allocated()
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    return {"mode": args.mode, "seconds": seconds, "fps": args.frames / seconds, "peak_bytes": peak}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--backbone", default=None)
    parser.add_argument(
        "--resolution", type=int, default=None, help="model input side (default 1024, CPU 256)"
    )
    parser.add_argument("--precision", default=None, choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--mode", choices=["chunked", "one-by-one"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    on_cpu = args.device == "cpu"
    args.backbone = args.backbone or ("pvt_v2_b0" if on_cpu else "swin_v1_l")
    args.resolution = args.resolution or (256 if on_cpu else 1024)
    args.precision = args.precision or ("fp32" if on_cpu else "fp16")
    if args.mode:
        print(json.dumps(run_mode(args)))
        return
    print(
        f"{args.frames} frames 1920x1080, {args.backbone} at {args.resolution}x{args.resolution}, "
        f"{args.precision}, device {args.device}, torch {torch.__version__}"
    )
    for mode in ("chunked", "one-by-one"):
        command = [sys.executable, __file__, "--mode", mode, "--device", args.device, "--frames", str(args.frames),
                   "--batch-size", str(args.batch_size), "--backbone", args.backbone,
                   "--resolution", str(args.resolution), "--precision", args.precision]  # fmt: skip
        result = json.loads(
            subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
        )
        label = f"chunked (batch_size={args.batch_size})" if mode == "chunked" else "one frame per call"
        what = "peak CUDA allocated" if args.device.startswith("cuda") else "peak process RSS"
        print(
            f"{label:>28}: {result['fps']:.2f} frames/s ({result['seconds']:.1f} s), "
            f"{what} {result['peak_bytes'] / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
