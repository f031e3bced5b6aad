"""CPU kernel assignments side by side in one process: the library's picks against every operation forced to
one backend (all oneDNN, all matmul), fp32 forwards of one model, alternating (picks, onednn, matmul,
matmul, onednn, picks, ...).

Prints the forwards of a fresh process until every trial has ended (kernel cache off),
then per assignment the median forward, the spread (min .. max) and the median of its ratio to the best
fixed assignment over the same round (paired, so slow drifts of a shared machine cancel).

    python benchmarks/bench_kernel_picks.py                     # swin_v1_l 512, 5 rounds, 2 threads
    python benchmarks/bench_kernel_picks.py --case swin_v1_t:1024 --rounds 3
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["BIREFNET_KERNEL_CACHE"] = "off"  # a new machine: the choice is made (and timed) here

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from birefnet import KERNEL_OPS, BiRefNet, load_model  # noqa: E402
from birefnet.network.ops.kernel_choice import (  # noqa: E402
    backend_variable,
    current_choices,
    trials_in_progress,
)

ASSIGNMENTS = ("picks", "onednn", "matmul")


def force(assignment: str) -> None:
    """Force every operation to ``assignment``'s backend (``picks``: nothing forced)."""
    for op in KERNEL_OPS:
        if assignment == "picks":
            os.environ.pop(backend_variable(op), None)
        else:
            os.environ[backend_variable(op)] = assignment


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", default="swin_v1_l:512", help="backbone:size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--log", action="store_true", help="print the trials' evidence (debug log)")
    args = parser.parse_args()
    if args.log:
        logging.basicConfig(format="%(message)s")
        logging.getLogger("birefnet.kernels").setLevel(logging.DEBUG)
    backbone, size = args.case.split(":")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model(BiRefNet(backbone).state_dict())
    x = torch.randn(1, 3, int(size), int(size), generator=torch.Generator().manual_seed(0))
    times: dict[str, list[float]] = {name: [] for name in ASSIGNMENTS}
    cpu: dict[str, list[float]] = {name: [] for name in ASSIGNMENTS}
    with torch.inference_mode():
        force("picks")
        first = []
        while (trials_in_progress() or not current_choices()) and len(first) < 8:  # trials span passes
            start = time.perf_counter()
            model(x)
            first.append(time.perf_counter() - start)
        for name in ASSIGNMENTS[1:]:  # warm-up of the fixed assignments
            force(name)
            model(x)
        for round_ in range(args.rounds):
            for name in ASSIGNMENTS if round_ % 2 == 0 else reversed(ASSIGNMENTS):
                force(name)
                start, start_cpu = time.perf_counter(), time.process_time()
                model(x)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    force("picks")
    print(f"{args.case}, fp32, {args.threads} threads, {args.rounds} alternating rounds")
    print(f"forwards while choosing: {', '.join(f'{t:.2f}' for t in first)} s")
    for entry, backend in current_choices().items():
        print(f"picked: {entry}: {backend}")
    report("wall", times)
    report("CPU", cpu)


def report(clock: str, times: dict[str, list[float]]) -> None:
    """Median, spread and median paired ratio to the round's best fixed assignment, per assignment."""
    rounds = len(times["picks"])
    best_fixed = [min(times["onednn"][i], times["matmul"][i]) for i in range(rounds)]
    for name, seconds in times.items():
        ratio = statistics.median(s / b for s, b in zip(seconds, best_fixed, strict=True))
        print(
            f"{clock:<5}{name:<8} median {statistics.median(seconds):6.2f} s  (min {min(seconds):.2f} .. max "
            f"{max(seconds):.2f})  / best fixed of the round: {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
