"""A boxed prediction (birefnet.predict_guided) against the whole image at the same model resolution.

The image is 2000x1500 uint8 noise; the box is a quarter of it (1000x750, centred), grown by the default margin
(32 px) to a 1064x814 crop. Both runs resize their input to the same model input size, so the network costs the
same: what differs is the resizing in and out (the whole image against the crop) and, for the box, pasting into
a zero mask. The network is BiRefNet with random weights in the official format (tests/conftest.py): timing does
not depend on the weights. Each case is timed `--repeats` times after one warm-up run; the best wall time and the
best CPU time of the process are printed (on a machine loaded by other jobs the CPU time is the steadier one).

    python benchmarks/bench_guided.py [--backbone pvt_v2_b0] [--resolution 1024] [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

WIDTH, HEIGHT = 2000, 1500
BOX = (500, 375, 1500, 1125)  # a quarter of the image's area, centred


def best_seconds(run, repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of this process) of `repeats` calls of `run` after a warm-up."""
    run()  # warm-up: first-call allocations and kernel choices
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backbone", default="pvt_v2_b0")
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import torch
    from conftest import random_state_dict

    from birefnet import DEFAULT_MARGIN, Prompt, load_model, predict, predict_guided

    torch.set_num_threads(args.threads)
    model = load_model(random_state_dict(args.backbone))
    image = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    prompt = Prompt(boxes=(BOX,))
    print(
        f"{args.backbone} (random weights) at {args.resolution}x{args.resolution}, CPU fp32, {args.threads} "
        f"thread(s); {WIDTH}x{HEIGHT} image, box {BOX} (a quarter), margin {DEFAULT_MARGIN}; best of {args.repeats}"
    )
    whole = best_seconds(lambda: predict(model, image, args.resolution), args.repeats)
    print(f"whole image : wall {whole[0]:.2f} s, CPU {whole[1]:.2f} s", flush=True)
    boxed = best_seconds(lambda: predict_guided(model, image, prompt, args.resolution), args.repeats)
    print(
        f"boxed       : wall {boxed[0]:.2f} s, CPU {boxed[1]:.2f} s "
        f"({boxed[0] / whole[0]:.2f}x / {boxed[1] / whole[1]:.2f}x the whole image)",
        flush=True,
    )


if __name__ == "__main__":
    main()
