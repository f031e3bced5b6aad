"""The command that runs some of the tests in a fresh pytest process (its own imports and environment)."""

from __future__ import annotations

import sys


def pytest_command(*args: str) -> list[str]:
    """``python -m pytest -q -p no:cacheprovider ARGS...`` with this interpreter; run it from the repository root
    (no .pytest_cache is written, so a run never leaves files behind)."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
