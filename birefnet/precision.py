"""Reduced precision on the CPU: which dtypes it runs natively, and the message for those it emulates.

Without AVX512-FP16 / AMX-FP16, oneDNN emulates float16 matrix products: on the 2-core AMD EPYC test
machine (AVX512-BF16, no AVX512-FP16) a swin_v1_t forward at 512x512 takes 0.8 s in fp32 and 170 s under
fp16 autocast. bfloat16 runs natively on CPUs with AVX512-BF16 or AMX.
"""

from __future__ import annotations

import torch

_HALF_NAMES = {torch.float16: "fp16", torch.bfloat16: "bf16"}


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
