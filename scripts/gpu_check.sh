#!/usr/bin/env bash
# The GPU check: on a machine with CUDA, one table (parity, fp16/bf16 agreement, swin_v1_l speed and memory
# eager/compiled, BiRefNet_HR-shaped memory, 1080p video frames/s, the ComfyUI example workflows on the GPU)
# in a few minutes; without CUDA it says so and exits 0. Random weights, no model downloads.
# Sets up .venv like scripts/test.sh (BIREFNET_PYTHON=python3: use that Python as it is, e.g. offline).
# Extra arguments go to scripts/gpu_check.py (--no-compile, --no-e2e, --video-frames N).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${BIREFNET_PYTHON:-$(bash scripts/setup_env.sh requirements-dev.txt)}
export BIREFNET_KERNEL_CACHE=${BIREFNET_KERNEL_CACHE:-off}
exec "$py" scripts/gpu_check.py "$@"
