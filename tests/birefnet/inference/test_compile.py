"""Opt-in torch.compile (birefnet/compile.py): same outputs as eager, a failing compiler falls back."""

from __future__ import annotations

import copy
import logging

import pytest
import torch

from birefnet import BiRefNetError, compile_model, is_compiled, predict


@pytest.mark.slow
def test_compiled_model_gives_the_eager_logits(tiny_model):
    # aot_eager runs Dynamo's graph capture and AOTAutograd without generating C++ (seconds, not minutes).
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        eager = tiny_model(x)
    compiled = compile_model(copy.deepcopy(tiny_model), backend="aot_eager")
    assert is_compiled(compiled) and not is_compiled(tiny_model)
    with torch.inference_mode():
        out = compiled(x)
    torch.testing.assert_close(out, eager, atol=1e-5, rtol=1e-5)
    assert compiled.state_dict().keys() == tiny_model.state_dict().keys()
    assert compile_model(compiled, backend="aot_eager") is compiled  # compiling twice is a no-op


@pytest.mark.slow
def test_each_new_input_size_is_announced_once(fresh_tiny_model, caplog):
    compile_model(fresh_tiny_model, backend="aot_eager")
    with caplog.at_level(logging.INFO, logger="birefnet"), torch.inference_mode():
        for size in (64, 64, 96, 64):
            fresh_tiny_model(torch.zeros(1, 3, size, size))
    announced = [r.getMessage() for r in caplog.records if "compiling for input" in r.getMessage()]
    assert announced == [
        f"BiRefNet: compiling for input [1, 3, {s}, {s}] torch.float32 on cpu (first run at this size; "
        "later runs are fast)"
        for s in (64, 96)
    ]


@pytest.mark.slow
def test_a_failing_compiler_falls_back_to_eager_once(fresh_tiny_model, caplog):
    calls = []

    def broken_backend(graph_module, example_inputs):
        calls.append(len(example_inputs))
        raise RuntimeError("no C++ compiler found")

    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        eager = fresh_tiny_model(x)
    compile_model(fresh_tiny_model, backend=broken_backend)
    with caplog.at_level(logging.WARNING, logger="birefnet"), torch.inference_mode():
        first = fresh_tiny_model(x)
        second = fresh_tiny_model(x)
    torch.testing.assert_close(first, eager)
    torch.testing.assert_close(second, eager)
    assert len(calls) == 1  # not retried on every call
    assert "torch.compile failed" in caplog.text and "no C++ compiler found" in caplog.text


def test_compiled_model_keeps_the_input_check(fresh_tiny_model):
    compile_model(fresh_tiny_model, backend="aot_eager")
    with pytest.raises(BiRefNetError, match="multiples of 32"), torch.inference_mode():
        fresh_tiny_model(torch.zeros(1, 3, 60, 64))


@pytest.mark.slow
def test_predict_runs_a_compiled_model(tiny_model, fresh_tiny_model):
    image = torch.rand(2, 50, 70, 3, generator=torch.Generator().manual_seed(3))
    eager = predict(tiny_model, image, resolution=64)
    compiled = predict(compile_model(fresh_tiny_model, backend="aot_eager"), image, resolution=64)
    torch.testing.assert_close(compiled, eager, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_inductor_compiles_the_model_without_falling_back(fresh_tiny_model, tmp_path, monkeypatch, caplog):
    # The real path (Inductor generating and building C++): about 1.5 minutes for the tiny model on 2 cores.
    # Its caches go to tmp_path, not to the user's /tmp/torchinductor_* folder.
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    model = fresh_tiny_model
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        eager = model(x)
    compile_model(model)
    with caplog.at_level(logging.WARNING, logger="birefnet"), torch.inference_mode():
        out = model(x)
    assert "torch.compile failed" not in caplog.text
    assert any((tmp_path / "inductor").rglob("*.py"))  # Inductor wrote its generated code there
    torch.testing.assert_close(out, eager, atol=1e-5, rtol=1e-5)
