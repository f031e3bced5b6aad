"""Which ComfyUI versions a run covers, and the one-line skip where 0.8.0's source archive is absent."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .comfyui_setup import REPO_ROOT, install_dir
from .comfyui_sources import TARBALL_ENV, selected_versions, unavailable_reason


def test_without_the_archive_the_0_8_0_runs_are_left_out_with_one_line_and_nothing_is_built(tmp_path):
    missing = tmp_path / "no-such" / "ComfyUI-0.8.0.tar.gz"
    cache = tmp_path / "cache"
    env = {**os.environ, TARBALL_ENV: str(missing), "BIREFNET_E2E_CACHE": str(cache), "BIREFNET_E2E": "1"}
    for name in ("BIREFNET_COMFYUI_VERSIONS", "BIREFNET_BROWSER_FRONTENDS"):
        env.pop(name, None)
    files = ["tests/e2e/test_front_end_server.py", "tests/browser/test_harness.py"]
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    # 2 server tests on 0.3.75; 2 browser tests on 0.3.75's own front end x renderers (one pins classic).
    assert len(ids) == 5 and all("0.3.75" in i for i in ids), out[-3000:]
    message = f"ComfyUI 0.8.0 runs skipped: no {missing}"
    assert [line for line in out.splitlines() if message in line] == [
        f"{message} (the ComfyUI source archive beside the repository; set {TARBALL_ENV} to its path)"
    ], out[-3000:]
    assert not cache.exists() or not any(cache.iterdir()), f"a skipped run built something in {cache}"


def test_versions_subset_and_unknown_version(monkeypatch):
    monkeypatch.setenv("BIREFNET_COMFYUI_VERSIONS", " 0.8.0 ")
    assert selected_versions() == ("0.8.0",)
    monkeypatch.setenv("BIREFNET_COMFYUI_VERSIONS", "0.3.75,0.9.9")
    with pytest.raises(ValueError, match=r"\['0.9.9'\]"):
        selected_versions()


def test_each_version_has_its_own_cache_folder_keyed_by_its_recipe(monkeypatch, tmp_path):
    assert unavailable_reason("0.3.75") is None
    if unavailable_reason("0.8.0"):
        pytest.skip(unavailable_reason("0.8.0"))
    before = install_dir("0.8.0")
    assert before.name.startswith("comfyui-0.8.0-") and before != install_dir("0.3.75")
    other = tmp_path / "ComfyUI-0.8.0.tar.gz"
    other.write_bytes(b"another archive")
    monkeypatch.setenv(TARBALL_ENV, str(other))
    assert install_dir("0.8.0") != before  # another source, another folder: no rebuild of the cached one
