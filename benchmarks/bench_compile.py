"""Opt-in ``torch.compile`` (birefnet.compile_model) against eager mode: first-call (compile) time, steady
forward time and max|d| of the logits, per backbone and resolution, random weights.

    python benchmarks/bench_compile.py                            # swin_v1_t and pvt_v2_b2 at 512, CPU fp32
    python benchmarks/bench_compile.py --cases swin_v1_l:1024 --device cuda --dtype fp16
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from birefnet import (  # noqa: E402
    BiRefNet,
    compile_model,
    parse_dtype,  # noqa: E402
)


def timed(model, x: torch.Tensor, dtype: torch.dtype, repeats: int) -> tuple[torch.Tensor, list[float]]:
    """Logits and the wall time of each of ``repeats`` forwards (autocast in ``dtype`` unless float32)."""
    device = x.device.type
    times = []
    with torch.inference_mode(), torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return out.float(), times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", default=["swin_v1_t:512", "pvt_v2_b2:512"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", help="compute dtype (autocast): fp32, bf16 or fp16")
    parser.add_argument("--mode", default=None, help="torch.compile mode, e.g. max-autotune")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    dtype = parse_dtype(args.dtype)
    print(
        f"device={args.device} dtype={args.dtype} threads={torch.get_num_threads()} torch={torch.__version__}"
    )
    print(f"{'case':<16}{'eager s':>9}{'compile s':>11}{'compiled s':>12}{'speed-up':>10}{'max|d|':>10}")
    for case in args.cases:
        backbone, size = case.split(":")
        torch.manual_seed(0)
        model = BiRefNet(backbone).eval().to(args.device)
        x = torch.randn(1, 3, int(size), int(size), generator=torch.Generator().manual_seed(0)).to(
            args.device
        )
        eager, eager_times = timed(model, x, dtype, args.repeats)
        compile_model(model, mode=args.mode)
        compiled, compiled_times = timed(model, x, dtype, args.repeats + 1)
        eager_s, compiled_s = min(eager_times[1:]), min(compiled_times[1:])
        print(
            f"{case:<16}{eager_s:>9.3f}{compiled_times[0]:>11.1f}{compiled_s:>12.3f}"
            f"{eager_s / compiled_s:>9.2f}x{(compiled - eager).abs().max().item():>10.2e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
