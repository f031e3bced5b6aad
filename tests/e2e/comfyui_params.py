"""The tested ComfyUI versions as pytest parameters, for the session fixtures of tests/e2e and tests/browser.

A version that cannot be built here (0.8.0 without its source archive) is skipped from one place, so
``pytest -ra`` folds every such skip into one line with the reason and the count.
"""

from __future__ import annotations

import pytest

from .comfyui_sources import selected_versions, unavailable_reason


def skip_if_unavailable(version: str) -> None:
    """Skip the requesting test when ComfyUI ``version`` cannot be built here (the reason says why)."""
    reason = unavailable_reason(version)
    if reason:
        pytest.skip(reason)


def version_params() -> list[str]:
    """The selected versions (``BIREFNET_COMFYUI_VERSIONS``), for ``@pytest.fixture(params=...)``."""
    return list(selected_versions())
