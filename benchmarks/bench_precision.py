"""Reduced precision against our fp32 output: thresholded-mask IoU, max|d| of the sigmoid, and time.

Uses the parity cases' deterministic weights and inputs (tests/fixtures/parity) and, for a real photo, the lemur
picture (tests/fixtures/lemur) through the same weights at 512x512.

    python benchmarks/bench_precision.py                   # bf16 on CPU
    python benchmarks/bench_precision.py --device cuda --dtypes fp16 bf16
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
PARITY_DIR = ROOT / "tests" / "fixtures" / "parity"
LEMUR = ROOT / "tests" / "fixtures" / "lemur" / "lemur.png"
os.environ.setdefault("BIREFNET_PARITY_DATA", str(PARITY_DIR))
sys.path[:0] = [str(ROOT), str(PARITY_DIR)]

import parity  # noqa: E402

from birefnet import load_model  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def lemur_input(size: int) -> torch.Tensor:
    from PIL import Image

    image = Image.open(LEMUR).convert("RGB").resize((size, size), Image.BILINEAR)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    return (x - MEAN) / STD


def timed_forward(
    model, x: torch.Tensor, device: str, dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, float]:
    """One warm-up and one timed forward; with ``dtype`` under autocast and a float32 input, as predict does."""
    autocast = torch.autocast(device.split(":")[0], dtype=dtype or torch.float32, enabled=dtype is not None)
    with torch.inference_mode(), autocast:
        model(x)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(x)
        if device == "cuda":
            torch.cuda.synchronize()
        return out.float().cpu(), time.perf_counter() - t0


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    ma, mb = a > 0, b > 0
    union = (ma | mb).sum().item()
    return 1.0 if union == 0 else (ma & mb).sum().item() / union


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtypes", nargs="*", default=["bf16"])
    parser.add_argument("--cases", nargs="*", default=list(parity.CASES))
    args = parser.parse_args()
    print(f"device={args.device} threads={torch.get_num_threads()}")
    print(f"{'case':<28}{'dtype':>6}{'fp32 s':>8}{'low s':>8}{'IoU':>9}{'max|dσ|':>10}{'fp32 vs ref':>12}")
    for case in args.cases:
        info = parity.case_info(case)
        state = parity.make_weights(parity.load_manifest(info["bb"]))
        inputs = {case: (parity.load_input(case), parity.load_reference_logits(case))}
        inputs[f"lemur@{info['bb']}"] = (lemur_input(512), None)
        fp32 = load_model(state, patch_order=info["patch_order"], device=args.device)
        for name, (x, ref) in inputs.items():
            base, base_s = timed_forward(fp32, x.to(args.device), args.device)
            vs_ref = f"{(base - ref.view_as(base)).abs().max().item():.2e}" if ref is not None else "-"
            for dtype in args.dtypes:
                low_model = load_model(
                    state, patch_order=info["patch_order"], device=args.device, dtype=dtype
                )
                low, low_s = timed_forward(
                    low_model, x.to(args.device, low_model.decoder.conv_out1[0].weight.dtype), args.device
                )
                d_sigmoid = (torch.sigmoid(low) - torch.sigmoid(base)).abs().max().item()
                print(
                    f"{name:<28}{dtype:>6}{base_s:>8.2f}{low_s:>8.2f}{iou(low, base):>9.4f}{d_sigmoid:>10.3f}{vs_ref:>12}"
                )


if __name__ == "__main__":
    main()
