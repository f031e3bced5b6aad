"""Model folders (nodes/model_files.py) against the stand-in ``folder_paths`` (tests/comfy_stand_ins.py), set
up as in ComfyUI 0.38: core registers ``background_removal`` with the one ``supported_pt_extensions`` set that
``checkpoints``, ``loras``... share. The real ComfyUI is exercised in tests/e2e.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from comfy_stand_ins import use_folder_paths
from safetensors.torch import save_file

from birefnet import VARIANTS, BiRefNetError


@pytest.fixture
def comfy(tmp_path, monkeypatch):
    """(stand-in folder_paths, nodes.model_files), core's folders sharing one extension set."""
    shared = {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft"}
    models = tmp_path / "models"
    folders = {name: [models / name] for name in ("checkpoints", "background_removal")}
    fp = use_folder_paths(monkeypatch, tmp_path, folders, shared)
    from comfyui_birefnet_exact.nodes import model_files

    return fp, model_files


def test_shared_extension_set_is_never_changed(comfy):
    fp, model_files = comfy
    shared = fp.supported_pt_extensions
    shared.discard(".bin")  # a ComfyUI whose shared set lacks one of our suffixes: ours must not leak into it
    before = set(shared)
    model_files.register_model_folders()
    model_files.register_model_folders()  # idempotent
    assert shared == before and fp.folder_names_and_paths["checkpoints"][1] is shared
    extensions = fp.folder_names_and_paths["background_removal"][1]
    assert extensions is not shared and model_files.CHECKPOINT_EXTENSIONS <= extensions
    for name in model_files.FOLDER_NAMES:
        paths = fp.folder_names_and_paths[name][0]
        assert paths.count(os.path.join(fp.models_dir, name)) == 1


def test_complete_shared_set_is_kept_as_it_is(comfy):
    fp, model_files = comfy
    shared = fp.supported_pt_extensions
    model_files.register_model_folders()
    assert fp.folder_names_and_paths["background_removal"][1] is shared  # nothing to add: left alone
    assert fp.folder_names_and_paths["birefnet"][1] is not shared  # our own folders get their own set


def test_folder_from_extra_model_paths_gets_its_own_restricted_set(comfy, tmp_path):
    fp, model_files = comfy
    fp.add_model_folder_path("birefnet", str(tmp_path / "extra"))  # what extra_model_paths.yaml does first
    created = fp.folder_names_and_paths["birefnet"][1]
    model_files.register_model_folders()
    paths, extensions = fp.folder_names_and_paths["birefnet"]
    assert paths[0] == str(tmp_path / "extra")  # the yaml path stays first: downloads go there
    assert extensions == model_files.CHECKPOINT_EXTENSIONS and created == set()


def _write(path, tensors):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: torch.zeros(2) for k in tensors}, str(path))


def test_list_hides_other_networks_and_keeps_birefnet_and_unknown_files(comfy, caplog):
    fp, model_files = comfy
    folder = Path(fp.models_dir) / "background_removal"
    _write(folder / "birefnet.safetensors", ["bb.layers.1.blocks.0.attn.relative_position_index", "bb.patch_embed.proj.weight"])  # fmt: skip
    _write(folder / "sam_vit_b.safetensors", ["image_encoder.blocks.0.attn.qkv.weight", "mask_decoder.iou_token.weight"])  # fmt: skip
    _write(folder / "wrapped.safetensors", ["module.bb.patch_embed1.proj.weight"])  # DDP-saved PVT BiRefNet
    (folder / "truncated.safetensors").write_bytes(b"\x10\x00")  # unreadable: listed, loading says why
    torch.save({"x": torch.zeros(1)}, folder / "old.pth")  # keys unknown without loading it: listed
    with caplog.at_level("INFO"):
        names = model_files.local_checkpoints()
    assert names == ["birefnet.safetensors", "old.pth", "truncated.safetensors", "wrapped.safetensors"]
    assert "sam_vit_b.safetensors" in caplog.text and "Segment Anything" in caplog.text
    assert "birefnet.safetensors" in model_files.model_choices()[:4]


def test_variant_is_taken_from_any_model_folder_else_the_error_says_how_to_get_it(comfy, tmp_path):
    fp, model_files = comfy
    with pytest.raises(BiRefNetError) as caught:
        model_files.resolve_checkpoint("BiRefNet_lite", allow_download=False)
    message = str(caught.value)
    download_dir = Path(fp.models_dir) / "birefnet"
    assert "BiRefNet_lite is not on disk and downloads are off" in message  # what tests/e2e look for
    assert "Turn on 'allow_download' to fetch it" in message
    assert str(download_dir / "BiRefNet_lite.safetensors") in message
    assert all(str(folder) in message for folder in model_files.folder_dirs())

    in_core_folder = Path(fp.models_dir) / "background_removal" / "BiRefNet_lite.safetensors"
    _write(in_core_folder, ["bb.patch_embed.proj.weight"])
    assert model_files.resolve_checkpoint("BiRefNet_lite", allow_download=False) == (
        in_core_folder,
        VARIANTS["BiRefNet_lite"],
    )
    assert model_files.resolve_checkpoint("BiRefNet_lite.safetensors", allow_download=False) == (
        in_core_folder,
        VARIANTS["BiRefNet_lite"],
    )
    with pytest.raises(BiRefNetError, match="'no-such.pth' was not found in .*background_removal"):
        model_files.resolve_checkpoint("no-such.pth", allow_download=True)
