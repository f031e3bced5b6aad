"""CPU kernel choice by a trial of real calls: both backends give the reference logits, the trial alternates the
backends and picks the one faster in total (fake clock), the choice is remembered (in the process and in the
cache file), a corrupt cache file is ignored, the environment variables force a backend."""

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
from birefnet.network.ops import kernel_cache, kernel_choice, kernel_evidence, pointwise
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


class FakeClock:
    """A clock that advances by ``cost[backend]`` seconds whenever a backend runs (set by ``timed``)."""

    def __init__(self):
        self.now = 0.0
        self.cost = {"matmul": 1.0, "onednn": 1.0}

    def __call__(self):
        return self.now

    def timed(self, backend, run):
        def call(*args):
            self.now += self.cost[backend]
            return run(*args)

        return call


@pytest.fixture
def clock(monkeypatch):
    """A fake clock; every backend of linear and channel_matmul advances it by its ``cost`` per call, and
    ``clock.ran`` lists the backends in call order."""
    fake = FakeClock()
    fake.ran = []
    monkeypatch.setattr(kernel_choice, "_clock", fake)
    real_run = kernel_choice.run_chosen

    def recording(op, group, layer, size, default, candidates):
        wrapped = {
            name: (lambda name=name, run=run: fake.ran.append(name) or fake.timed(name, run)())
            for name, run in candidates.items()
        }
        return real_run(op, group, layer, size, default, wrapped)

    monkeypatch.setattr(linear_module, "run_chosen", recording)
    monkeypatch.setattr(pointwise, "run_chosen", recording)
    return fake


def _trial_calls(shapes=6, calls_per_shape=4, features=48, out=80):
    """Inputs for linear calls of ``shapes`` row counts, each ``calls_per_shape`` times."""
    return [_inputs(rows=100 + 10 * i, features=features, out=out) for i in range(shapes)] * calls_per_shape


def _fp32_linear_entry():
    """The kernel-choice entry of float32 linear calls (no autocast) at this thread count."""
    return f"linear ('float32', 'float32', False) threads={torch.get_num_threads()}"


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
def test_env_var_forces_linear_backend(backend, monkeypatch, clock):
    monkeypatch.setenv("BIREFNET_LINEAR_BACKEND", backend)
    x, weight, bias = _inputs()
    for _ in range(5):
        torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    assert clock.ran == [backend] * 5
    assert kernel_choice._trials == {}


def test_env_var_rejects_unknown_backend(monkeypatch):
    monkeypatch.setenv("BIREFNET_LINEAR_BACKEND", "mkl")
    x, weight, bias = _inputs()
    with pytest.raises(BiRefNetError, match="BIREFNET_LINEAR_BACKEND='mkl'.*auto, matmul, onednn"):
        linear(x, weight, bias)


@pytest.mark.parametrize(("cost", "expected"), [((1.0, 2.0), "matmul"), ((2.0, 1.0), "onednn")])
def test_trial_alternates_per_shape_and_keeps_the_faster_in_total(clock, caplog, cost, expected):
    clock.cost.update(matmul=cost[0], onednn=cost[1])
    calls = _trial_calls()
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"):
        for x, weight, bias in calls:
            torch.testing.assert_close(
                linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5
            )
    # Per shape: onednn (the default), matmul, matmul, onednn; the trial ends after the 4th round (6 shapes
    # timed on both, 64 calls not reached but 0.6 s timed).
    assert clock.ran[:12] == ["onednn"] * 6 + ["matmul"] * 6
    assert clock.ran[12:24] == ["matmul"] * 6 + ["onednn"] * 6
    assert kernel_choice._trials == {}
    x, weight, bias = calls[0]
    linear(x, weight, bias)
    assert clock.ran[-1] == expected
    assert any(
        "linear ('float32', 'float32', False)" in r.message and "trial of 24" in r.message
        for r in caplog.records
    )


def test_near_tie_keeps_the_default(clock):
    clock.cost.update(matmul=1.0, onednn=1.02)
    for x, weight, bias in _trial_calls():
        linear(x, weight, bias)
    linear(*_inputs())
    assert clock.ran[-1] == "onednn"


def test_first_call_of_a_shape_on_a_backend_is_not_timed(clock):
    """A slow first call (oneDNN building its kernel) must not decide: only the later calls count."""
    first_calls = []

    def cost_of_onednn():
        first_calls.append(1)
        return 100.0 if len(first_calls) <= 6 else 1.0

    clock.cost = type(
        "Costs", (dict,), {"__getitem__": lambda self, k: cost_of_onednn() if k == "onednn" else 2.0}
    )()
    for x, weight, bias in _trial_calls():
        linear(x, weight, bias)
    linear(*_inputs())
    assert clock.ran[-1] == "onednn"


def test_cache_file_round_trips(tmp_path, clock):
    clock.cost.update(matmul=1.0, onednn=2.0)
    for x, weight, bias in _trial_calls():
        linear(x, weight, bias)
    path = tmp_path / "birefnet" / "kernels.json"
    entries = json.loads(path.read_text())[kernel_cache.machine_key()]
    assert entries == {_fp32_linear_entry(): "matmul"}
    assert list(tmp_path.joinpath("birefnet").iterdir()) == [path]  # no temporary file left behind

    # A new process (simulated): the file answers, no trial, the file's pick is used.
    kernel_choice.forget()
    ((entry, _),) = entries.items()
    path.write_text(json.dumps({kernel_cache.machine_key(): {entry: "onednn"}}))
    clock.ran.clear()
    for x, weight, bias in _trial_calls(calls_per_shape=1):
        linear(x, weight, bias)
    assert clock.ran == ["onednn"] * 6 and kernel_choice._trials == {}

    # Another machine's entries do not count: a trial runs.
    kernel_choice.forget()
    path.write_text(json.dumps({"some other CPU | torch 0.1": {entry: "onednn"}}))
    clock.ran.clear()
    for x, weight, bias in _trial_calls(calls_per_shape=2):
        linear(x, weight, bias)
    assert "matmul" in clock.ran


def test_evidence_whose_halves_disagree_is_not_saved(tmp_path, clock):
    """Shapes 0, 2, 4 say matmul, shapes 1, 3, 5 say onednn (a busy machine): used, not saved."""
    calls = _trial_calls()
    row_counts = [x.shape[0] for x, _, _ in calls[:6]]

    def costs(backend):
        parity_ = row_counts.index(current[0]) % 2
        return 1.0 if (backend == "matmul") == (parity_ == 0) else 3.0

    current = [0]
    clock.cost = type("Costs", (dict,), {"__getitem__": lambda self, k: costs(k)})()
    for x, weight, bias in calls:
        current[0] = x.shape[0]
        linear(x, weight, bias)
    assert kernel_choice._chosen and kernel_choice._trials == {}
    assert not (tmp_path / "birefnet" / "kernels.json").exists()


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"m": {"e": 3}}', ""])
def test_corrupt_cache_file_is_ignored(tmp_path, clock, caplog, content):
    path = tmp_path / "birefnet" / "kernels.json"
    path.parent.mkdir()
    path.write_text(content)
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"):
        for x, weight, bias in _trial_calls():
            torch.testing.assert_close(
                linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5
            )
    assert any("ignoring" in r.message for r in caplog.records)
    assert kernel_cache.machine_key() in json.loads(path.read_text())  # replaced by a valid file


def test_cache_can_be_turned_off(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("BIREFNET_KERNEL_CACHE", "off")
    for x, weight, bias in _trial_calls():
        linear(x, weight, bias)
    assert kernel_choice._chosen and not (tmp_path / "birefnet").exists()


def test_unwritable_cache_folder_is_not_an_error(tmp_path, clock):
    (tmp_path / "birefnet").write_text("a file where the folder should be")
    for x, weight, bias in _trial_calls():
        torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    assert kernel_choice._chosen


def test_shapes_that_never_repeat_keep_the_default(clock, monkeypatch):
    monkeypatch.setattr(kernel_choice, "MAX_TRIAL_CALLS", 20)
    clock.cost.update(matmul=1.0, onednn=5.0)
    for i in range(20):
        linear(*_inputs(rows=100 + i))
    assert kernel_choice._trials == {} and set(clock.ran) == {"onednn"}


def test_no_trial_while_compiling(monkeypatch, clock):
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    for x, weight, bias in _trial_calls(calls_per_shape=2):
        linear(x, weight, bias)
    assert set(clock.ran) == {"onednn"} and kernel_choice._trials == {}


def test_gradients_flow_through_trial_calls():
    for x, weight, bias in _trial_calls(calls_per_shape=2):
        x, weight, bias = (t.clone().requires_grad_() for t in (x, weight, bias))
        linear(x, weight, bias).square().sum().backward()
        x2, weight2, bias2 = (t.detach().clone().requires_grad_() for t in (x, weight, bias))
        F.linear(x2, weight2, bias2).square().sum().backward()
        for got, expected in zip(
            (x.grad, weight.grad, bias.grad), (x2.grad, weight2.grad, bias2.grad), strict=True
        ):
            torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-5)
    assert kernel_choice._trials, "the calls should have been trial calls"


@pytest.mark.parametrize("backend", ["matmul", "onednn"])
def test_deform_conv_contraction_backends_agree(backend, monkeypatch):
    monkeypatch.setenv("BIREFNET_DEFORM_CONV_BACKEND", backend)
    gen = torch.Generator().manual_seed(3)
    columns, kernel = torch.randn(2, 72, 500, generator=gen), torch.randn(16, 72, generator=gen)
    expected = torch.einsum("ok,nkp->nop", kernel.double(), columns.double()).float()
    torch.testing.assert_close(
        pointwise.channel_matmul(columns, kernel, "deform_conv"), expected, atol=1e-4, rtol=1e-5
    )


def test_deform_conv_trial_calls_use_both_backends_with_one_result(clock):
    gen = torch.Generator().manual_seed(4)
    columns, kernel = torch.randn(1, 72, 500, generator=gen), torch.randn(16, 72, generator=gen)
    results = [pointwise.channel_matmul(columns, kernel, "deform_conv") for _ in range(4)]
    assert clock.ran == ["onednn", "matmul", "matmul", "onednn"]
    for result in results:
        torch.testing.assert_close(result[0], kernel @ columns[0], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("backend", ["matmul", "onednn"])
def test_pointwise_convolution_adds_into_a_channel_slice(backend, monkeypatch):
    monkeypatch.setenv("BIREFNET_POINTWISE_CONV_BACKEND", backend)
    gen = torch.Generator().manual_seed(5)
    x, weight = torch.randn(2, 24, 9, 13, generator=gen), torch.randn(8, 24, 1, 1, generator=gen)
    buffer = torch.randn(2, 11, 9, 13, generator=gen)
    expected = buffer.double()
    expected[:, :8] += F.conv2d(x.double(), weight.double())
    result = pointwise.pointwise_conv2d_add_(buffer[:, :8], x, weight)
    assert result.data_ptr() == buffer.data_ptr()
    torch.testing.assert_close(buffer, expected.float(), atol=1e-4, rtol=1e-5)
    channels_last = torch.zeros(2, 8, 9, 13).contiguous(memory_format=torch.channels_last)  # no addmm_ view
    pointwise.pointwise_conv2d_add_(channels_last, x, weight)
    conv = F.conv2d(x.double(), weight.double()).float()
    torch.testing.assert_close(channels_last, conv, atol=1e-4, rtol=1e-5)


def test_pointwise_trial_calls_use_both_backends_with_one_result(clock):
    gen = torch.Generator().manual_seed(6)
    x, weight = torch.randn(1, 24, 9, 13, generator=gen), torch.randn(8, 24, 1, 1, generator=gen)
    results = [pointwise.pointwise_conv2d_add_(torch.ones(1, 8, 9, 13), x, weight) for _ in range(4)]
    assert clock.ran == ["matmul", "onednn", "onednn", "matmul"]  # matmul is its default
    for result in results:
        torch.testing.assert_close(result, 1 + F.conv2d(x, weight), atol=1e-4, rtol=1e-5)


def test_an_operation_missing_from_the_kernel_list_is_refused():
    candidates = {"a": lambda: None, "b": lambda: None}
    with pytest.raises(ValueError, match="KERNEL_OPS"):
        kernel_choice.run_chosen("new_op", (), ("k",), (1,), "a", candidates)
    with pytest.raises(ValueError, match="KERNEL_OPS"):  # a backend added to a listed operation
        kernel_choice.run_chosen(
            "linear",
            (),
            ("k",),
            (1,),
            "onednn",
            {"matmul": lambda: None, "onednn": lambda: None, "new": lambda: None},
        )


def test_every_operation_that_picks_a_kernel_is_listed():
    """Each ``run_chosen("<op>", ...)`` / ``channel_matmul(..., "<op>")`` call in the ops package names a listed
    op."""
    ops_dir = Path(kernel_choice.__file__).parent
    source = "\n".join(path.read_text() for path in ops_dir.glob("*.py"))
    named = set(re.findall(r'run_chosen\(\s*"(\w+)"', source)) | set(
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


def test_trial_cost_is_the_losing_calls_time_beyond_the_winner(clock, caplog):
    """6 shapes, each run twice on onednn (2 s) and twice on matmul (1 s): the trial cost 6 * 2 * 1 s more."""
    clock.cost.update(matmul=1.0, onednn=2.0)
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"):
        for x, weight, bias in _trial_calls():
            linear(x, weight, bias)
    assert kernel_choice.current_choices() == {_fp32_linear_entry(): "matmul"}
    assert any("cost about 12000 ms more" in r.message for r in caplog.records)


def _shape_costs(clock, costs):
    """Let each call cost ``costs(rows, backend)`` seconds on the fake clock (rows: the input's row count)."""
    current = [0]
    clock.cost = type("Costs", (dict,), {"__getitem__": lambda self, backend: costs(current[0], backend)})()

    def call(x, weight, bias):
        current[0] = x.shape[0]
        return linear(x, weight, bias)

    return call


def _one_pass(call, calls):
    with kernel_choice.model_pass():
        for x, weight, bias in calls:
            call(x, weight, bias)


def test_a_trial_inside_model_passes_weighs_every_shape_of_the_pass(clock, caplog, monkeypatch):
    """A pass whose first shapes run slightly faster on onednn but whose later, more frequent shapes run
    faster on matmul: the trial waits for the whole pass (outside passes it would have ended after the first
    shapes and kept onednn) and ends with the second pass, picking matmul."""
    early = _trial_calls(shapes=6, calls_per_shape=4)  # rows 100..150: onednn 1.0 s, matmul 1.2 s
    late = [_inputs(rows=500 + 10 * i) for i in range(4)] * 18  # rows 500..530: onednn 2.0 s, matmul 1.0 s
    call = _shape_costs(
        clock,
        lambda rows, backend: (
            {"onednn": 1.0, "matmul": 1.2}[backend] if rows < 500 else {"onednn": 2.0, "matmul": 1.0}[backend]
        ),
    )
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"):
        _one_pass(call, early + late)
        assert kernel_choice._trials, "the trial must not end inside the first pass"
        _one_pass(call, early + late)
    assert kernel_choice._trials == {}
    assert set(kernel_choice.current_choices().values()) == {"matmul"}
    assert any("trial of 192 calls in 2 model passes" in r.message for r in caplog.records)

    # The same calls outside passes (the saved choice set aside): the trial ends on the early shapes and
    # keeps onednn.
    monkeypatch.setenv("BIREFNET_KERNEL_CACHE", "off")
    kernel_choice.forget()
    for x, weight, bias in early + late:
        call(x, weight, bias)
    assert set(kernel_choice.current_choices().values()) == {"onednn"}


def test_shapes_called_once_per_pass_are_decided_after_four_passes(clock):
    clock.cost.update(matmul=1.0, onednn=2.0)
    calls = _trial_calls(shapes=3, calls_per_shape=1)
    for passes in range(1, 5):
        assert kernel_choice._trials or passes == 1
        _one_pass(linear, calls)
    assert kernel_choice._trials == {}
    assert set(kernel_choice.current_choices().values()) == {"matmul"}
    assert clock.ran == ["onednn"] * 3 + ["matmul"] * 6 + ["onednn"] * 3


def test_a_pass_that_raises_does_not_count_and_nested_passes_count_once(clock):
    clock.cost.update(matmul=1.0, onednn=2.0)
    calls = _trial_calls(calls_per_shape=4)
    with kernel_choice.model_pass():
        _one_pass(linear, calls)  # nested: still the first pass
    assert kernel_choice._trials
    with pytest.raises(KeyboardInterrupt), kernel_choice.model_pass():
        for x, weight, bias in calls:
            linear(x, weight, bias)
        raise KeyboardInterrupt
    assert kernel_choice._trials, "an interrupted pass must not end the trial"
    _one_pass(linear, calls)
    assert kernel_choice._trials == {}


def test_steady_evidence_with_different_winners_per_shape_is_saved(tmp_path, clock):
    """Early shapes favour onednn, late ones matmul, every call of a shape costs the same: both halves of the
    samples agree, so the choice is saved (halves of alternate shapes would have disagreed)."""
    calls = [_inputs(rows=100 + 10 * i) for i in range(6)] * 8
    call = _shape_costs(
        clock,
        lambda rows, backend: (
            (1.0 if backend == "onednn" else 1.5) if rows % 20 == 0 else (1.8 if backend == "onednn" else 1.0)
        ),
    )
    for _ in range(2):
        _one_pass(call, calls)
    entries = json.loads((tmp_path / "birefnet" / "kernels.json").read_text())[kernel_cache.machine_key()]
    assert set(entries.values()) == {"matmul"}


def test_samples_whose_halves_disagree_are_not_saved(tmp_path, clock):
    """A busy machine: every other timed matmul call of a shape is slow, so one half of the samples says
    matmul and the other onednn; the choice is used, not saved."""
    matmul_calls: dict[int, int] = {}

    def costs(rows, backend):
        if backend == "onednn":
            return 2.0
        matmul_calls[rows] = matmul_calls.get(rows, 0) + 1  # the 1st is not timed: samples 0, 2, ... fast
        return 1.0 if matmul_calls[rows] % 2 == 0 else 4.0

    call = _shape_costs(clock, costs)
    calls = _trial_calls(shapes=2, calls_per_shape=8)
    for _ in range(2):
        _one_pass(call, calls)
    assert kernel_choice._chosen and kernel_choice._trials == {}
    assert not (tmp_path / "birefnet" / "kernels.json").exists()


def test_an_eval_forward_of_the_model_is_one_pass(clock, fresh_tiny_model, caplog):
    clock.cost.update(matmul=1.0, onednn=2.0)
    x = torch.rand(1, 3, 64, 64)
    with caplog.at_level(logging.DEBUG, logger="birefnet.kernels"), torch.inference_mode():
        fresh_tiny_model(x)
        assert "linear" in " ".join(kernel_choice._trials)
        fresh_tiny_model(x)
    assert not any(entry.startswith("linear") for entry in kernel_choice._trials)
    assert any(r.message.startswith("linear") and "in 2 model passes" in r.message for r in caplog.records)


# The weight shape (out, in, bias) of _layer_b's calls; _inputs' calls have (80, 48, True).
LAYER_B = (32, 64, True)


def _layer_b(rows):
    """Inputs of one linear call of a second layer (LAYER_B) with ``rows`` tokens."""
    return _inputs(rows=rows, features=LAYER_B[1], out=LAYER_B[0])


def _two_layer_calls(layer_b_rows, rounds):
    """``rounds`` times: layer A at rows 100, 110, ..., 140, then layer B at each of ``layer_b_rows``."""
    return (
        [_inputs(rows=100 + 10 * i) for i in range(5)] + [_layer_b(rows) for rows in layer_b_rows]
    ) * rounds


def test_a_layer_far_faster_on_the_other_backend_keeps_it_for_every_token_count(tmp_path, clock):
    """Layer A (rows 100-140) runs a little faster on onednn. Layer B's rows 150 runs 4x faster on matmul, its
    rows 160 1.25x: counted in, layer B would make matmul win in total; instead onednn is the operation's
    backend and layer B keeps matmul, at rows 160 too, and at a token count the trial never saw, in this process
    and, from the cache file, in the next one. A layer the trial never saw uses the operation's backend."""
    calls = _two_layer_calls((150, 160), rounds=4)
    costs = {150: {"onednn": 8.0, "matmul": 2.0}, 160: {"onednn": 1.5, "matmul": 1.2}}
    call = _shape_costs(clock, lambda rows, backend: costs.get(rows, {"onednn": 1.0, "matmul": 1.1})[backend])
    for _ in range(2):
        _one_pass(call, calls)
    entry = _fp32_linear_entry()
    layer = kernel_choice.layer_entry(entry, LAYER_B)
    assert kernel_choice.current_choices() == {entry: "onednn", layer: "matmul"}
    saved = json.loads((tmp_path / "birefnet" / "kernels.json").read_text())[kernel_cache.machine_key()]
    assert saved == {entry: "onednn", layer: "matmul"}

    for remembered in ("process", "file"):
        if remembered == "file":
            kernel_choice.forget()
        clock.ran.clear()
        for x, weight, bias in calls[:7]:
            call(x, weight, bias)
        assert clock.ran == ["onednn"] * 5 + ["matmul"] * 2, remembered
        for inputs, backend in ((_layer_b(999), "matmul"), (_inputs(rows=999), "onednn")):
            linear(*inputs)  # a token count the trial never saw: the layer's backend
            assert clock.ran[-1] == backend, remembered
        linear(*_inputs(rows=999, features=16, out=8))  # a layer the trial never saw: the operation's backend
        assert clock.ran[-1] == "onednn", remembered


def test_a_layer_slower_in_total_on_its_outlier_backend_keeps_no_backend_of_its_own(clock):
    """Layer B's rows 150 runs 4x faster on matmul, but its rows 160 runs 10x faster on onednn and weighs more:
    layer B keeps no backend of its own and counts in the operation's totals (onednn)."""
    calls = _two_layer_calls((150, 160), rounds=4)
    costs = {150: {"onednn": 8.0, "matmul": 2.0}, 160: {"onednn": 1.0, "matmul": 10.0}}
    call = _shape_costs(clock, lambda rows, backend: costs.get(rows, {"onednn": 1.0, "matmul": 1.1})[backend])
    for _ in range(2):
        _one_pass(call, calls)
    assert kernel_choice.current_choices() == {_fp32_linear_entry(): "onednn"}


@pytest.mark.parametrize(
    ("matmul_costs", "own"), [((2.0, 4.0), True), ((2.0, 5.0), False), ((5.0, 5.0), False)]
)
def test_a_layer_keeps_its_own_backend_only_when_every_call_was_far_faster(clock, matmul_costs, own):
    """Layer B (rows 150, its only shape) costs 9 s per onednn call; its two timed matmul calls cost
    ``matmul_costs``: only when the slower of them is still OUTLIER (2x) times faster than onednn's fastest (4 s:
    2.25x; 5 s: 1.8x) does the layer keep matmul. Otherwise it counts in the totals, and makes matmul the
    operation's backend."""
    assert kernel_evidence.OUTLIER == 2.0
    matmul_calls = []

    def costs(rows, backend):
        if rows != 150:
            return {"onednn": 1.0, "matmul": 1.1}[backend]
        if backend == "onednn":
            return 9.0
        matmul_calls.append(rows)
        return (0.0, *matmul_costs)[len(matmul_calls) - 1]  # the first call is not timed

    call = _shape_costs(clock, costs)
    for _ in range(2):
        _one_pass(call, _two_layer_calls((150,), rounds=3))
    assert len(matmul_calls) == 3
    entry = _fp32_linear_entry()
    layer = kernel_choice.layer_entry(entry, LAYER_B)
    expected = {entry: "onednn", layer: "matmul"} if own else {entry: "matmul"}
    assert kernel_choice.current_choices() == expected
