"""Fixtures for the browser tests (marked ``browser`` and ``e2e``): ComfyUI in headless Chromium.

Parameters (test ids read ``[<comfyui>-<frontend>-<renderer>]``, e.g. ``[0.8.0-newest-vue]``):
- ``frontend`` (session): a (ComfyUI version, front end) pair of ``frontends.COMBINATIONS``: 0.3.75 and 0.8.0
  each with its "installed" front end (1.32.9, 1.35.9), and 0.8.0 with the "newest" on PyPI (see
  ``frontends.py``). ``BIREFNET_BROWSER_FRONTENDS=installed`` and ``BIREFNET_COMFYUI_VERSIONS=0.8.0`` run a
  subset; where 0.8.0 cannot be built (no source archive in ../shared) its pairs are left out (one line
  at the end of the run says so).
- ``renderer`` (per test): "classic" (LiteGraph canvas) and "vue" (Nodes 2.0), set through ComfyUI's
  settings API (``Comfy.VueNodes.Enabled``) before the page loads.

Fixtures: ``frontend`` (FrontEnd), ``browser_server`` (ComfyServer with that front end; one per front end,
started once), ``browser`` (Playwright Browser on the system Chromium), ``renderer`` (str),
``comfy_page`` (ComfyPage opened and ready; its screenshots go to the test's ``tmp_path``; a screenshot
``failure.png`` is taken when the test fails and named in the report). The page of a renderer is reused
from test to test (``page_pool``; ``ComfyPage.begin_test`` empties the graph); mark a test
``@pytest.mark.fresh_page`` to reload the app first, e.g. to see the startup of the pack's scripts anew.

Run with ``BIREFNET_E2E=1`` (as scripts/test.sh does) or ``-m browser``. Chromium comes from Debian
(``apt-get install chromium``; scripts/test.sh installs it); ``BIREFNET_CHROMIUM`` overrides its path.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from e2e.comfy_server import FIXTURES, ComfyServer, start_comfy_server
from e2e.comfyui_params import report_left_out, version_params

from .comfy_page import RENDERERS, ComfyPage, post_setting
from .frontends import COMBINATIONS, installed_frontend, newest_frontend

FRONTENDS = tuple(
    name.strip() for name in os.environ.get("BIREFNET_BROWSER_FRONTENDS", "installed,newest").split(",")
)
if set(FRONTENDS) - {name for _, name in COMBINATIONS}:
    raise ValueError(
        f"BIREFNET_BROWSER_FRONTENDS={','.join(FRONTENDS)}: the front ends are installed, newest"
    )
FRONTEND_PARAMS = [f"{v}-{name}" for v, name in COMBINATIONS if v in version_params() and name in FRONTENDS]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The front end asks api.comfy.org and huggingface.co for news and model sizes: no name outside this
    # machine resolves, so the browser never sends traffic off it (those fetches fail as ERR_NAME_NOT_RESOLVED).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
VIEWPORT = {"width": 1400, "height": 900}
# Settings a returning user would have: no first-run template dialog or tour over the graph.
QUIET_SETTINGS = {"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False}
QUIET_LOCAL_STORAGE = {"vueNodesBannerDismissed": "true"}  # the "Introducing Nodes 2.0" banner (1.32)


def pytest_terminal_summary(terminalreporter):
    report_left_out(terminalreporter)  # e.g. "ComfyUI 0.8.0 runs skipped: no ../shared/comfyui/..."


def pytest_collection_modifyitems(config, items):
    """Mark every test here ``browser`` and ``e2e``; skip them unless asked for (``-m e2e``, ``-m browser``
    or BIREFNET_E2E=1)."""
    here = Path(__file__).parent
    marks = config.getoption("-m") or ""
    wanted = "e2e" in marks or "browser" in marks or os.environ.get("BIREFNET_E2E") == "1"
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)
            if not wanted:
                item.add_marker(
                    pytest.mark.skip(reason="browser test: run with -m browser or BIREFNET_E2E=1")
                )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def chromium_path() -> str:
    path = os.environ.get("BIREFNET_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError(
            "no Chromium found: install Debian's `chromium` (scripts/test.sh does: apt-get install chromium) "
            "or set BIREFNET_CHROMIUM to its path"
        )
    return path


@pytest.fixture(scope="session", params=FRONTEND_PARAMS)
def frontend(request):
    comfyui, name = request.param.split("-", 1)
    if name == "installed":
        return installed_frontend(comfyui)
    return newest_frontend(comfyui, os.environ.get("BIREFNET_FRONTEND_VERSION"))


@pytest.fixture(scope="session")
def browser_server(frontend, tmp_path_factory) -> ComfyServer:
    name = f"comfy-browser-{frontend.comfyui}-{frontend.name}"
    with start_comfy_server(tmp_path_factory, frontend.server_args, name, version=frontend.comfyui) as server:
        # The example workflows load "example.png" (ComfyUI's own input/ has one; this base directory not).
        shutil.copyfile(FIXTURES / "lemur.png", server.base / "input" / "example.png")
        for setting_id, value in QUIET_SETTINGS.items():
            post_setting(server, setting_id, value)
        yield server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(params=RENDERERS)
def renderer(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def page_pool(browser, browser_server, frontend):
    """One open ComfyPage per renderer on the current front end's server, reused by the tests (opening
    the app costs 10-20 s on a busy 2-core machine); closed when the front end's server stops."""
    pool: dict[str, ComfyPage] = {}
    yield pool
    for comfy in pool.values():
        comfy.page.context.close()


@pytest.fixture
def comfy_page(request, page_pool, browser, browser_server, frontend, renderer, tmp_path) -> ComfyPage:
    comfy = page_pool.get(renderer)
    if comfy is None or comfy.page.is_closed():
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        context.add_init_script(
            "".join(
                f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});"
                for k, v in QUIET_LOCAL_STORAGE.items()
            )
            # The front end loads a few hundred files; the default buffer (250) would drop the pack's
            # scripts from pack_scripts_loaded().
            + "performance.setResourceTimingBufferSize(5000);"
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        comfy = page_pool[renderer] = ComfyPage(page, browser_server, frontend, renderer, tmp_path)
        comfy.open()
    elif request.node.get_closest_marker("fresh_page"):
        comfy.shots = tmp_path
        comfy.reload()
    else:
        comfy.begin_test(tmp_path)
    yield comfy
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        try:
            shot = comfy.screenshot("failure")
            request.node.add_report_section("call", "screenshot", str(shot))
            print(f"failure screenshot: {shot}")
        except Exception as error:  # the page may be gone; the test's own error matters more
            print(f"no failure screenshot: {error}")
