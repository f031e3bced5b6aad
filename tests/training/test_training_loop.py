"""The training loop: checkpoints load through birefnet.weights.load.load_model with equal logits, an interrupted
run resumes to exactly the uninterrupted result, and a 2-process gloo DDP run (torchrun) matches one
process with gradient accumulation on the same global batches. pvt_v2_b0 at 64x64, batch 2, few steps."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from testdata import REPO_ROOT
from torch import nn

from birefnet import BiRefNet, load_model
from birefnet.network.backbones import DropPath
from training.checkpoints import load_training_state, save_weights
from training.config import TrainConfig, parse_args, resolve_defaults
from training.distributed import setup_distributed
from training.model import build_model
from training.synthetic import write_thin_structure_dataset
from training.train import train

ROOT = REPO_ROOT


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    write_thin_structure_dataset(folder, 8, seed=5, size=64)
    return folder


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic_small")
    write_thin_structure_dataset(folder, 4, seed=6, size=64)
    return folder


def _config(dataset, out, **overrides) -> TrainConfig:
    base = dict(
        data_root=str(dataset),
        output_dir=str(out),
        train_split=".",
        backbone="pvt_v2_b0",
        size=(64, 64),
        batch_size=2,
        epochs=2,
        last_epochs=1,
        drop_path_rate=0.1,  # the reference's pvt_v2 rate: stochastic depth on in every run here
        progress=False,
        device="cpu",
    )
    base.update(overrides)
    return TrainConfig(**base)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


class _Compiled(nn.Module):
    """Stands in for torch.compile's wrapper (which keeps the model as ``_orig_mod``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._orig_mod = model


@pytest.mark.slow
def test_saved_weights_use_official_keys_and_load_with_equal_logits(tmp_path):
    torch.manual_seed(0)
    model = BiRefNet("pvt_v2_b0").train()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        model(x)  # moves the BatchNorm statistics away from their initial values
    path = save_weights(_Compiled(model), tmp_path / "w.safetensors")
    assert sorted(load_file(path)) == sorted(model.state_dict())
    assert not list(tmp_path.glob(".*tmp"))
    model.eval()
    loaded = load_model(path)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_uninterrupted_result(small_dataset, tmp_path):
    # 4 samples, batch 2: 2 steps per epoch, 2 epochs, the second with the last-epochs loss switch.
    # The interrupted run stops in the middle of epoch 1.
    full = train(_config(small_dataset, tmp_path / "full"))
    part = train(_config(small_dataset, tmp_path / "part", max_steps=1))
    assert part["stopped_early"] and part["steps"] == 1
    resumed = train(_config(small_dataset, tmp_path / "part"))
    assert resumed["steps"] == full["steps"] == 4 and not resumed["stopped_early"]
    full_log, part_log = _log(tmp_path / "full"), _log(tmp_path / "part")
    assert [r["loss"] for r in part_log] == [r["loss"] for r in full_log]
    assert "bce" in full_log[1] and "bce" not in full_log[2]  # BCE weight 0 in the switched epoch
    # Stochastic depth was active: without it the first step's loss differs.
    train(_config(small_dataset, tmp_path / "no_drop_path", max_steps=1, drop_path_rate=0.0))
    assert _log(tmp_path / "no_drop_path")[0]["loss"] != full_log[0]["loss"]
    a = load_training_state(tmp_path / "full" / "training_state.pt")
    b = load_training_state(tmp_path / "part" / "training_state.pt")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    final_a = load_file(tmp_path / "full" / "weights" / "epoch_0002.safetensors")
    final_b = load_file(tmp_path / "part" / "weights" / "epoch_0002.safetensors")
    assert all(torch.equal(final_a[k], final_b[k]) for k in final_a)
    # The epoch-1 weights file loads through load_model and matches the state it came from.
    weights = tmp_path / "full" / "weights" / "epoch_0001.safetensors"
    assert sorted(load_file(weights)) == sorted(a["model"])
    model = load_model(weights)
    reference = BiRefNet("pvt_v2_b0")
    reference.load_state_dict(load_file(weights))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference.eval()(x), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_two_process_ddp_matches_one_process_with_accumulation(dataset, tmp_path):
    args = [
        f"--data-root={dataset}",
        "--train-split=.",
        "--backbone=pvt_v2_b0",
        "--size=64",
        "--batch-size=2",
        "--epochs=1",
        "--last-epochs=1",
        "--drop-path-rate=0.1",
        "--device=cpu",
        "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    command += ["-m", "training.train", f"--output-dir={tmp_path / 'ddp'}", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    torch.set_num_threads(1)
    try:
        single = train(_config(dataset, tmp_path / "single", epochs=1, grad_accum=2))
    finally:
        torch.set_num_threads(os.cpu_count() or 1)
    ddp_log, single_log = _log(tmp_path / "ddp"), _log(tmp_path / "single")
    assert len(ddp_log) == len(single_log) == 2
    for d, s in zip(ddp_log, single_log, strict=True):
        assert d["loss"] == pytest.approx(s["loss"], rel=1e-5)
    written = sorted(p.name for p in (tmp_path / "ddp").rglob("*") if p.is_file())
    assert written == ["epoch_0001.safetensors", "train_log.jsonl", "training_state.pt"]
    ddp_weights = load_file(tmp_path / "ddp" / "weights" / "epoch_0001.safetensors")
    single_weights = load_file(Path(single["weights"][0]))
    # Parameters follow the same averaged gradients; BatchNorm running statistics differ by design (each
    # DDP rank tracks its own micro-batches, rank 0's are saved; one process tracks all of them).
    parameters = [name for name, _ in BiRefNet("pvt_v2_b0").named_parameters()]
    assert set(parameters) < set(single_weights) == set(ddp_weights)
    for key in parameters:
        torch.testing.assert_close(ddp_weights[key], single_weights[key], rtol=1e-4, atol=1e-5, msg=key)
    torch.manual_seed(0)  # the runs' initial weights (seed 0): training moved them
    initial = BiRefNet("pvt_v2_b0").state_dict()["decoder.conv_out1.0.weight"]
    assert (ddp_weights["decoder.conv_out1.0.weight"] - initial).abs().max() > 1e-6


@pytest.mark.slow
def test_auxiliary_classification_head_trains_on_dis5k_class_names(dataset, tmp_path):
    # DIS5K-style names carry the class ("group#Group#class#Class#id"): two classes here.
    root = tmp_path / "dis"
    (root / "im").mkdir(parents=True)
    (root / "gt").mkdir()
    for i, image in enumerate(sorted((Path(dataset) / "im").iterdir())[:4]):
        stem = f"1#Things#{i % 2}#{'Bag' if i % 2 else 'Kite'}#{i}"
        (root / "im" / f"{stem}{image.suffix}").write_bytes(image.read_bytes())
        mask = next((Path(dataset) / "gt").glob(f"{image.stem}.*"))
        (root / "gt" / f"{stem}{mask.suffix}").write_bytes(mask.read_bytes())
    out = tmp_path / "run"
    train(_config(root, out, aux_classification=True, epochs=1, last_epochs=0))
    log = _log(out)
    assert all(entry["classification"] > 0 for entry in log if "classification" in entry)
    assert any("classification" in entry for entry in log)
    weights = load_file(str(next((out / "weights").glob("*.safetensors"))))
    assert tuple(weights["cls_head.0.weight"].shape) == (2, 512)  # pvt_v2_b0: x4 has 2 * 256 channels
    model = load_model(out / "weights" / next((out / "weights").glob("*.safetensors")).name)
    assert model.cls_head is not None and model.cls_head[0].out_features == 2
    model.train()
    output = model(torch.randn(2, 3, 64, 64))
    assert output.class_logits.shape == (2, 2)


def test_auxiliary_classification_needs_class_names(dataset, tmp_path):
    from birefnet.errors import BiRefNetError

    with pytest.raises(BiRefNetError, match="aux-classification"):
        train(_config(dataset, tmp_path / "run", aux_classification=True, epochs=1, last_epochs=0))


def test_size_and_drop_path_rate_default_to_the_preset_and_backbone():
    config = resolve_defaults(TrainConfig("data", "out", preset="General-2K", backbone="swin_v1_t"))
    assert (config.size, config.drop_path_rate) == ((2560, 1440), 0.2)
    config = resolve_defaults(
        TrainConfig("data", "out", backbone="pvt_v2_b2", size=(512, 256), drop_path_rate=0)
    )
    assert (config.size, config.drop_path_rate) == ((512, 256), 0)
    assert resolve_defaults(TrainConfig("data", "out", backbone="pvt_v2_b0")).drop_path_rate == 0.1
    parsed = parse_args(["--data-root=d", "--output-dir=o", "--drop-path-rate=0.3", "--preset=General-2K"])
    assert (parsed.drop_path_rate, parsed.size, parsed.preset) == (0.3, None, "General-2K")


def test_size_flags_parse_with_birefnet_parse_size(capsys):
    parsed = parse_args(["--data-root=d", "--output-dir=o", "--size=1280x720", "--dynamic-size=256,2304"])
    assert (parsed.size, parsed.dynamic_size) == ((1280, 720), (256, 2304))
    # Any positive size parses; multiples of 32 are checked when the run starts (``check_config``).
    assert parse_args(["--data-root=d", "--output-dir=o", "--size=100"]).size == (100, 100)
    with pytest.raises(SystemExit):
        parse_args(["--data-root=d", "--output-dir=o", "--size=big"])
    assert "Cannot read --size 'big'" in capsys.readouterr().err


def test_drop_path_rate_reaches_the_encoder(tmp_path, tiny_checkpoint):
    context = setup_distributed("cpu")
    fresh = build_model(_config("d", tmp_path, drop_path_rate=0.05), context)
    loaded = build_model(
        _config("d", tmp_path, drop_path_rate=0.05, init_checkpoint=str(tiny_checkpoint)), context
    )
    for model in (fresh, loaded):
        probs = [m.drop_prob for m in model.modules() if isinstance(m, DropPath)]
        assert probs == pytest.approx([0.05 * i / 7 for i in range(8)]) and model.training
