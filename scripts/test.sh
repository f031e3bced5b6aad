#!/usr/bin/env bash
# The project's test command: sets up .venv, lints, then runs the whole test suite (unit + end-to-end in a
# real ComfyUI + browser tests in headless Chromium + `comfy node validate`). Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m "not e2e"` for unit tests only. The end-to-end and browser tests run on
# ComfyUI 0.3.75 and 0.8.0 (BIREFNET_COMFYUI_VERSIONS=0.3.75 for one); the tests build 0.8.0 from its
# source archive beside the repository (tests/e2e/comfyui_sources.py); where that is absent its runs are left out
# and pytest's summary says so in one line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=$(bash scripts/setup_env.sh requirements-dev.txt)
"$py" -m ruff check .
"$py" -m ruff format --check .
# The end-to-end tests in a real ComfyUI run by default here (BIREFNET_E2E=0 skips them).
export BIREFNET_E2E=${BIREFNET_E2E:-1}
# Kernel picks (birefnet/ops/kernel_choice.py) stay in the process: the tests leave no cache file in HOME.
export BIREFNET_KERNEL_CACHE=${BIREFNET_KERNEL_CACHE:-off}
# The browser tests (tests/browser) drive Debian's chromium through playwright; never a downloaded browser.
if [[ $BIREFNET_E2E == 1 ]] && ! command -v chromium >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing chromium (apt-get) for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
  else
    echo "warning: no chromium; the browser tests will fail (as root: apt-get install chromium)" >&2
  fi
fi
"$py" -m pytest --durations=15 "$@"
