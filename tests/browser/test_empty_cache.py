"""A first run on a new machine: the browser tests build ComfyUI themselves when the cache is empty.

A warm cache hides the order in which fixtures read it (issue: the installed front end was read from a
ComfyUI venv that no fixture had built yet). This test runs one browser test in a fresh pytest process whose
cache root (``BIREFNET_E2E_CACHE``) is a new, empty folder, so it cannot be fooled by the cache under
``~/.cache``: the set-up path (fetch ComfyUI, make its venv, start it, open the page) runs from nothing.
It takes a few minutes (a new venv with torch), hence ``slow``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from e2e.comfyui_setup import REPO_ROOT, install_dir
from pytest_process import pytest_command


@pytest.mark.slow
def test_browser_set_up_from_an_empty_cache(tmp_path):
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    env = {
        **os.environ,
        "BIREFNET_E2E": "1",
        "BIREFNET_E2E_CACHE": str(cache),
        "BIREFNET_BROWSER_FRONTENDS": "installed",
        "BIREFNET_COMFYUI_VERSIONS": "0.3.75",
    }
    command = pytest_command(
        "tests/browser/test_smoke.py",
        "-k",
        "test_nodes_register_and_example_draws_without_errors and installed-classic",
    )
    try:
        result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1500)
        tail = (result.stdout + result.stderr)[-4000:]
        assert result.returncode == 0, f"browser test from an empty cache failed:\n{tail}"
        assert "1 passed" in result.stdout, tail
        built = list(cache.glob(f"{install_dir().name}/READY"))
        assert built, f"the run did not build ComfyUI under the empty cache {cache}:\n{tail}"
    finally:
        shutil.rmtree(cache, ignore_errors=True)
