#!/usr/bin/env bash
# The project's test command: sets up .venv, lints, then runs the whole test suite (unit + end-to-end in a
# real ComfyUI). Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not e2e"` for unit tests only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=$(bash scripts/setup_env.sh)
"$py" -m ruff check .
"$py" -m ruff format --check .
"$py" -m pytest "$@"
