"""Precision: dtype names, the (weights, compute) dtypes a precision setting gives on a device, and which
reduced precisions a CPU runs natively (the message for those it would only emulate).

Without AVX512-FP16 / AMX-FP16, oneDNN emulates float16 matrix products: on the 2-core AMD EPYC test
machine (AVX512-BF16, no AVX512-FP16) a swin_v1_t forward at 512x512 takes 0.8 s in fp32 and 170 s under
fp16 autocast. bfloat16 runs natively on CPUs with AVX512-BF16 or AMX; natively is not always faster: bf16
is about 2x faster than fp32 on an Intel Xeon with AMX (family 6 model 207), 1.3-1.6x faster on a 2-core AMD
EPYC, 1.3x slower on the same Xeon where AMX is hidden; its masks differ visibly from fp32 (IoU 0.98-0.998),
so "auto" stays fp32 on every CPU (docs/benchmarks.md, "Reduced precision").
"""

from __future__ import annotations

import torch

from ..errors import BiRefNetError

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
"""The precision settings of the loader node and the CLI."""
_HALF_NAMES = {torch.float16: "fp16", torch.bfloat16: "bf16"}
_NAMES = {torch.float32: "fp32", **_HALF_NAMES}
_DTYPE_NAMES = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "fp16": torch.float16,
    "float16": torch.float16,
    "half": torch.float16,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
}


def parse_dtype(dtype: torch.dtype | str | None) -> torch.dtype:
    """``None`` -> float32; accepts a torch float dtype or ``fp32``/``fp16``/``bf16``."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) and dtype in (torch.float32, torch.float16, torch.bfloat16):
        return dtype
    if isinstance(dtype, str) and dtype.lower() in _DTYPE_NAMES:
        return _DTYPE_NAMES[dtype.lower()]
    raise BiRefNetError(f"unsupported dtype {dtype!r}; use fp32, fp16 or bf16.")


def dtype_name(dtype: torch.dtype) -> str:
    """ "fp32", "fp16" or "bf16" (other dtypes: their torch name)."""
    return _NAMES.get(dtype, str(dtype))


def cpu_runs_natively(dtype: torch.dtype) -> bool:
    """True for float32, and for float16 / bfloat16 where this CPU has matrix instructions for them."""
    if dtype not in _HALF_NAMES:
        return True
    probe = "_is_mkldnn_fp16_supported" if dtype == torch.float16 else "_is_mkldnn_bf16_supported"
    try:
        return bool(getattr(torch.ops.mkldnn, probe)())
    except (AttributeError, RuntimeError):  # an older or oneDNN-less build: assume emulation
        return False


def cpu_emulation_message(dtype: torch.dtype, device: torch.device | str = "cpu") -> str | None:
    """Why computing in ``dtype`` on ``device`` is a bad choice: a CPU that emulates it. None otherwise
    (GPUs, float32, or a CPU that runs ``dtype`` natively)."""
    if torch.device(device).type != "cpu" or cpu_runs_natively(dtype):
        return None
    name = _HALF_NAMES[dtype]
    return (
        f"{name} on this CPU is emulated (no {name} matrix instructions) and runs far slower than fp32 "
        f"(about 200x for fp16 on a CPU without AVX512-FP16): use fp32 on the CPU"
        + (", or bf16 where the CPU has AVX512-BF16 or AMX." if dtype == torch.float16 else ".")
    )


def choose_precision(
    precision: str, device: torch.device, fp16_ok: bool, bf16_ok: bool, setting: str = "precision"
) -> tuple[torch.dtype, torch.dtype]:
    """(weight dtype, compute dtype) for a precision setting (``PRECISIONS``) on ``device``.

    "auto" keeps float32 weights and computes under autocast in fp16 (else bf16) where the device supports
    it (``fp16_ok`` / ``bf16_ok``), float32 on CPU: autocast casts each op's inputs, so mixed dtypes can never
    clash. fp16 comes first because it keeps 3 more mantissa bits: mask IoU against fp32 0.997-0.9998 on the
    parity cases and the lemur photo, bf16 0.981-0.998 (benchmarks/bench_precision.py). An explicit "fp16" /
    "bf16" stores the weights in that dtype (half the memory) and computes in it; on a CPU that would only
    emulate it, that is refused with the reason (``cpu_emulation_message``). ``setting`` names the setting in
    errors ("precision" in the nodes, "--precision" on the command line).
    """
    if precision == "auto":
        if device.type == "cpu":
            return torch.float32, torch.float32
        if fp16_ok:
            return torch.float32, torch.float16
        if bf16_ok:
            return torch.float32, torch.bfloat16
        return torch.float32, torch.float32
    if precision not in PRECISIONS:
        raise BiRefNetError(f"{setting} {precision!r} is unknown; use one of {', '.join(PRECISIONS)}.")
    dtype = parse_dtype(precision)
    if (message := cpu_emulation_message(dtype, device)) is not None:
        raise BiRefNetError(f"{setting} {precision!r} on the CPU: {message}")
    return dtype, dtype
