"""The tested ComfyUI versions as pytest parameters, for the session fixtures of tests/e2e and tests/browser.

A selected version that cannot be built here (0.8.0 without its source archive) is left out of the
parameters, and ``report_left_out`` says so in one line at the end of the run (both conftests call it; the
line is written once).
"""

from __future__ import annotations

import os

from .comfyui_sources import selected_versions, unavailable_reason

_reported: set[str] = set()


def version_params() -> list[str]:
    """The selected versions (``BIREFNET_COMFYUI_VERSIONS``) that can be built here."""
    return [v for v in selected_versions() if not unavailable_reason(v)]


def report_left_out(terminalreporter) -> None:
    """For ``pytest_terminal_summary``: one line per selected version left out, once per run, when the
    end-to-end tests were asked for (``-m e2e``, ``-m browser`` or BIREFNET_E2E=1)."""
    marks = terminalreporter.config.getoption("-m") or ""
    if not ("e2e" in marks or "browser" in marks or os.environ.get("BIREFNET_E2E") == "1"):
        return
    for version in selected_versions():
        reason = unavailable_reason(version)
        if reason and version not in _reported:
            _reported.add(version)
            terminalreporter.write_line(reason, yellow=True)
