"""Reduced precision against our fp32 output: thresholded-mask IoU, max|d| of the sigmoid, and time.

Runs as ``birefnet.inference.predict`` does: float32 weights, float32 input, the network under autocast in the
reduced dtype. Cases: the parity cases' deterministic weights and inputs (tests/fixtures/parity), the lemur
photo (tests/fixtures/lemur) through the same weights at 512x512, and optionally a trained checkpoint on a
folder of images (``--checkpoint``, ``--images``). The "floor" column is the IoU of an fp32 run whose weights
were rounded to the reduced dtype: what storing the weights in that dtype alone costs, before any
reduced-precision arithmetic. With ``--stored`` the reduced-precision run is what precision "bf16" / "fp16"
does: the weights stored in that dtype, the same autocast.

    python benchmarks/bench_precision.py                                  # bf16 on CPU
    python benchmarks/bench_precision.py --dtypes bf16 fp16               # fp16 on a CPU is emulated: slow
    python benchmarks/bench_precision.py --device cuda --dtypes fp16 bf16
    python benchmarks/bench_precision.py --stored --cases swin_v1_t_512          # precision "bf16": bf16 weights
    python benchmarks/bench_precision.py --cases --checkpoint run/weights/last.pth --images data/test/im --size 128
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

from birefnet import cpu_emulation_message, load_model, parse_dtype  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def image_input(path: Path, size: int) -> torch.Tensor:
    """``[1, 3, size, size]`` ImageNet-normalised RGB of an image file."""
    from PIL import Image

    image = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    return (x - MEAN) / STD


def lemur_input(size: int) -> torch.Tensor:
    return image_input(LEMUR, size)


def forward(
    model, x: torch.Tensor, device: str, dtype: torch.dtype, warm_up: bool = True
) -> tuple[torch.Tensor, float]:
    """Logits (float32, on the CPU) of one timed forward under autocast in ``dtype`` (none for float32)."""
    autocast = torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32)
    with torch.inference_mode(), autocast:
        if warm_up:
            model(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return out.float().cpu(), time.perf_counter() - t0


def rounded(state: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Floating-point tensors rounded to ``dtype`` and back to float32."""
    return {k: v.to(dtype).float() if v.is_floating_point() else v for k, v in state.items()}


def intersection_union(a: torch.Tensor, b: torch.Tensor) -> tuple[int, int]:
    """Pixel counts of the intersection and the union of the masks ``a > 0`` and ``b > 0``."""
    ma, mb = a > 0, b > 0
    return int((ma & mb).sum()), int((ma | mb).sum())


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    intersection, union = intersection_union(a, b)
    return 1.0 if union == 0 else intersection / union


def cases(args) -> list[tuple[str, dict, str, list[tuple[str, torch.Tensor, torch.Tensor | None]]]]:
    """(name, state dict, patch order, [(input name, input, reference logits or None)]) per model."""
    out = []
    for case in args.cases:
        info = parity.case_info(case)
        state = parity.make_weights(parity.load_manifest(info["bb"]))
        inputs = [(case, parity.load_input(case), parity.load_reference_logits(case))]
        inputs.append((f"lemur@{info['bb']}", lemur_input(512), None))
        out.append((case, state, info["patch_order"], inputs))
    if args.checkpoint:
        from birefnet.weights.files import read_state_dict

        files = sorted(
            p for p in Path(args.images).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")
        )
        inputs = [(f"{args.checkpoint.name}:{p.name}", image_input(p, args.size), None) for p in files]
        out.append((args.checkpoint.name, read_state_dict(args.checkpoint), "current", inputs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtypes", nargs="*", default=["bf16"])
    parser.add_argument("--cases", nargs="*", default=list(parity.CASES))
    parser.add_argument("--checkpoint", type=Path, help="a trained checkpoint (its images: --images)")
    parser.add_argument("--images", help="folder of images for --checkpoint")
    parser.add_argument("--size", type=int, default=1024, help="input size for --images")
    parser.add_argument(
        "--stored", action="store_true", help="reduced-precision runs use weights stored in it"
    )
    args = parser.parse_args()
    dtypes = [parse_dtype(d) for d in args.dtypes]
    print(f"device={args.device} threads={torch.get_num_threads()}")
    print(
        f"{'input':<34}{'dtype':>15}{'fp32 s':>8}{'low s':>8}{'IoU':>8}{'floor':>8}{'max|dσ|':>9}{'fp32 vs ref':>12}"
    )
    for _, state, patch_order, inputs in cases(args):
        fp32 = load_model(state, patch_order=patch_order, device=args.device)
        low_weights = {
            d: load_model(rounded(state, d), patch_order=patch_order, device=args.device) for d in dtypes
        }
        stored = {
            d: load_model(state, patch_order=patch_order, device=args.device, dtype=d)
            if args.stored
            else fp32
            for d in dtypes
        }
        totals = {d: [0, 0, 0, 0] for d in dtypes}  # summed intersections and unions: autocast, floor
        for name, x, ref in inputs:
            x = x.to(args.device)
            base, base_s = forward(fp32, x, args.device, torch.float32)
            vs_ref = f"{(base - ref.view_as(base)).abs().max().item():.2e}" if ref is not None else "-"
            for dtype in dtypes:
                emulated = (
                    cpu_emulation_message(dtype, args.device) is not None
                )  # minutes a forward: no warm-up
                low, low_s = forward(stored[dtype], x, args.device, dtype, warm_up=not emulated)
                floor, _ = forward(low_weights[dtype], x, args.device, torch.float32, warm_up=False)
                d_sigmoid = (torch.sigmoid(low) - torch.sigmoid(base)).abs().max().item()
                for i, other in enumerate((low, floor)):
                    intersection, union = intersection_union(other, base)
                    totals[dtype][2 * i] += intersection
                    totals[dtype][2 * i + 1] += union
                print(
                    f"{name:<34}{str(dtype):>15}{base_s:>8.2f}{low_s:>8.2f}{iou(low, base):>8.4f}"
                    f"{iou(floor, base):>8.4f}{d_sigmoid:>9.3f}{vs_ref:>12}",
                    flush=True,
                )
        if len(inputs) > 2:
            for dtype, (i_low, u_low, i_floor, u_floor) in totals.items():
                print(
                    f"{'  all ' + str(len(inputs)) + ' (summed I/U)':<34}{str(dtype):>15}{'':>16}"
                    f"{i_low / max(u_low, 1):>8.4f}{i_floor / max(u_floor, 1):>8.4f}"
                )


if __name__ == "__main__":
    main()
