"""Model folders (nodes/model_files.py) against a stand-in ``folder_paths`` shaped like ComfyUI 0.38's.

The stand-in registers ``background_removal`` the way core does: with the one ``supported_pt_extensions``
set that ``checkpoints``, ``loras``... share. The real ComfyUI is exercised in tests/e2e.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file


def _stand_in_folder_paths(models_dir: str, shared_extensions: set[str]) -> types.ModuleType:
    fp = types.ModuleType("folder_paths")
    fp.models_dir = models_dir
    fp.supported_pt_extensions = shared_extensions
    fp.folder_names_and_paths = {
        "checkpoints": ([os.path.join(models_dir, "checkpoints")], shared_extensions),
        "background_removal": ([os.path.join(models_dir, "background_removal")], shared_extensions),
    }

    def add_model_folder_path(name, path, is_default=False):
        if name in fp.folder_names_and_paths:
            paths = fp.folder_names_and_paths[name][0]
            if path not in paths:
                paths.insert(0, path) if is_default else paths.append(path)
        else:
            fp.folder_names_and_paths[name] = ([path], set())

    def get_folder_paths(name):
        return fp.folder_names_and_paths[name][0][:]

    def get_filename_list(name):
        paths, extensions = fp.folder_names_and_paths[name]
        found = set()
        for path in paths:
            if os.path.isdir(path):
                for entry in os.listdir(path):
                    if not extensions or os.path.splitext(entry)[1].lower() in extensions:
                        found.add(entry)
        return sorted(found)

    def get_full_path(name, filename):
        for path in fp.folder_names_and_paths[name][0]:
            full = os.path.join(path, filename)
            if os.path.isfile(full):
                return full
        return None

    fp.add_model_folder_path = add_model_folder_path
    fp.get_folder_paths = get_folder_paths
    fp.get_filename_list = get_filename_list
    fp.get_full_path = get_full_path
    return fp


@pytest.fixture
def comfy(tmp_path, monkeypatch):
    """(stand-in folder_paths, freshly imported nodes.model_files) with a shared extension set."""
    shared = {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft"}
    fp = _stand_in_folder_paths(str(tmp_path / "models"), shared)
    monkeypatch.setitem(sys.modules, "folder_paths", fp)
    # A fresh import bound to this stand-in, for this test only: later tests get the module they had before.
    package = importlib.import_module("comfyui_birefnet_exact.nodes")
    name = "comfyui_birefnet_exact.nodes.model_files"
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(package, "model_files", raising=False)
    module = importlib.import_module(name)
    monkeypatch.setattr(package, "model_files", module, raising=False)  # undone after the test
    yield fp, module
    sys.modules.pop(name, None)


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
