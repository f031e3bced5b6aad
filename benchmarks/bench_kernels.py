"""This host's fp32 GEMM speed as a plain matmul (MKL) and as a oneDNN 1x1 convolution, in GMAC/s.

Which of the two is faster differs between processors (that is why birefnet.network.ops measures at run time); these
two numbers tell a reader which kind of host a set of timings comes from. The shape is a representative
Swin-L linear layer: stage 3 MLP fc1 at a 1024x1024 input (4096 tokens, 768 -> 3072). Runs alternate
(matmul, conv, conv, matmul, ...); the best of each is reported, with the median in brackets.

    python benchmarks/bench_kernels.py                 # 2 threads
    python benchmarks/bench_kernels.py --threads 1 --rows 1024 --in-features 1536 --out-features 6144
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from birefnet.network.ops.kernel_cache import machine_key  # noqa: E402
from birefnet.network.ops.linear import _onednn_linear, cpu_backend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--in-features", type=int, default=768)
    parser.add_argument("--out-features", type=int, default=3072)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.rows, args.in_features, generator=gen)
    weight = torch.randn(args.out_features, args.in_features, generator=gen) / args.in_features**0.5
    bias = torch.randn(args.out_features, generator=gen)
    runs = {
        "matmul": lambda: F.linear(x, weight, bias),
        "onednn 1x1 conv": lambda: _onednn_linear(x, weight, bias),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for run in runs.values():
            run()
        for round_ in range(args.rounds):
            for name in runs if round_ % 2 == 0 else reversed(list(runs)):
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)
        pick = cpu_backend(x, weight, bias, autocast=False)
    macs = args.rows * args.in_features * args.out_features
    print(f"host: {machine_key()} ({platform.machine()}), {args.threads} threads")
    print(f"shape: [{args.rows}, {args.in_features}] x [{args.in_features}, {args.out_features}] fp32")
    for name, seconds in times.items():
        best, median = macs / min(seconds) / 1e9, macs / statistics.median(seconds) / 1e9
        print(f"{name:<16} {best:6.1f} GMAC/s  (median {median:.1f})")
    print(f"birefnet.network.ops.linear picks: {pick}")


if __name__ == "__main__":
    main()
