"""Node option handling that needs no ComfyUI (nodes/options.py)."""

from __future__ import annotations

import pytest
import torch
from comfyui_birefnet_exact.nodes.options import (
    activation_bytes,
    check_segment_image,
    patch_order_argument,
    resolution_argument,
)

from birefnet import BiRefNetError, choose_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize(
    "device,fp16_ok,bf16_ok,expected",
    [
        (CPU, True, True, (torch.float32, torch.float32)),  # CPU: always fp32, whatever the flags say
        (CUDA, True, True, (torch.float32, torch.float16)),  # fp16 first: 3 more mantissa bits than bf16
        (CUDA, False, True, (torch.float32, torch.bfloat16)),
        (CUDA, True, False, (torch.float32, torch.float16)),
        (CUDA, False, False, (torch.float32, torch.float32)),
    ],
)
def test_auto_precision_keeps_fp32_weights_and_autocasts(device, fp16_ok, bf16_ok, expected):
    assert choose_precision("auto", device, fp16_ok, bf16_ok) == expected


@pytest.mark.parametrize(
    "name,dtype", [("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)]
)
def test_explicit_precision_sets_weights_and_compute(name, dtype, monkeypatch):
    monkeypatch.setattr(
        "birefnet.inference.precision.cpu_emulation_message", lambda dtype, device: None
    )  # a CPU with fp16 and bf16
    assert choose_precision(name, CPU, False, False) == (dtype, dtype)
    assert choose_precision(name, CUDA, False, False) == (dtype, dtype)


@pytest.mark.parametrize("name,dtype", [("fp16", torch.float16), ("bf16", torch.bfloat16)])
def test_explicit_half_precision_refused_on_a_cpu_that_emulates_it(name, dtype, monkeypatch):
    monkeypatch.setattr("birefnet.inference.precision.cpu_runs_natively", lambda d: d != dtype)
    with pytest.raises(BiRefNetError, match=f"precision '{name}' on the CPU: {name} on this CPU is emulated"):
        choose_precision(name, CPU, True, True)
    assert choose_precision(name, CUDA, True, True) == (dtype, dtype)  # GPUs are not asked


def test_unknown_precision():
    with pytest.raises(BiRefNetError, match="fp64"):
        choose_precision("fp64", CPU, False, False)


def test_auto_precision_runs_a_model_without_dtype_clash():
    # fp32 weights + the chosen compute dtype through autocast, as predict() does for "auto".
    layer = torch.nn.Conv2d(3, 4, 3)
    weights, compute = choose_precision("auto", CPU, True, True)
    assert next(layer.parameters()).dtype == weights
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=compute != weights):
        assert layer(torch.rand(1, 3, 8, 8)).shape == (1, 4, 6, 6)


def test_patch_order_auto_uses_the_variant():
    assert patch_order_argument("auto", "legacy") == "legacy"
    assert patch_order_argument("auto", None) is None
    assert patch_order_argument("current", "legacy") == "current"
    with pytest.raises(BiRefNetError, match="sideways"):
        patch_order_argument("sideways", None)


def test_resolution_argument():
    assert resolution_argument("native", 64, 32) is None
    assert resolution_argument("custom", 64, 32) == (64, 32)
    assert resolution_argument("dynamic", 64, 32) == "dynamic"
    with pytest.raises(BiRefNetError, match="huge"):
        resolution_argument("huge", 64, 32)


def test_segment_image_checks():
    check_segment_image(torch.zeros(2, 16, 20, 3))
    with pytest.raises(BiRefNetError, match="1x1 pixels"):
        check_segment_image(torch.zeros(1, 1, 1, 3))
    with pytest.raises(BiRefNetError, match=r"\[batch, height, width, channels\]"):
        check_segment_image(torch.zeros(16, 16, 3))


def test_activation_bytes_scales_with_pixels_batch_and_precision():
    half = activation_bytes(1024, 1024, 1, torch.float16)
    assert activation_bytes(2048, 1024, 1, torch.float16) == 2 * half
    assert activation_bytes(1024, 1024, 3, torch.float16) == 3 * half
    assert activation_bytes(1024, 1024, 1, torch.float32) == 2 * half
