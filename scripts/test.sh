#!/usr/bin/env bash
# The project's test command: sets up .venv, lints, then runs the whole test suite (unit + end-to-end in a
# real ComfyUI). Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not e2e"` for unit tests only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=$(bash scripts/setup_env.sh)
"$py" -m ruff check .
"$py" -m ruff format --check .
# The end-to-end tests in a real ComfyUI run by default here (BIREFNET_E2E=0 skips them).
export BIREFNET_E2E=${BIREFNET_E2E:-1}
"$py" -m pytest "$@"
