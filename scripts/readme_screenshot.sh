#!/usr/bin/env bash
# Retakes the README's picture docs/comfyui-nodes.png (a manual command, not part of CI): the
# background-removal example run in ComfyUI 0.8.0 (its installed front end, classic renderer), with the
# Composite node's before/after preview showing the result.
# No released weights are downloaded: a tiny pvt_v2_b0 BiRefNet is trained from random initialisation on the
# test photo tests/fixtures/lemur (lemur.png + lemur_alpha.png) for STEPS steps with the pack's own training
# code (python -m training.train), once, and cached (never committed) as
# <e2e cache>/readme-screenshot/tiny-lemur-<STEPS>steps-<SIZE>.safetensors (the e2e cache:
# ~/.cache/birefnet-e2e-tests, or BIREFNET_E2E_CACHE). Then tests/browser/test_smoke.py runs with
# BIREFNET_README_SCREENSHOT=1 and BIREFNET_README_CHECKPOINT=<that file>. Sets up .venv like
# scripts/test.sh (BIREFNET_PYTHON=python3: use that Python as it is). Measured on a busy 2-core machine
# (nice 19): training 20 steps at 256x160 3-6.5 min (391 s CPU), the browser run 35-105 s (plus the first
# ComfyUI 0.8.0 build). The test fails, writing nothing, if the cut-out's IoU against lemur_alpha.png <= 0.8.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${BIREFNET_PYTHON:-$(bash scripts/setup_env.sh requirements-dev.txt)}
STEPS=20
SIZE=256x160
cache=${BIREFNET_E2E_CACHE:-$HOME/.cache/birefnet-e2e-tests}/readme-screenshot
checkpoint=$cache/tiny-lemur-${STEPS}steps-$SIZE.safetensors

if [[ ! -f $checkpoint ]]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/train.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # One photo, 2 x STEPS names for it: batch 2, so one epoch is STEPS steps (the weights are written at its end).
  mkdir -p "$work/data/im" "$work/data/gt"
  for i in $(seq -w 1 $((2 * STEPS))); do
    ln -s "$root/tests/fixtures/lemur/lemur.png" "$work/data/im/lemur_$i.png"
    ln -s "$root/tests/fixtures/lemur/lemur_alpha.png" "$work/data/gt/lemur_$i.png"
  done
  "$py" -m training.train --data-root "$work/data" --train-split . --output-dir "$work/run" \
    --backbone pvt_v2_b0 --preset DIS5K --size "$SIZE" --batch-size 2 --epochs 1 --last-epochs 0 \
    --lr 5e-4 --seed 0 --no-progress
  mv "$work/run/weights/epoch_0001.safetensors" "$checkpoint"
fi
echo "checkpoint: $checkpoint" >&2

export BIREFNET_README_SCREENSHOT=1 BIREFNET_README_CHECKPOINT=$checkpoint
export BIREFNET_COMFYUI_VERSIONS=0.8.0 BIREFNET_BROWSER_FRONTENDS=installed
export BIREFNET_KERNEL_CACHE=${BIREFNET_KERNEL_CACHE:-off}
"$py" -m pytest tests/browser/test_smoke.py -m browser -k classic -p no:cacheprovider -s "$@"
git status --short docs/comfyui-nodes.png
