"""Our deformable convolution vs torchvision.ops.deform_conv2d on CPU, at the decoder's shapes.

python benchmarks/bench_deform_conv.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from birefnet.network.ops.deform_conv import deform_conv2d  # noqa: E402


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    try:
        from torchvision.ops import deform_conv2d as tv_deform_conv2d
    except ImportError:
        tv_deform_conv2d = None
    print(f"threads={torch.get_num_threads()}")
    print(f"{'shape (C=64 -> 256)':<28}{'ours s':>9}{'tv s':>9}{'speed-up':>9}{'max|d|':>10}")
    gen = torch.Generator().manual_seed(0)
    for k, side in [(1, 256), (3, 256), (7, 128), (7, 256)]:
        x = torch.randn(1, 64, side, side, generator=gen)
        weight = torch.randn(256, 64, k, k, generator=gen) / (64 * k * k) ** 0.5
        offset = torch.randn(1, 2 * k * k, side, side, generator=gen)
        mask = 2 * torch.rand(1, k * k, side, side, generator=gen)
        args = (x, offset, weight, None)
        kwargs = dict(padding=k // 2, mask=mask)
        with torch.inference_mode():
            ours = best_of(lambda: deform_conv2d(*args, **kwargs))  # noqa: B023
            if tv_deform_conv2d is None:
                print(f"{f'k={k} {side}x{side}':<28}{ours:>9.3f}{'n/a':>9}")
                continue
            tv = best_of(lambda: tv_deform_conv2d(*args, **kwargs))  # noqa: B023
            diff = (deform_conv2d(*args, **kwargs) - tv_deform_conv2d(*args, **kwargs)).abs().max().item()
        print(f"{f'k={k} {side}x{side}':<28}{ours:>9.3f}{tv:>9.3f}{tv / ours:>9.2f}{diff:>10.2e}")


if __name__ == "__main__":
    main()
