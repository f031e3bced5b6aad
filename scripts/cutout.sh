#!/usr/bin/env bash
# The main job: cut objects out of photos. Sets up .venv, then runs `python -m birefnet cutout ...`.
# Example: bash scripts/cutout.sh photos/ --model BiRefNet_lite --out cutouts/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=$(bash "$root/scripts/setup_env.sh" requirements.txt)  # torch + the runtime requirements only
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m birefnet cutout "$@"
