#!/usr/bin/env bash
# Creates .venv with torch + torchvision and a requirements file of the project. Idempotent; prints the
# venv's python. Argument: which requirements file, `requirements.txt` (the nodes and the CLI) or
# `requirements-dev.txt` (the default: tests, lint, training extras; it includes requirements.txt).
# Override the torch install with TORCH_SPEC (e.g. TORCH_SPEC="torch" for whatever pip picks).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
requirements=${1:-requirements-dev.txt}
venv=${BIREFNET_VENV:-$root/.venv}
torch_spec=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv" >&2
fi
py=$venv/bin/python
if ! "$py" -c "import torch, torchvision" 2>/dev/null; then
  # shellcheck disable=SC2086
  "$py" -m pip install -q $torch_spec >&2
fi
# One stamp per requirements file: the hash of every requirements file it may include.
stamp=$venv/.stamp-$requirements
want=$(cat "$root"/requirements*.txt | sha1sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  "$py" -m pip install -q -r "$root/$requirements" >&2
  echo "$want" >"$stamp"
fi
echo "$py"
