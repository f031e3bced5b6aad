"""CPU kernel choice by measurement: both backends give the reference logits, the choice is remembered (in the
process and in the cache file), a corrupt cache file is ignored, the environment variables force a backend."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import parity
import pytest
import torch
import torch.nn.functional as F

from birefnet import BiRefNetError, load_model
from birefnet.network.ops import kernel_cache, kernel_choice, pointwise
from birefnet.network.ops import linear as linear_module
from birefnet.network.ops.linear import linear

ENV = ("BIREFNET_LINEAR_BACKEND", "BIREFNET_DEFORM_CONV_BACKEND", "BIREFNET_POINTWISE_CONV_BACKEND")


@pytest.fixture(autouse=True)
def fresh_choices(tmp_path, monkeypatch):
    """Each test starts with no remembered choice and its own cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("BIREFNET_KERNEL_CACHE", raising=False)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    kernel_choice.forget()
    yield
    kernel_choice.forget()


@pytest.fixture
def measurements(monkeypatch):
    """Counts calls of kernel_choice.measure (which still measures)."""
    calls = []
    real = kernel_choice.measure

    def counting(candidates):
        calls.append(sorted(candidates))
        return real(candidates)

    monkeypatch.setattr(kernel_choice, "measure", counting)
    return calls


def _inputs(rows=300, features=48, out=80):
    gen = torch.Generator().manual_seed(rows)
    return (
        torch.randn(rows, features, generator=gen),
        torch.randn(out, features, generator=gen),
        torch.randn(out, generator=gen),
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["matmul", "onednn"])
@pytest.mark.parametrize("case", ["swin_v1_t_512", "pvt_v2_b0_512"])
def test_each_forced_backend_matches_reference_logits(case, backend, monkeypatch):
    for name in ENV:
        monkeypatch.setenv(name, backend)

    def forward(state_dict, x, info):
        model = load_model(state_dict, patch_order=info["patch_order"])
        with torch.inference_mode():
            return model(x)

    report = parity.check(forward, case, tol=parity.DEFAULT_TOL, verbose=False)
    assert report["passed"], report


@pytest.mark.parametrize("backend", ["matmul", "onednn"])
def test_env_var_forces_linear_backend(backend, monkeypatch, measurements):
    monkeypatch.setenv("BIREFNET_LINEAR_BACKEND", backend)
    onednn_calls = []
    real = linear_module._onednn_linear
    monkeypatch.setattr(linear_module, "_onednn_linear", lambda *args: onednn_calls.append(1) or real(*args))
    x, weight, bias = _inputs()
    torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    assert bool(onednn_calls) == (backend == "onednn")
    assert measurements == []


def test_env_var_rejects_unknown_backend(monkeypatch):
    monkeypatch.setenv("BIREFNET_LINEAR_BACKEND", "mkl")
    x, weight, bias = _inputs()
    with pytest.raises(BiRefNetError, match="BIREFNET_LINEAR_BACKEND='mkl'.*auto, matmul, onednn"):
        linear(x, weight, bias)


def test_choice_is_measured_once_and_remembered(measurements, caplog):
    x, weight, bias = _inputs()
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"):
        first = linear(x, weight, bias)
        second = linear(x, weight, bias)
    assert measurements == [["matmul", "onednn"]]
    torch.testing.assert_close(first, F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(second, first, atol=1e-5, rtol=1e-5)
    assert any("linear (256, 48, 80" in r.message and "measured" in r.message for r in caplog.records)


def test_cache_file_round_trips(tmp_path, monkeypatch, measurements):
    monkeypatch.setattr(kernel_choice, "STABLE", float("inf"))  # save even on a busy machine
    x, weight, bias = _inputs()
    linear(x, weight, bias)
    path = tmp_path / "birefnet" / "kernels.json"
    entries = json.loads(path.read_text())[kernel_cache.machine_key()]
    ((entry, backend),) = entries.items()
    assert entry.startswith("linear (256, 48, 80, True, 'float32', 'float32', False) threads=")
    assert backend in ("matmul", "onednn")
    assert list(tmp_path.joinpath("birefnet").iterdir()) == [path]  # no temporary file left behind

    # A new process (simulated): the file answers, nothing is measured, the file's pick is used.
    kernel_choice.forget()
    other = "matmul" if backend == "onednn" else "onednn"
    path.write_text(json.dumps({kernel_cache.machine_key(): {entry: other}}))
    assert linear_module.cpu_backend(x, weight, bias, False) == other
    assert len(measurements) == 1

    # Another machine's entries do not count.
    kernel_choice.forget()
    path.write_text(json.dumps({"some other CPU | torch 0.1": {entry: other}}))
    linear(x, weight, bias)
    assert len(measurements) == 2


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"m": {"e": 3}}', ""])
def test_corrupt_cache_file_is_ignored(tmp_path, monkeypatch, measurements, caplog, content):
    monkeypatch.setattr(kernel_choice, "STABLE", float("inf"))
    path = tmp_path / "birefnet" / "kernels.json"
    path.parent.mkdir()
    path.write_text(content)
    x, weight, bias = _inputs()
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"):
        torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    assert len(measurements) == 1
    assert any("ignoring" in r.message for r in caplog.records)
    assert kernel_cache.machine_key() in json.loads(path.read_text())  # replaced by a valid file


def test_cache_can_be_turned_off(tmp_path, monkeypatch, measurements):
    monkeypatch.setenv("BIREFNET_KERNEL_CACHE", "off")
    monkeypatch.setattr(kernel_choice, "STABLE", float("inf"))
    linear(*_inputs())
    assert len(measurements) == 1
    assert not (tmp_path / "birefnet").exists()


def test_unwritable_cache_folder_is_not_an_error(tmp_path, monkeypatch, measurements):
    monkeypatch.setattr(kernel_choice, "STABLE", float("inf"))
    (tmp_path / "birefnet").write_text("a file where the folder should be")
    x, weight, bias = _inputs()
    torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    assert len(measurements) == 1


def test_faster_candidate_wins_and_near_tie_keeps_default(monkeypatch):
    monkeypatch.setitem(kernel_choice.KERNEL_OPS, "op", ("a", "b"))
    timings = {}
    monkeypatch.setattr(
        kernel_choice, "measure", lambda candidates: {name: [timings[name]] * 5 for name in candidates}
    )
    candidates = lambda: {"a": lambda: None, "b": lambda: None}  # noqa: E731
    timings.update(a=2.0, b=1.0)
    assert kernel_choice.choose("op", ("k1",), ("a", "b"), "a", candidates) == "b"
    timings.update(a=1.0, b=2.0)
    assert kernel_choice.choose("op", ("k2",), ("a", "b"), "b", candidates) == "a"
    timings.update(a=1.01, b=1.0)
    assert kernel_choice.choose("op", ("k3",), ("a", "b"), "a", candidates) == "a"


def test_noisy_measurement_is_not_saved(tmp_path, monkeypatch):
    monkeypatch.setitem(kernel_choice.KERNEL_OPS, "op", ("a", "b"))
    monkeypatch.setattr(kernel_choice, "measure", lambda candidates: {"a": [1.0, 3.0], "b": [2.0, 2.0]})
    candidates = lambda: {"a": lambda: None, "b": lambda: None}  # noqa: E731
    assert kernel_choice.choose("op", ("k",), ("a", "b"), "b", candidates) == "a"
    assert not (tmp_path / "birefnet" / "kernels.json").exists()


def test_no_measurement_while_compiling(monkeypatch, measurements):
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert linear_module.cpu_backend(*_inputs(), False) == "onednn"
    assert measurements == []


def test_gradients_flow_through_a_measuring_call(measurements):
    x, weight, bias = (t.requires_grad_() for t in _inputs())
    linear(x, weight, bias).square().sum().backward()
    assert measurements, "the call should have measured"
    ours = (x.grad, weight.grad, bias.grad)
    x2, weight2, bias2 = (t.detach().clone().requires_grad_() for t in (x, weight, bias))
    F.linear(x2, weight2, bias2).square().sum().backward()
    for got, expected in zip(ours, (x2.grad, weight2.grad, bias2.grad), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("backend", ["matmul", "onednn"])
def test_deform_conv_contraction_backends_agree(backend, monkeypatch):
    monkeypatch.setenv("BIREFNET_DEFORM_CONV_BACKEND", backend)
    gen = torch.Generator().manual_seed(3)
    columns, kernel = torch.randn(2, 72, 500, generator=gen), torch.randn(16, 72, generator=gen)
    expected = torch.einsum("ok,nkp->nop", kernel.double(), columns.double()).float()
    torch.testing.assert_close(
        pointwise.channel_matmul(columns, kernel, "deform_conv"), expected, atol=1e-4, rtol=1e-5
    )


def test_deform_conv_contraction_is_measured_once(measurements):
    gen = torch.Generator().manual_seed(4)
    columns, kernel = torch.randn(1, 72, 500, generator=gen), torch.randn(16, 72, generator=gen)
    first = pointwise.channel_matmul(columns, kernel, "deform_conv")
    pointwise.channel_matmul(columns, kernel, "deform_conv")
    assert measurements == [["matmul", "onednn"]]
    torch.testing.assert_close(first[0], kernel @ columns[0], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("backend", ["matmul", "onednn"])
def test_pointwise_convolution_backends_equal_conv2d(backend, monkeypatch):
    monkeypatch.setenv("BIREFNET_POINTWISE_CONV_BACKEND", backend)
    gen = torch.Generator().manual_seed(5)
    x, weight, bias = (
        torch.randn(2, 24, 9, 13, generator=gen),
        torch.randn(8, 24, 1, 1, generator=gen),
        torch.randn(8),
    )
    expected = F.conv2d(x.double(), weight.double(), bias.double()).float()
    torch.testing.assert_close(pointwise.pointwise_conv2d(x, weight, bias), expected, atol=1e-4, rtol=1e-5)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(
        pointwise.pointwise_conv2d(channels_last, weight),
        expected - bias.view(-1, 1, 1),
        atol=1e-4,
        rtol=1e-5,
    )


def test_an_operation_missing_from_the_kernel_list_is_refused():
    candidates = lambda: {"a": lambda: None, "b": lambda: None}  # noqa: E731
    with pytest.raises(ValueError, match="KERNEL_OPS"):
        kernel_choice.choose("new_op", ("k",), ("a", "b"), "a", candidates)
    with pytest.raises(ValueError, match="KERNEL_OPS"):  # a backend added to a listed operation
        kernel_choice.choose("linear", ("k",), ("matmul", "onednn", "new"), "onednn", candidates)


def test_every_operation_that_picks_a_kernel_is_listed():
    """Each ``choose("<op>", ...)`` / ``channel_matmul(..., "<op>")`` call in the ops package names a listed op."""
    ops_dir = Path(kernel_choice.__file__).parent
    source = "\n".join(path.read_text() for path in ops_dir.glob("*.py"))
    named = set(re.findall(r'choose\(\s*"(\w+)"', source)) | set(
        re.findall(r'channel_matmul\([^)]*"(\w+)"\)', source)
    )
    assert named, "found no kernel choice in the ops package: the test looks in the wrong place"
    assert named <= set(kernel_choice.KERNEL_OPS), named - set(kernel_choice.KERNEL_OPS)


def test_fixed_cpu_kernels_fixes_every_listed_operation_and_restores_the_environment(monkeypatch):
    for op in kernel_choice.KERNEL_OPS:
        monkeypatch.delenv(kernel_choice.backend_variable(op), raising=False)
    monkeypatch.setenv("BIREFNET_LINEAR_BACKEND", "matmul")  # forced by the user: stays
    with kernel_choice.fixed_cpu_kernels("onednn"):
        picks = {
            op: kernel_choice.forced_backend(op, backends)
            for op, backends in kernel_choice.KERNEL_OPS.items()
        }
    assert picks == {op: "matmul" if op == "linear" else "onednn" for op in kernel_choice.KERNEL_OPS}
    assert os.environ["BIREFNET_LINEAR_BACKEND"] == "matmul"
    assert all(
        kernel_choice.backend_variable(op) not in os.environ
        for op in kernel_choice.KERNEL_OPS
        if op != "linear"
    )
