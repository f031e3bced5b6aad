"""The GPU check (run by scripts/gpu_check.sh): one table of correctness, speed and memory on a CUDA GPU.

Rows: parity of the CUDA fp32 forward with the reference logits (made on CPU) and with our CPU forward on
the parity cases; fp16 / bf16 autocast masks against fp32 (max |d| of the sigmoid masks, IoU at 0.5);
forward time and peak memory of swin_v1_l at 1024, batch 1, fp32 and fp16, eager and compiled; a
BiRefNet_HR-shaped swin_v1_l at 2048 in fp16; streaming video matting frames/s on a synthetic 1080p clip;
the ComfyUI example workflows end to end on the GPU. Random weights in the official format: no downloads.
Without CUDA it says so and exits 0.

    python scripts/gpu_check.py [--no-compile] [--no-e2e] [--video-frames 48] [--steps parity,autocast,...]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
PARITY_DIR = ROOT / "tests" / "fixtures" / "parity"
os.environ.setdefault("BIREFNET_PARITY_DATA", str(PARITY_DIR))
sys.path[:0] = [str(ROOT), str(PARITY_DIR), str(ROOT / "tests")]

PARITY_CASES = ["swin_v1_t_512", "pvt_v2_b0_512", "swin_v1_s_512_legacy"]
STEPS = ("parity", "autocast", "speed", "hr", "video", "e2e")
REFERENCE = {  # published by BiRefNet's author (fp16: weights and compute in half precision)
    ("fp32", "eager"): "A100 86.8 ms, RTX 4090 95.8 ms",
    ("fp16", "eager"): "A100 69.4 ms, RTX 4090 57.7 ms, 3.45 GB",
}


def row(check: str, result: str, reference: str = "") -> None:
    print(f"| {check} | {result} | {reference} |", flush=True)


def parity_rows() -> None:
    import parity

    from birefnet import load_model

    torch.backends.cudnn.allow_tf32 = False  # fp32 means fp32 (TF32 convolutions are cuDNN's default)
    torch.backends.cuda.matmul.allow_tf32 = False
    for case in PARITY_CASES:
        outputs = {}

        def forward(state_dict, x, info, outputs=outputs):
            for device in ("cpu", "cuda"):
                model = load_model(state_dict, patch_order=info["patch_order"], device=device)
                with torch.inference_mode():
                    outputs[device] = model(x.to(device)).float().cpu()
            return outputs["cuda"]

        report = parity.check(forward, case, tol=parity.DEFAULT_TOL, verbose=False)
        cpu_diff = (outputs["cuda"] - outputs["cpu"]).abs().max().item()
        row(
            f"parity {case}, CUDA fp32",
            f"{'pass' if report['passed'] else 'FAIL'}: max|d| {report['max_abs_diff']:.1e} vs reference, "
            f"{cpu_diff:.1e} vs our CPU; IoU {report['iou_thresholded']:.4f}",
            "max|d| <= 1e-3, IoU >= 0.999",
        )


def autocast_rows() -> None:
    import parity

    from birefnet import load_model

    info = parity.case_info("swin_v1_t_512")
    model = load_model(parity.make_weights(parity.load_manifest(info["bb"])), patch_order=info["patch_order"])
    model = model.cuda()
    x = parity.load_input("swin_v1_t_512").cuda()
    masks = {}
    for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)):
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
            masks[name] = model(x).float().sigmoid()
    for name in ("fp16", "bf16"):
        a, b = masks[name] > 0.5, masks["fp32"] > 0.5
        iou = ((a & b).sum() / (a | b).sum().clamp(min=1)).item()
        diff = (masks[name] - masks["fp32"]).abs().max().item()
        row(
            f"{name} autocast vs fp32 (swin_v1_t 512)",
            f"mask max|d| {diff:.1e}, IoU@0.5 {iou:.4f}",
            "IoU >= 0.98",
        )


def measure(
    model: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype, runs: int = 10
) -> tuple[float, float]:
    """(median ms of a forward, peak GiB allocated) after warm-up (which compiles a compiled model)."""
    times = []
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        for i in range(runs + 3):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model(x)
            torch.cuda.synchronize()
            if i >= 3:
                times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2], torch.cuda.max_memory_allocated() / 2**30


def speed_rows(compile: bool) -> None:
    """Eager fp32 and fp16, compiled fp16 (compiling swin_v1_l takes about 5 minutes on an H200 host)."""
    from birefnet import BiRefNet, compile_model

    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True  # as users run it
    x = torch.rand(1, 3, 1024, 1024, device="cuda")
    cases = [("fp32", torch.float32, "eager"), ("fp16", torch.float16, "eager")]
    if compile:
        cases.append(("fp16", torch.float16, "compiled"))
    for precision, dtype, mode in cases:
        torch.manual_seed(0)
        model = BiRefNet("swin_v1_l").eval().cuda().to(dtype)
        if mode == "compiled":
            compile_model(model)
        started = time.perf_counter()
        ms, gib = measure(model, x, dtype)
        note = (
            f" (warm-up with compiling {time.perf_counter() - started:.0f} s)" if mode == "compiled" else ""
        )
        row(f"swin_v1_l 1024 b1 {precision} {mode}", f"{ms:.1f} ms, peak {gib:.2f} GiB{note}",
            REFERENCE.get((precision, mode), ""))  # fmt: skip
        del model
        torch.cuda.empty_cache()


def hr_row() -> None:
    from birefnet import BiRefNet

    torch.manual_seed(0)
    model = BiRefNet("swin_v1_l").eval().cuda().half()
    ms, gib = measure(model, torch.rand(1, 3, 2048, 2048, device="cuda"), torch.float16, runs=3)
    row("BiRefNet_HR shape (swin_v1_l 2048) fp16", f"{ms:.1f} ms, peak {gib:.2f} GiB", "about 9 GB")


def video_row(frames: int) -> None:
    from video_samples import write_video

    from birefnet import BiRefNet, matte_video

    folder = Path(tempfile.mkdtemp(prefix="gpu_check_video_"))
    clip = write_video(folder / "clip.mp4", frames=frames, width=1920, height=1080)
    torch.manual_seed(0)
    model = BiRefNet("swin_v1_l").eval().cuda()
    matte_video(model, clip, {"mask": folder / "warm.mp4"}, resolution=1024, batch_size=4, dtype=torch.float16,
                duration=0.2)  # fmt: skip
    started = time.perf_counter()
    result = matte_video(model, clip, {"webm": folder / "out.webm"}, resolution=1024, batch_size=4,
                         dtype=torch.float16)  # fmt: skip
    fps = result.frames / (time.perf_counter() - started)
    row(
        "matte_video 1080p -> webm, swin_v1_l 1024 fp16 autocast",
        f"{fps:.1f} frames/s ({result.frames} frames)",
    )


def e2e_row() -> None:
    from pytest_process import pytest_command  # tests/ is on sys.path

    env = dict(os.environ, BIREFNET_E2E="1", BIREFNET_E2E_GPU="1")
    command = pytest_command("tests/e2e/test_example_workflows.py")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = (done.stdout + done.stderr).strip().splitlines()
    row("ComfyUI example workflows on the GPU (e2e)", lines[-1] if lines else f"exit {done.returncode}")
    if done.returncode != 0:
        print("\n".join(lines[-40:]), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row (saves ~5 min)")
    parser.add_argument("--no-e2e", action="store_true", help="skip the ComfyUI end-to-end row")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"rows to run, of {','.join(STEPS)}")
    parser.add_argument("--video-frames", type=int, default=48, help="frames of the synthetic 1080p clip")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"No CUDA GPU visible to PyTorch {torch.__version__}: nothing to check here (exit 0).")
        return 0
    torch._logging.set_logs(dynamo=logging.ERROR, inductor=logging.ERROR)  # keep the table readable
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}\n")
    print("| check | result | reference |\n|---|---|---|", flush=True)
    steps = {
        "parity": parity_rows,
        "autocast": autocast_rows,
        "speed": lambda: speed_rows(not args.no_compile),
        "hr": hr_row,
        "video": lambda: video_row(args.video_frames),
        "e2e": e2e_row,
    }
    failed = 0
    for name in args.steps.split(","):
        if name == "e2e" and args.no_e2e:
            continue
        try:
            steps[name]()
        except Exception as error:  # one broken row must not hide the others
            failed += 1
            row(name, f"ERROR {type(error).__name__}: {error}".replace("\n", " "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
