"""CPU precision checks (birefnet/precision.py) and predict's warning for an emulated dtype."""

from __future__ import annotations

import warnings

import pytest
import torch

from birefnet import predict
from birefnet.inference.precision import cpu_emulation_message, cpu_runs_natively


def test_float32_is_always_native():
    assert cpu_runs_natively(torch.float32)
    assert cpu_emulation_message(torch.float32) is None


@pytest.mark.parametrize("dtype,name", [(torch.float16, "fp16"), (torch.bfloat16, "bf16")])
def test_message_names_the_dtype_and_the_way_out(dtype, name, monkeypatch):
    monkeypatch.setattr("birefnet.inference.precision.cpu_runs_natively", lambda d: False)
    message = cpu_emulation_message(dtype)
    assert message is not None and message.startswith(f"{name} on this CPU is emulated")
    assert "use fp32" in message
    monkeypatch.setattr("birefnet.inference.precision.cpu_runs_natively", lambda d: True)
    assert cpu_emulation_message(dtype) is None
    monkeypatch.setattr("birefnet.inference.precision.cpu_runs_natively", lambda d: False)
    assert cpu_emulation_message(dtype, torch.device("cuda")) is None  # only CPUs emulate


def test_probe_failure_counts_as_emulated(monkeypatch):
    class NoProbes:
        pass

    monkeypatch.setattr(torch.ops, "mkldnn", NoProbes())
    assert not cpu_runs_natively(torch.bfloat16)
    assert cpu_runs_natively(torch.float32)


@pytest.mark.slow
def test_predict_warns_for_an_emulated_dtype_on_the_cpu(tiny_model, monkeypatch):
    model = tiny_model
    image = torch.rand(1, 40, 40, 3, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fp32 and a native bf16: no warning
        predict(model, image, resolution=64)
        monkeypatch.setattr("birefnet.inference.precision.cpu_runs_natively", lambda d: True)
        predict(model, image, resolution=64, dtype=torch.bfloat16)
    monkeypatch.setattr("birefnet.inference.precision.cpu_runs_natively", lambda d: d == torch.float32)
    with pytest.warns(UserWarning, match="bf16 on this CPU is emulated"):
        mask = predict(model, image, resolution=64, dtype=torch.bfloat16)
    assert mask.shape == (1, 40, 40)  # a warning, not a refusal: the library still computes
