"""The whole CPU speed table in one command: fp32 forward time and memory per case (against the reference
implementation when its side-by-side tool is given), the share of the host's GEMM rate reached, the kernel
picks against every operation forced to one backend, and bf16 speed and agreement with fp32 (on CPUs that run
bf16 natively; elsewhere the refusal is printed).

Share of the GEMM rate = forward MACs (convolutions and matrix products, counted by
``torch.utils.flop_counter``) / forward seconds / the host's best GEMM rate (``bench_kernels.py``'s shape):
the headroom left for the kernels. Each part runs the existing benchmark script in a fresh process. With
the side-by-side tool every round is a run of its own, and the range of the per-round speed-ups (reference
and ours timed within a minute of each other) shows how far the machine's drift moves one measurement.

    python benchmarks/bench_cpu_speed.py                                    # ours only, about 10 min idle
    python benchmarks/bench_cpu_speed.py --side-by-side PATH/TO/side_by_side.py   # the reference timing tool (not in this project); about 30 min idle
    python benchmarks/bench_cpu_speed.py --cases swin_v1_l:512 --skip-picks --skip-bf16
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
from bench_kernels import gemm_rates  # noqa: E402

from birefnet import BiRefNet, cpu_emulation_message, load_model  # noqa: E402

CASES = [
    "swin_v1_t:512",
    "swin_v1_l:512",
    "pvt_v2_b2:512",
    "swin_v1_t:1024",
    "swin_v1_l:1024",
    "pvt_v2_b2:1024",
]
SIDE_BY_SIDE = re.compile(r"reference ([\d.]+) s / ([\d.]+) GiB, ours ([\d.]+) s / ([\d.]+) GiB")


def forward_macs(backbone: str, size: int) -> float:
    """Multiply-accumulates of one fp32 forward at ``size`` x ``size`` (convolutions, matrix products and
    attention; not the deformable convolution's sampling)."""
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    torch.manual_seed(0)
    model = load_model(BiRefNet(backbone).state_dict())
    attention = {  # the CPU attention kernel is not in torch's table
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: lambda q, k, v, *_, **__: sdpa_flop_count(
            q, k, v
        )
    }
    counter = FlopCounterMode(display=False, custom_mapping=attention)
    with torch.inference_mode(), counter:
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 2


def run(command: list[str]) -> str:
    """stdout of a benchmark script run in a fresh process (fails loudly with its stderr)."""
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def ours(case: str, threads: int, rounds: int, folder: str) -> tuple[float, float]:
    """(best forward seconds of ``rounds + 1``, peak RSS GiB) of our fp32 forward, by ``bench_model.py``."""
    backbone = case.split(":")[0]
    script = str(HERE / "bench_model.py")
    checkpoint = run([script, "--write", f"{backbone}:{folder}"]).strip()
    line = run(
        [
            script,
            "--one",
            case,
            "--threads",
            str(threads),
            "--repeats",
            str(rounds + 1),
            "--checkpoint",
            checkpoint,
        ]
    )
    result = json.loads(line.strip().splitlines()[-1])
    return result["forward_s"], result["peak_rss_gib"]


class Round(NamedTuple):
    """One side-by-side round: forward seconds and peak RSS GiB of the reference and of ours."""

    ref_s: float
    ref_gib: float
    our_s: float
    our_gib: float


def side_by_side_rounds(tool: str, case: str, rounds: int) -> list[Round]:
    """``rounds`` runs of the side-by-side tool, one round each (the reference, then ours, each in a fresh
    process). The two sides of a round run within a minute of each other, so the spread of the per-round
    speed-ups shows the machine's drift."""
    found = []
    for _ in range(rounds):
        out = run([tool, str(HERE.parent), "--cases", case, "--rounds", "1"])
        found.append(Round(*map(float, SIDE_BY_SIDE.search(out).groups())))
    return found


def summary(rounds: list[Round]) -> Round:
    """Median seconds and largest peak RSS of each side over the rounds (as the side-by-side tool reports)."""
    ref_s, ref_gib, our_s, our_gib = zip(*rounds, strict=True)
    return Round(statistics.median(ref_s), max(ref_gib), statistics.median(our_s), max(our_gib))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", default=CASES, help="backbone:size pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="side-by-side rounds (or our forwards without the tool) per case",
    )
    parser.add_argument(
        "--side-by-side", help="the side-by-side tool that times the reference implementation"
    )
    parser.add_argument("--skip-picks", action="store_true")
    parser.add_argument("--skip-bf16", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rates = gemm_rates(4096, 768, 3072, rounds=7)
    peak = max(max(gmacs) for gmacs in rates.values())
    described = ", ".join(f"{name} {max(gmacs):.1f}" for name, gmacs in rates.items())
    print(f"GEMM rate, fp32, {args.threads} threads (GMAC/s, best of 7): {described}", flush=True)
    print(
        f"{'case':<16}{'ref s':>8}{'ref GiB':>9}{'ours s':>8}{'GiB':>7}{'speed-up':>10}{'memory':>8}"
        f"{'GMAC':>8}{'GEMM share':>12}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases:
            backbone, size = case.split(":")
            spread = ""
            if args.side_by_side:
                rounds = side_by_side_rounds(args.side_by_side, case, args.rounds)
                ref_s, ref_gib, our_s, our_gib = summary(rounds)
                speed_ups = sorted(r.ref_s / r.our_s for r in rounds)
                reference = f"{ref_s:>8.2f}{ref_gib:>9.2f}"
                ratios = f"{ref_s / our_s:>9.2f}x{our_gib / ref_gib:>8.2f}"
                spread = f"   rounds {speed_ups[0]:.2f}-{speed_ups[-1]:.2f}x"
            else:
                our_s, our_gib = ours(case, args.threads, args.rounds, folder)
                reference, ratios = f"{'-':>8}{'-':>9}", f"{'-':>10}{'-':>8}"
            macs = forward_macs(backbone, int(size))
            print(
                f"{case:<16}{reference}{our_s:>8.2f}{our_gib:>7.2f}{ratios}{macs / 1e9:>8.0f}"
                f"{macs / our_s / 1e9 / peak:>12.2f}{spread}",
                flush=True,
            )
    if not args.skip_picks:
        print("\nKernel picks against fixed backends (bench_kernel_picks.py):", flush=True)
        print(
            run(
                [
                    str(HERE / "bench_kernel_picks.py"),
                    "--case",
                    "swin_v1_l:512",
                    "--threads",
                    str(args.threads),
                ]
            )
        )
    if not args.skip_bf16:
        print("bf16 (precision 'bf16': bf16 weights) against fp32 (bench_precision.py --stored):", flush=True)
        emulated = cpu_emulation_message(torch.bfloat16)
        if emulated:  # what precision "bf16" refuses here; its emulated speed says nothing about the library
            print(f"skipped: {emulated}")
        else:
            print(run([str(HERE / "bench_precision.py"), "--stored", "--dtypes", "bf16"]))


if __name__ == "__main__":
    main()
