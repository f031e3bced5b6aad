"""Finding and downloading checkpoints, against a Hugging Face cache laid out in a temporary folder.

No test touches the network: HF_HUB_OFFLINE=1 is set, and the cache folder is passed explicitly because
huggingface_hub reads HF_HUB_CACHE / HF_HUB_OFFLINE once, when it is imported.
"""

import os
import pathlib

import pytest
import torch
from huggingface_hub.utils import GatedRepoError
from safetensors.torch import load_file, save_file

import birefnet.weights.hub as hub
from birefnet import VARIANTS, BiRefNetError

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TENSORS = {"conv_out1.0.weight": torch.arange(6, dtype=torch.float32).reshape(1, 6, 1, 1)}


def make_hf_cache(cache_dir: pathlib.Path, repo_id: str) -> pathlib.Path:
    """Lay out `repo_id`'s model.safetensors the way huggingface_hub caches it; return the snapshot file."""
    repo_folder = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_folder / "snapshots" / COMMIT / "model.safetensors"
    snapshot.parent.mkdir(parents=True)
    save_file(TENSORS, str(snapshot))
    (repo_folder / "refs").mkdir()
    (repo_folder / "refs" / "main").write_text(COMMIT)
    return snapshot


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    cache_dir = tmp_path / "hf" / "hub"
    cache_dir.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache_dir


def test_download_variant_finds_the_cached_file_offline(offline_cache, tmp_path):
    snapshot = make_hf_cache(offline_cache, "ZhengPeng7/BiRefNet_lite")
    dest_dir = tmp_path / "models"
    path = hub.download_variant("birefnet_lite", dest_dir, progress=False, cache_dir=offline_cache)
    assert path == dest_dir / "BiRefNet_lite.safetensors"
    assert path.is_file() and not path.is_symlink()
    assert torch.equal(load_file(str(path))["conv_out1.0.weight"], TENSORS["conv_out1.0.weight"])
    assert path.read_bytes() == snapshot.read_bytes()
    assert sorted(p.name for p in dest_dir.iterdir()) == ["BiRefNet_lite.safetensors"]  # no temp files left


def test_offline_variant_missing_from_the_cache_is_a_clear_error(offline_cache, tmp_path):
    make_hf_cache(offline_cache, "ZhengPeng7/BiRefNet_lite")
    dest_dir = tmp_path / "models"
    with pytest.raises(BiRefNetError) as caught:
        hub.download_variant("BiRefNet_HR", dest_dir, progress=False, cache_dir=offline_cache)
    message = str(caught.value)
    assert "BiRefNet_HR" in message and "HF_HUB_OFFLINE" in message
    assert str(dest_dir / "BiRefNet_HR.safetensors") in message
    assert "https://huggingface.co/ZhengPeng7/BiRefNet_HR/resolve/main/model.safetensors" in message
    assert not (dest_dir / "BiRefNet_HR.safetensors").exists()


def test_existing_local_file_is_returned_without_the_hub(tmp_path, monkeypatch):
    def no_hub(*args, **kwargs):
        raise AssertionError("the hub must not be asked for a file that is already there")

    monkeypatch.setattr(hub, "hf_hub_download", no_hub)
    dest_dir = tmp_path / "models"
    dest_dir.mkdir()
    existing = dest_dir / "BiRefNet_HR.safetensors"
    save_file(TENSORS, str(existing))
    assert hub.download_variant("BiRefNet_HR", dest_dir) == existing
    # A differently spelled file of the same variant is found too.
    other = dest_dir / "rmbg-2.0.safetensors"
    save_file(TENSORS, str(other))
    assert hub.download_variant("RMBG-2.0", dest_dir) == other
    nested = dest_dir / "BiRefNet-COD" / "model.safetensors"
    nested.parent.mkdir()
    save_file(TENSORS, str(nested))
    assert hub.download_variant("BiRefNet-COD", dest_dir) == nested


def _gated_error() -> GatedRepoError:
    # The constructor wants an HTTP response (and its signature changes between versions): skip it.
    error = GatedRepoError.__new__(GatedRepoError)
    Exception.__init__(error, "403 Client Error: Cannot access gated repo")
    return error


def test_gated_repository_says_to_accept_the_licence_and_log_in(tmp_path, monkeypatch):
    def gated(*args, **kwargs):
        raise _gated_error()

    monkeypatch.setattr(hub, "hf_hub_download", gated)
    with pytest.raises(BiRefNetError) as caught:
        hub.download_variant("RMBG-2.0", tmp_path, local_files_only=False)
    message = str(caught.value)
    assert "gated" in message and "https://huggingface.co/briaai/RMBG-2.0" in message
    assert "hf auth login" in message and "HF_TOKEN" in message
    assert str(tmp_path / "RMBG-2.0.safetensors") in message


def test_network_failure_is_a_clear_error(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(hub, "hf_hub_download", broken)
    with pytest.raises(BiRefNetError, match="connection reset by peer") as caught:
        hub.download_variant("BiRefNet", tmp_path, local_files_only=False)
    assert "by hand" in str(caught.value)


def test_download_passes_repo_file_and_offline_flag(tmp_path, monkeypatch):
    calls = []
    source = tmp_path / "cache_file.safetensors"
    save_file(TENSORS, str(source))

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs["local_files_only"]))
        return str(source)

    monkeypatch.setattr(hub, "hf_hub_download", fake_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    path = hub.download_variant("RMBG-2.0", tmp_path / "a", progress=False)
    assert calls == [("briaai/RMBG-2.0", "model.safetensors", False)]
    assert path.read_bytes() == source.read_bytes()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.download_variant("BiRefNet", tmp_path / "b", progress=False)
    assert calls[-1] == ("ZhengPeng7/BiRefNet", "model.safetensors", True)


def test_failed_placement_leaves_no_partial_file(tmp_path, monkeypatch):
    source = tmp_path / "cache_file.safetensors"
    save_file(TENSORS, str(source))
    monkeypatch.setattr(hub, "hf_hub_download", lambda *a, **k: str(source))

    def no_link(*args, **kwargs):
        raise OSError("hard links not supported")

    def disk_full(src, dst, *args, **kwargs):
        pathlib.Path(dst).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hub.os, "link", no_link)
    monkeypatch.setattr(hub.shutil, "copyfile", disk_full)
    dest_dir = tmp_path / "models"
    with pytest.raises(BiRefNetError, match="No space left"):
        hub.download_variant("BiRefNet", dest_dir, progress=False, local_files_only=False)
    assert list(dest_dir.iterdir()) == []


def test_resolve_model_accepts_paths_and_names(offline_cache, tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    custom = tmp_path / "my_finetune.safetensors"
    save_file(TENSORS, str(custom))
    assert hub.resolve_model(str(custom), models_dir, allow_download=False) == (custom, None)
    named = tmp_path / "BiRefNet_HR.safetensors"
    save_file(TENSORS, str(named))
    assert hub.resolve_model(named, models_dir, allow_download=False) == (named, VARIANTS["BiRefNet_HR"])
    folder = tmp_path / "BiRefNet-portrait"
    folder.mkdir()
    save_file(TENSORS, str(folder / "model.safetensors"))
    assert hub.resolve_model(folder, models_dir, allow_download=False) == (
        folder / "model.safetensors",
        VARIANTS["BiRefNet-portrait"],
    )

    local = models_dir / "BiRefNet_lite.safetensors"
    save_file(TENSORS, str(local))
    assert hub.resolve_model("birefnet_lite", models_dir, allow_download=False) == (
        local,
        VARIANTS["BiRefNet_lite"],
    )

    make_hf_cache(offline_cache, "ZhengPeng7/BiRefNet-COD")
    monkeypatch.setattr(
        hub, "hf_hub_download", _with_cache_dir(hub.hf_hub_download, offline_cache), raising=True
    )
    path, variant = hub.resolve_model("BiRefNet-COD", models_dir, allow_download=True, progress=False)
    assert (path, variant) == (models_dir / "BiRefNet-COD.safetensors", VARIANTS["BiRefNet-COD"])
    assert path.is_file()


def _with_cache_dir(download, cache_dir):
    def wrapped(repo_id, filename, **kwargs):
        kwargs["cache_dir"] = str(cache_dir)
        return download(repo_id, filename, **kwargs)

    return wrapped


def test_resolve_model_errors(tmp_path):
    models_dir = tmp_path / "models"
    with pytest.raises(BiRefNetError) as caught:
        hub.resolve_model("BiRefNet_HR", models_dir, allow_download=False)
    message = str(caught.value)
    assert str(models_dir / "BiRefNet_HR.safetensors") in message and "downloads are off" in message
    with pytest.raises(BiRefNetError, match="does not exist"):
        hub.resolve_model(str(tmp_path / "missing.safetensors"), models_dir, allow_download=True)
    with pytest.raises(BiRefNetError, match="Did you mean"):
        hub.resolve_model("BiRefNet_lightt", models_dir, allow_download=True)
    with pytest.raises(BiRefNetError, match="holds no model.safetensors"):
        hub.resolve_model(tmp_path, models_dir, allow_download=True)


def test_find_or_download_variant_takes_the_first_folder_holding_the_file(tmp_path, monkeypatch):
    def no_hub(*args, **kwargs):
        raise AssertionError("the hub must not be asked for a file that is already there")

    monkeypatch.setattr(hub, "hf_hub_download", no_hub)
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    first.mkdir()
    (first / "unrelated.safetensors").write_bytes(b"x")
    second.mkdir()
    in_second = second / "birefnet_hr.safetensors"  # another spelling of the variant's name
    save_file(TENSORS, str(in_second))
    third.mkdir()
    save_file(TENSORS, str(third / "BiRefNet_HR.safetensors"))
    found = hub.find_or_download_variant(
        "BiRefNet_HR", [first, str(second), third], tmp_path / "downloads", allow_download=True
    )
    assert found == in_second
    assert hub.find_local_variant_in(VARIANTS["BiRefNet_HR"], [first, second]) == in_second
    assert hub.find_local_variant_in(VARIANTS["BiRefNet_HR"], [first]) is None
    assert not (tmp_path / "downloads").exists()


def test_find_or_download_variant_with_downloads_off_says_where_and_how(tmp_path):
    searched = [tmp_path / "a", tmp_path / "b"]
    downloads = tmp_path / "downloads"
    with pytest.raises(BiRefNetError) as caught:
        hub.find_or_download_variant(
            VARIANTS["BiRefNet_lite"],
            searched,
            downloads,
            allow_download=False,
            how_to_allow="Turn on 'allow_download'",
        )
    message = str(caught.value)
    assert message.startswith("BiRefNet_lite is not on disk and downloads are off")
    assert all(str(folder) in message for folder in searched)
    assert "Turn on 'allow_download' to fetch it (ZhengPeng7/BiRefNet_lite, licence: MIT)" in message
    assert str(downloads / "BiRefNet_lite.safetensors") in message
    assert VARIANTS["BiRefNet_lite"].url in message
    assert not downloads.exists()
    with pytest.raises(BiRefNetError, match="Allow downloads to fetch it"):  # the default wording
        hub.find_or_download_variant("BiRefNet_lite", searched, downloads, allow_download=False)


def test_default_models_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BIREFNET_MODELS_DIR", str(tmp_path / "mine"))
    assert hub.default_models_dir() == tmp_path / "mine"
    monkeypatch.delenv("BIREFNET_MODELS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.default_models_dir() == tmp_path / "xdg" / "birefnet" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert (
        hub.default_models_dir() == pathlib.Path(os.path.expanduser("~")) / ".cache" / "birefnet" / "models"
    )
