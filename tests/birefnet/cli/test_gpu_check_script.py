"""scripts/gpu_check.py on a machine without a GPU: says so and exits 0."""

import os
import subprocess
import sys

from testdata import REPO_ROOT


def test_gpu_check_without_cuda_says_so_and_exits_0():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [sys.executable, "scripts/gpu_check.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No CUDA GPU visible to PyTorch")
