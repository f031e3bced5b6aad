"""Detail tiles (birefnet.predict_detailed, `cutout --detail native`) against the plain whole-image pass.

Cases, each in its own process so its peak resident set size (ru_maxrss) is its own:
  plain-WxH  : predict on a W x H image at the model resolution (the coarse pass alone).
  detail-WxH : predict_detailed(..., "native"): the coarse pass, then tiles along the uncertain band
               (coarse_seconds: time to the end of the coarse pass; the child prints each tile to stderr).
  direct-WxH : predict with the model input at the image's own size (inputs are capped at 4096 per side, so
               larger images cannot run this way; smaller ones show how direct memory grows with pixels).
cpu_seconds is the process's CPU time over the run (all threads): on a machine shared with other jobs it
varies far less than the wall time `seconds`.

The image is synthetic: a bright disc with a soft edge on a dark, noisy background (uint8, as the CLI loads
photos). The network is BiRefNet with random weights in the official format (tests/conftest.py), steered by
the image's brightness (logits = 0.1 * network + 60 * (brightness - 0.5)) so that, as with a trained model on
a photo, the coarse mask is certain inside and outside the disc and uncertain along its edge only: every
forward pass still runs the whole network, so time and memory are those of a real run. Random weights alone
would leave the whole image uncertain (every tile runs: the worst case, which --unsteered measures).

    python benchmarks/bench_detail.py [--backbone pvt_v2_b0] [--resolution 512] [--threads 2]
        [--cases plain-6000x4000 detail-6000x4000 detail-4000x3000 detail-8000x6000] [--unsteered]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_CASES = ["plain-6000x4000", "detail-6000x4000", "detail-4000x3000", "detail-8000x6000"]


def synthetic_image(width: int, height: int):
    """uint8 `[height, width, 3]`: a bright disc (radius 0.35 of the short side, 2 px soft edge) on dark noise."""
    import numpy as np

    rng = np.random.default_rng(0)
    image = rng.integers(30, 70, (height, width, 3), dtype=np.uint8)
    radius = 0.35 * min(width, height)
    for top in range(0, height, 512):  # in stripes: no full-size float temporaries
        ys = np.arange(top, min(top + 512, height), dtype=np.float32)[:, None] - height / 2
        xs = np.arange(width, dtype=np.float32)[None, :] - width / 2
        inside = np.clip((radius - np.sqrt(xs * xs + ys * ys)) / 2 + 0.5, 0, 1)[:, :, None]
        stripe = image[top : top + 512].astype(np.float32)
        image[top : top + 512] = (stripe * (1 - inside) + 210 * inside).astype(np.uint8)
    return image


def steered_model(backbone: str, steer: bool):
    import torch
    from conftest import random_state_dict
    from torch import nn

    from birefnet import load_model

    network = load_model(random_state_dict(backbone))
    if not steer:
        return network

    class Steered(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network
            self.variant = None
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            logits = self.network(x)
            logits = logits[-1] if isinstance(logits, (list, tuple)) else logits
            brightness = (x * self.std + self.mean).mean(1, keepdim=True)
            return 0.1 * logits + 60.0 * (brightness - 0.5)

    return Steered()


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads), seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_case(case: str, backbone: str, resolution: int, threads: int, steer: bool) -> dict:
    import torch

    from birefnet import predict, predict_detailed

    torch.set_num_threads(threads)
    kind, size = case.split("-")
    width, height = (int(v) for v in size.split("x"))
    model = steered_model(backbone, steer)
    image = synthetic_image(width, height)
    ready_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    counts = {"tiles": 0, "total": 0}
    cpu_start = cpu_seconds()
    start = time.perf_counter()
    if kind == "plain":
        mask = predict(model, image, resolution, batch_size=1)
    elif kind == "direct":
        mask = predict(model, image, (width, height), batch_size=1)
    else:

        def progress(done: int, total: int) -> None:
            counts["tiles"], counts["total"] = done - 1, total - 1
            seconds = time.perf_counter() - start
            counts.setdefault("coarse_seconds", round(seconds, 1))
            print(f"{case}: {done - 1}/{total - 1} tiles at {seconds:.0f} s", file=sys.stderr, flush=True)

        mask = predict_detailed(model, image, "native", resolution, batch_size=1, progress=progress)
    seconds = time.perf_counter() - start
    return {
        "case": case,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds() - cpu_start, 1),
        "tiles_run": counts["tiles"],
        "coarse_seconds": counts.get("coarse_seconds"),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "rss_before_run_gib": round(ready_rss / 2**30, 3),
        "image_plus_mask_gib": round((image.nbytes + mask.numel() * 4) / 2**30, 3),
        "mask_mean": round(float(mask.mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backbone", default="pvt_v2_b0")
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    parser.add_argument("--unsteered", action="store_true", help="random weights alone (every tile runs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_case(args.child, args.backbone, args.resolution, args.threads, not args.unsteered)
        print(json.dumps(result))
        return
    print(f"{args.backbone} at {args.resolution}, CPU fp32, {args.threads} threads, batch_size 1")
    for case in args.cases:
        command = [sys.executable, __file__, "--child", case, "--backbone", args.backbone]
        command += ["--resolution", str(args.resolution), "--threads", str(args.threads)]
        command += ["--unsteered"] if args.unsteered else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{case}: failed\n{done.stderr[-2000:]}")
            continue
        print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
