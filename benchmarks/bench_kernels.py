"""This host's fp32 GEMM speed as a plain matmul (MKL) and as a oneDNN 1x1 convolution, in GMAC/s.

Which of the two is faster differs between processors (that is why birefnet.network.ops chooses at run time); these
two numbers tell a reader which kind of host a set of timings comes from, and the faster of them is the
host's GEMM rate that ``bench_cpu_speed.py`` relates a forward's MACs to. The shape is a representative
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
from birefnet.network.ops.linear import _onednn_linear  # noqa: E402


def gemm_rates(rows: int, in_features: int, out_features: int, rounds: int) -> dict[str, list[float]]:
    """GMAC/s of every timed run per kernel (``matmul``, ``onednn 1x1 conv``), alternating, after a warm-up."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, in_features, generator=gen)
    weight = torch.randn(out_features, in_features, generator=gen) / in_features**0.5
    bias = torch.randn(out_features, generator=gen)
    runs = {
        "matmul": lambda: F.linear(x, weight, bias),
        "onednn 1x1 conv": lambda: _onednn_linear(x, weight, bias),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for run in runs.values():
            run()
        for round_ in range(rounds):
            for name in runs if round_ % 2 == 0 else reversed(list(runs)):
                start = time.perf_counter()
                runs[name]()
                rates[name].append(rows * in_features * out_features / (time.perf_counter() - start) / 1e9)
    return rates


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
    rates = gemm_rates(args.rows, args.in_features, args.out_features, args.rounds)
    print(f"host: {machine_key()} ({platform.machine()}), {args.threads} threads")
    print(f"shape: [{args.rows}, {args.in_features}] x [{args.in_features}, {args.out_features}] fp32")
    for name, gmacs in rates.items():
        print(f"{name:<16} {max(gmacs):6.1f} GMAC/s  (median {statistics.median(gmacs):.1f})")


if __name__ == "__main__":
    main()
