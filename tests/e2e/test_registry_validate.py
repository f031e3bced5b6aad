"""``comfy node validate`` (comfy-cli from PyPI, the Registry's own check before publishing) passes on this pack.

comfy-cli lives in a venv of its own under the e2e cache (``cached_venv``), never in requirements-dev.txt.
It reads pyproject.toml and runs ruff's security rules on the repository; it needs PyPI once, nothing else:
``--skip-prompt`` answers no to telemetry, and HOME is a temporary folder (its config file goes there).
"""

from __future__ import annotations

import os
import subprocess

from .comfyui_setup import REPO_ROOT, cached_venv

COMFY_CLI = "comfy-cli==1.23.0"


def test_comfy_node_validate_passes(tmp_path):
    comfy = cached_venv("comfy-cli", [COMFY_CLI]) / "bin" / "comfy"
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(comfy), "--skip-prompt", "node", "validate"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"comfy node validate failed ({result.returncode}):\n{output[-3000:]}"
    # Security warnings (exec, eval, two statements on a line) do not fail the command; they fail here.
    assert "All validation checks passed" in output, output[-3000:]
