"""Download progress and Stop, against a local fake of the Hub's download route (tests/fake_hub.py)."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
import torch
from safetensors.torch import load_file, save

import birefnet.weights.hub as hub
from tests.fake_hub import fake_hub

REPO = "ZhengPeng7/BiRefNet_lite"


class Stopped(Exception):
    """Stands in for ComfyUI's InterruptProcessingException."""


@pytest.fixture
def weights() -> bytes:
    torch.manual_seed(0)
    return save({"conv_out1.0.weight": torch.randn(1, 64, 32, 32)})  # 256 KiB + header: several chunks


@pytest.fixture
def online(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return tmp_path / "hf-cache"


def point_hub_at(url: str, monkeypatch) -> None:
    """huggingface_hub reads HF_ENDPOINT once, at import, into these two constants."""
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", url)
    template = url + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 32 * 1024)  # several reports


def test_progress_reports_bytes_up_to_the_file_size(online, weights, tmp_path, monkeypatch):
    calls: list[tuple[int, int | None]] = []
    with fake_hub({(REPO, "model.safetensors"): weights}) as server:
        point_hub_at(server.url, monkeypatch)
        path = hub.download_variant(
            "BiRefNet_lite",
            tmp_path / "models",
            progress=False,
            cache_dir=online,
            on_progress=lambda done, total: calls.append((done, total)),
        )
    assert path == tmp_path / "models" / "BiRefNet_lite.safetensors"
    assert path.read_bytes() == weights
    assert load_file(str(path))["conv_out1.0.weight"].shape == (1, 64, 32, 32)
    assert calls[0] == (0, len(weights))
    assert calls[-1] == (len(weights), len(weights))
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) > 3  # several chunks, never backwards


def test_stop_during_download_leaves_no_file_under_the_final_name(online, weights, tmp_path, monkeypatch):
    def stop_after_first_chunk(done: int, total: int | None) -> None:
        if done > 0:
            raise Stopped()

    models = tmp_path / "models"
    with fake_hub({(REPO, "model.safetensors"): weights}) as server:
        point_hub_at(server.url, monkeypatch)
        with pytest.raises(Stopped):  # the callback's own exception, not a BiRefNetError
            hub.download_variant(
                "BiRefNet_lite", models, progress=False, cache_dir=online, on_progress=stop_after_first_chunk
            )
        assert not (models / "BiRefNet_lite.safetensors").exists()
        assert not models.exists() or not any(models.iterdir())
        # The next run completes the file (huggingface_hub resumes its .incomplete blob).
        path = hub.download_variant("BiRefNet_lite", models, progress=False, cache_dir=online)
    assert path.read_bytes() == weights


def test_find_or_download_variant_downloads_into_its_folder_with_progress(
    online, weights, tmp_path, monkeypatch
):
    searched = [tmp_path / "empty", tmp_path / "other"]
    searched[0].mkdir()
    downloads = tmp_path / "downloads"
    calls: list[tuple[int, int | None]] = []
    with fake_hub({(REPO, "model.safetensors"): weights}) as server:
        point_hub_at(server.url, monkeypatch)
        path = hub.find_or_download_variant(
            "BiRefNet_lite",
            searched,
            downloads,
            allow_download=True,
            progress=False,
            cache_dir=online,
            on_progress=lambda done, total: calls.append((done, total)),
        )
    assert path == downloads / "BiRefNet_lite.safetensors" and path.read_bytes() == weights
    assert calls[-1] == (len(weights), len(weights))
    # The next lookup finds it in the download folder when that is searched, without the hub.
    monkeypatch.setattr(hub, "hf_hub_download", None)
    assert (
        hub.find_or_download_variant("BiRefNet_lite", [*searched, downloads], tmp_path, allow_download=True)
        == path
    )
