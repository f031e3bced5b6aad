"""load_model: file formats, dtypes, prefixes, buffers, shape inference and clear errors."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from safetensors.torch import load_file, save_file
from testdata import PARITY_DIR

from birefnet import BiRefNet, BiRefNetError, load_model
from birefnet.weights import files
from birefnet.weights.files import infer_backbone, read_state_dict, strip_prefixes

X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def reference(tiny_state_dict):
    """Logits of a model built by hand from the state dict."""
    model = BiRefNet("pvt_v2_b0")
    model.load_state_dict(tiny_state_dict)
    with torch.inference_mode():
        return model.eval()(X)


def logits(model):
    with torch.inference_mode():
        return model(X.to(next(model.parameters()).dtype)).float()


@pytest.mark.parametrize("suffix", [".safetensors", ".pth", ".pt", ".bin"])
def test_every_file_format_gives_the_same_logits(tmp_path, tiny_state_dict, reference, suffix):
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(tiny_state_dict, str(path))
    else:
        torch.save(tiny_state_dict, path)
    model = load_model(path)
    assert not model.training
    assert model.backbone_name == "pvt_v2_b0"
    assert model.patch_order == "current"
    torch.testing.assert_close(logits(model), reference)


def test_state_dict_nested_under_a_state_dict_key(tmp_path, tiny_state_dict, reference):
    path = tmp_path / "trainer.pth"
    torch.save({"state_dict": tiny_state_dict, "epoch": 3}, path)
    torch.testing.assert_close(logits(load_model(path)), reference)


@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_wrapper_prefixes_are_stripped(tiny_state_dict, reference, prefix):
    model = load_model({prefix + k: v for k, v in tiny_state_dict.items()})
    torch.testing.assert_close(logits(model), reference)


def test_strip_prefixes_by_hand():
    t = torch.zeros(1)
    assert list(strip_prefixes({"module.bb.x": t, "_orig_mod.decoder.y": t, "bb.z": t})) == [
        "bb.x",
        "decoder.y",
        "bb.z",
    ]


@pytest.mark.parametrize("file_dtype", [torch.float16, torch.bfloat16])
def test_half_precision_files_load_as_fp32_by_default(tmp_path, tiny_state_dict, reference, file_dtype):
    half = {k: v.to(file_dtype) if v.is_floating_point() else v for k, v in tiny_state_dict.items()}
    path = tmp_path / "half.safetensors"
    save_file(half, str(path))
    model = load_model(path)
    assert next(model.parameters()).dtype == torch.float32
    # Rounding the weights to 8 (bf16) or 11 (fp16) significant bits moves the logits only a little.
    tol = 0.1 if file_dtype == torch.bfloat16 else 0.02
    assert (logits(model) - reference).abs().max() < tol * reference.abs().max()


@pytest.mark.parametrize("dtype", ["bf16", torch.bfloat16])
def test_dtype_argument_sets_the_parameter_dtype(tiny_state_dict, reference, dtype):
    model = load_model(tiny_state_dict, dtype=dtype)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert ((logits(model) > 0) == (reference > 0)).float().mean() > 0.95


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_reading_with_a_dtype_converts_every_float_tensor_as_read(
    tmp_path, tiny_state_dict, suffix, monkeypatch
):
    """What load_model(dtype=...) reads: the same keys, floats converted as .to() does,
    integer buffers unchanged; safetensors files are read in several groups of tensors (a 1 MiB group here)."""
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(tiny_state_dict, str(path))
        monkeypatch.setattr(files, "_CONVERT_GROUP_BYTES", 1 << 20)
        want = load_file(str(path))
    else:
        torch.save(tiny_state_dict, path)
        want = torch.load(path, weights_only=True)
    assert sum(v.numel() * v.element_size() for v in want.values()) > 3 << 20  # at least 4 groups
    got = read_state_dict(path, torch.bfloat16)
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        expected = value.to(torch.bfloat16) if value.is_floating_point() else value
        assert got[key].dtype == expected.dtype and torch.equal(got[key], expected), key
    assert any(not v.is_floating_point() for v in got.values())
    assert read_state_dict(path).keys() == want.keys()


def test_missing_relative_position_index_is_rebuilt():
    torch.manual_seed(0)
    model = BiRefNet("swin_v1_t").eval()
    full = model.state_dict()
    slim = {
        k: v for k, v in full.items() if not k.endswith(("relative_position_index", "num_batches_tracked"))
    }
    assert len(slim) < len(full)
    loaded = load_model(slim)
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, full[key]), key


@pytest.mark.parametrize(
    "backbone",
    ["swin_v1_t", "swin_v1_s", "swin_v1_b", "swin_v1_l", "pvt_v2_b0", "pvt_v2_b1", "pvt_v2_b2", "pvt_v2_b5"],
)
def test_backbone_is_inferred_from_the_official_keys(backbone):
    manifest = json.loads((PARITY_DIR / f"official_state_dict_{backbone}.json").read_text())
    fake = {k: torch.empty(m["shape"], device="meta") for k, m in manifest.items()}
    assert infer_backbone(fake) == backbone


def test_patch_order_argument_is_kept(tiny_state_dict):
    assert load_model(tiny_state_dict, patch_order="legacy").patch_order == "legacy"
    with pytest.raises(BiRefNetError, match="patch order"):
        load_model(tiny_state_dict, patch_order="sideways")


def test_known_release_file_takes_its_patch_order_from_the_registry(tmp_path, tiny_state_dict):
    # A file named like a release from before 2024-11 uses the legacy order; an unknown name the current one.
    save_file(tiny_state_dict, str(tmp_path / "BiRefNet-portrait.safetensors"))
    save_file(tiny_state_dict, str(tmp_path / "my_finetune.safetensors"))
    legacy = load_model(tmp_path / "BiRefNet-portrait.safetensors")
    assert legacy.patch_order == "legacy"
    assert legacy.variant is not None and legacy.variant.name == "BiRefNet-portrait"
    assert load_model(tmp_path / "my_finetune.safetensors").patch_order == "current"


def test_missing_key_is_named(tiny_state_dict):
    broken = dict(tiny_state_dict)
    del broken["decoder.conv_out1.0.weight"]
    with pytest.raises(BiRefNetError, match=r"missing 1 keys.*decoder\.conv_out1\.0\.weight"):
        load_model(broken)


def test_extra_key_is_ignored_with_a_warning(tiny_state_dict, reference, caplog):
    extra = dict(tiny_state_dict, **{"decoder.cls_head.weight": torch.zeros(3)})
    with caplog.at_level(logging.WARNING, logger="birefnet.weights.load"):
        model = load_model(extra)
    assert "decoder.cls_head.weight" in caplog.text
    torch.testing.assert_close(logits(model), reference)


def test_wrong_shape_is_named(tiny_state_dict):
    broken = dict(tiny_state_dict)
    broken["decoder.conv_out1.0.weight"] = torch.zeros(1, 41, 1, 1)
    with pytest.raises(
        BiRefNetError, match=r"decoder\.conv_out1\.0\.weight.*\[1, 41, 1, 1\].*\[1, 40, 1, 1\]"
    ):
        load_model(broken)


def test_checkpoint_of_another_network_is_rejected(tmp_path):
    other = {"conv1.weight": torch.zeros(8, 3, 3, 3), "fc.weight": torch.zeros(10, 8)}
    path = tmp_path / "resnet.safetensors"
    save_file(other, str(path))
    with pytest.raises(
        BiRefNetError, match=r"resnet\.safetensors is not a BiRefNet checkpoint.*conv1\.weight"
    ):
        load_model(path)


def test_encoder_of_another_configuration_is_rejected(tiny_state_dict):
    broken = {k: v for k, v in tiny_state_dict.items() if not k.startswith("bb.block4.1.")}
    with pytest.raises(BiRefNetError, match=r"depths \(2, 2, 2, 1\)"):
        load_model(broken)


def test_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("these are not weights")
    with pytest.raises(BiRefNetError, match="notes.pth"):
        load_model(path)


def test_truncated_safetensors_file(tmp_path, tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BiRefNetError, match=r"truncated\.safetensors.*download it again"):
        load_model(path)


def test_missing_and_empty_and_unsupported_files(tmp_path):
    with pytest.raises(BiRefNetError, match="not found"):
        load_model(tmp_path / "nope.safetensors")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(BiRefNetError, match="empty"):
        load_model(tmp_path / "empty.safetensors")
    (tmp_path / "weights.onnx").write_bytes(b"x")
    with pytest.raises(BiRefNetError, match="unsupported checkpoint type"):
        load_model(tmp_path / "weights.onnx")


def test_nan_weights_are_rejected(tiny_state_dict):
    broken = dict(tiny_state_dict)
    broken["decoder.conv_out1.0.bias"] = torch.tensor([float("nan")])
    with pytest.raises(BiRefNetError, match=r"conv_out1\.0\.bias.*NaN"):
        load_model(broken)


def test_pickle_with_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Payload()}, path)
    with pytest.raises(BiRefNetError, match="weights_only"):
        load_model(path)
