"""BiRefNet's encoder on an image and its half-size copy: together (one pass, tokens concatenated) against one
after the other, alternating A B B A in one process, on CPU.

    python benchmarks/bench_encode_together.py --backbone swin_v1_l --size 512 --rounds 8

Prints the median wall and process CPU time of each way, the per-round ratio together / separate, and the
largest difference between their features. Random weights: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from birefnet import BiRefNet, load_model  # noqa: E402
from birefnet.network.ops.resize import resize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backbone", default="swin_v1_l")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder = load_model(BiRefNet(args.backbone).state_dict()).bb
    x = torch.randn(1, 3, args.size, args.size)
    images = [x, resize(x, (args.size // 2, args.size // 2))]
    ways = {
        "together": lambda: encoder.forward_images(images),
        "separate": lambda: [encoder(image) for image in images],
    }
    wall: dict[str, list[float]] = {way: [] for way in ways}
    cpu: dict[str, list[float]] = {way: [] for way in ways}
    ratios = []
    with torch.inference_mode():
        outputs = {way: run() for way, run in ways.items()}  # also the warm-up (and any kernel trial)
        diff = max(
            (a - b).abs().max().item()
            for pa, pb in zip(outputs["together"], outputs["separate"], strict=True)
            for a, b in zip(pa, pb, strict=True)
        )
        for r in range(args.rounds):
            order = ("together", "separate", "separate", "together")
            for way in order if r % 2 == 0 else order[::-1]:
                t0, c0 = time.perf_counter(), time.process_time()
                ways[way]()
                wall[way].append(time.perf_counter() - t0)
                cpu[way].append(time.process_time() - c0)
            ratios.append(sum(wall["together"][-2:]) / sum(wall["separate"][-2:]))
    print(
        f"{args.backbone} {args.size}, threads={args.threads}, {args.rounds} rounds; max|d| features {diff:.2e}"
    )
    for way in ways:
        print(
            f"{way:9s} wall {statistics.median(wall[way]):7.3f} s   CPU {statistics.median(cpu[way]):7.3f} s"
        )
    print(
        f"together / separate per round: {' '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}"
    )


if __name__ == "__main__":
    main()
