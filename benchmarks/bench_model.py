"""Time and peak memory of ``load_model`` + one forward on CPU, per backbone and resolution.

Each case runs in a fresh subprocess so its peak RSS is its own (the parent never imports torch: a forked
child's peak RSS would otherwise include the parent's pages). Weights are random, written in the official
format (safetensors) to a temporary file first. Also checks max|d| against the parity reference where one exists.

    python benchmarks/bench_model.py                      # the standard cases
    python benchmarks/bench_model.py --cases swin_v1_t:512 --dtype bf16 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ["swin_v1_t:512", "swin_v1_t:1024", "swin_v1_l:512", "swin_v1_l:1024", "pvt_v2_b2:512"]
# The reference implementation on a 2-core machine like ours, fp32 CPU: seconds, GiB peak RSS.
REFERENCE = {
    "swin_v1_t:512": (2.6, 1.55),
    "swin_v1_t:1024": (11.2, 2.87),
    "swin_v1_l:512": (5.2, 2.64),
    "swin_v1_l:1024": (20.0, 4.57),
    "pvt_v2_b2:512": (2.7, 1.46),
}


def run_case(backbone: str, size: int, dtype: str, threads: int, repeats: int, checkpoint: str) -> dict:
    import torch

    sys.path.insert(0, str(ROOT))
    from birefnet import load_model

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model = load_model(checkpoint, dtype=dtype)
    load_s = time.perf_counter() - t0
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(
        next(model.parameters()).dtype
    )
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = model(x)
            times.append(time.perf_counter() - t0)
    assert out.shape == (1, 1, size, size) and torch.isfinite(out).all()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return dict(load_s=load_s, forward_s=min(times), first_forward_s=times[0], peak_rss_gib=peak_gib)


def write_checkpoint(backbone: str, folder: str) -> str:
    import torch
    from safetensors.torch import save_file

    sys.path.insert(0, str(ROOT))
    from birefnet import BiRefNet

    path = os.path.join(folder, f"{backbone}.safetensors")
    if not os.path.exists(path):
        torch.manual_seed(0)
        save_file(BiRefNet(backbone).state_dict(), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", default=DEFAULT_CASES, help="backbone:size pairs")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case in this process
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    parser.add_argument("--write", help=argparse.SUPPRESS)  # internal: write a random checkpoint
    args = parser.parse_args()

    if args.write:
        backbone, folder = args.write.split(":", 1)
        print(write_checkpoint(backbone, folder))
        return

    if args.one:
        backbone, size = args.one.split(":")
        print(
            json.dumps(run_case(backbone, int(size), args.dtype, args.threads, args.repeats, args.checkpoint))
        )
        return

    print(f"threads={args.threads} dtype={args.dtype} python={sys.version.split()[0]}")
    print(
        f"{'case':<16}{'load s':>8}{'fwd s':>8}{'ref s':>7}{'ratio':>7}{'peak GiB':>10}{'ref GiB':>9}{'ratio':>7}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases:
            backbone, _ = case.split(":")
            checkpoint = subprocess.run(
                [sys.executable, __file__, "--write", f"{backbone}:{folder}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            cmd = [
                sys.executable,
                __file__,
                "--one",
                case,
                "--dtype",
                args.dtype,
                "--threads",
                str(args.threads),
            ]
            cmd += ["--repeats", str(args.repeats), "--checkpoint", checkpoint]
            result = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
            )
            ref_s, ref_gib = REFERENCE.get(case, (float("nan"), float("nan")))
            print(
                f"{case:<16}{result['load_s']:>8.2f}{result['forward_s']:>8.2f}{ref_s:>7.1f}"
                f"{result['forward_s'] / ref_s:>7.2f}{result['peak_rss_gib']:>10.2f}{ref_gib:>9.2f}"
                f"{result['peak_rss_gib'] / ref_gib:>7.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
