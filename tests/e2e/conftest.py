"""Fixtures for the end-to-end tests (marked ``e2e``): a real ComfyUI server with this pack installed.

The server itself is built and started by ``comfy_server.py`` (shared with ``tests/browser``). Tests that take
``comfy_server`` run once per ComfyUI version (``comfyui_version``: 0.3.75 and 0.8.0, ids ``[0.3.75]``;
``BIREFNET_COMFYUI_VERSIONS`` picks a subset; one that cannot be built here is left out, with one line at the
end of the run); pytest groups them by version, so one server runs at a time: the previous one is stopped
when the next version's starts, and the last one after the last test that uses it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .comfy_server import (  # noqa: F401  (re-exported for the tests here)
    EXTRA_CHECKPOINT,
    FIXTURES,
    PACK_NAME,
    TINY_CHECKPOINT,
    ComfyServer,
    execution_error,
    start_comfy_server,
)
from .comfyui_params import report_left_out, version_params


def pytest_terminal_summary(terminalreporter):
    report_left_out(terminalreporter)  # e.g. "ComfyUI 0.8.0 runs skipped: no ../shared/comfyui/..."


def pytest_collection_modifyitems(config, items):
    """Mark every test here ``e2e``; skip them unless asked for (``-m e2e`` or BIREFNET_E2E=1).

    The first run builds ComfyUI and its venv (about 2 minutes), so a plain ``pytest`` does not start it.
    """
    here = Path(__file__).parent
    wanted = "e2e" in (config.getoption("-m") or "") or os.environ.get("BIREFNET_E2E") == "1"
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if not wanted:
                item.add_marker(pytest.mark.skip(reason="end-to-end test: run with -m e2e or BIREFNET_E2E=1"))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """Stop the e2e ComfyUI server after the last test that uses it, instead of at the end of the session:
    the soak and the browser tests that may follow start servers of their own (memory, 2 cores)."""
    if "comfy_server" not in item.fixturenames:
        return
    items = item.session.items
    if any("comfy_server" in later.fixturenames for later in items[items.index(item) + 1 :]):
        return
    for fixturedef in item._fixtureinfo.name2fixturedefs.get("comfyui_version", ()):
        fixturedef.finish(item._request)  # tears down comfy_server (and object_info) with it


@pytest.fixture(scope="session", params=version_params())
def comfyui_version(request) -> str:
    """The ComfyUI version under test ("0.3.75" or "0.8.0"; one that cannot be built here is left out)."""
    return request.param


@pytest.fixture(scope="session")
def comfy_server(comfyui_version, tmp_path_factory) -> ComfyServer:
    name = f"comfy-base-{comfyui_version}"
    with start_comfy_server(tmp_path_factory, name=name, coexistence=True, version=comfyui_version) as server:
        yield server


@pytest.fixture(scope="session")
def object_info(comfy_server) -> dict[str, Any]:
    return comfy_server.get("/object_info")
