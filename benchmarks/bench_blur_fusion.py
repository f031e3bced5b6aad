"""Time blur-fusion foreground estimation (birefnet.matting.composite.estimate_foreground) on random images.

Prints the median time of a few runs per size. Reference point: an OpenCV implementation takes about
0.11 s at 1024x1024 on a 2-core machine.

    python benchmarks/bench_blur_fusion.py [--device cpu] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from birefnet import estimate_foreground  # noqa: E402

SIZES = {"1024x1024": (1024, 1024), "1920x1080 (1080p)": (1080, 1920), "3840x2160 (4K)": (2160, 3840)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()}")
    generator = torch.Generator().manual_seed(0)
    for label, (height, width) in SIZES.items():
        image = torch.rand(1, height, width, 3, generator=generator).to(device)
        alpha = torch.rand(1, height, width, generator=generator).to(device)
        estimate_foreground(image, alpha)  # warm-up
        times = []
        for _ in range(args.repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            estimate_foreground(image, alpha)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        print(
            f"{label:>20}: median {statistics.median(times):.3f} s  (min {min(times):.3f} s, {args.repeats} runs)"
        )


if __name__ == "__main__":
    main()
