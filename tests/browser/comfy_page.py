"""``ComfyPage``: one browser page on a running ComfyUI, with the helpers the browser tests use.

Everything here goes through the page as a user's browser would (the graph, widgets, the Run button),
plus read-only looks at ComfyUI's server (history) to know when a run has finished.
Node ids are the graph's node ids (the ``id`` of a node in the workflow JSON).
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from e2e.comfy_server import PACK_NAME, ComfyServer
from PIL import Image

from .frontends import FrontEnd

PACK_SCRIPTS = f"/extensions/{PACK_NAME}/"  # where ComfyUI serves the pack's web/ folder
APP_READY_TIMEOUT_MS = 120_000
RUN_TIMEOUT_S = 300
VUE_NODES_SETTING = "Comfy.VueNodes.Enabled"  # "Modern Node Design (Nodes 2.0)" in the settings dialog
RENDERERS = ("classic", "vue")
FIT_MARGINS = (
    90,
    110,
    30,
    50,
)  # CSS px kept free by fit_view: left (side bar), top (tabs, Run), right, bottom

# The graph the user sees (app.rootGraph in newer front ends, app.graph in older ones).
_GRAPH = "(window.app.rootGraph ?? window.app.graph)"
# A node by id, whether the front end keeps ids as numbers (1.32) or as strings at run time (1.58).
_NODE = f"((id) => {_GRAPH}.getNodeById(id) ?? {_GRAPH}.nodes.find((n) => String(n.id) === String(id)))"


@dataclass(frozen=True)
class ConsoleEntry:
    """One browser console message, uncaught page error or failed request.

    ``kind``: "console" (then ``level`` is "error", "warning", ...), "pageerror" or "request";
    ``url``: the script or resource it came from (may be empty); ``text``: message (with the stack for
    page errors).
    """

    kind: str
    level: str
    text: str
    url: str

    def __str__(self) -> str:
        return f"[{self.kind}/{self.level}] {self.text} ({self.url})"


class ComfyPage:
    """A Playwright page opened on ComfyUI (``open()`` waits until the app and the pack's nodes are there).

    Attributes: ``page`` (playwright ``Page``, for anything not wrapped here), ``server`` (``ComfyServer``),
    ``frontend`` (``FrontEnd``), ``renderer`` ("classic" or "vue"), ``shots`` (folder of this test's
    screenshots), ``console`` (every ``ConsoleEntry`` seen so far).
    """

    def __init__(self, page, server: ComfyServer, frontend: FrontEnd, renderer: str, shots: Path):
        self.page = page
        self.server = server
        self.frontend = frontend
        self.renderer = renderer
        self.shots = shots
        self.console: list[ConsoleEntry] = []
        self._startup_end = 0  # console[:_startup_end]: from loading the app
        self._test_start = 0  # console[_test_start:]: from the current test
        page.on("console", self._on_console)
        page.on(
            "pageerror",
            lambda error: self.console.append(ConsoleEntry("pageerror", "error", _stack(error), "")),
        )
        page.on(
            "requestfailed",
            lambda r: self.console.append(ConsoleEntry("request", "error", r.failure or "", r.url)),
        )
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        self.console.append(
            ConsoleEntry("console", message.type, message.text, message.location.get("url", ""))
        )

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.console.append(ConsoleEntry("request", "error", f"HTTP {response.status}", response.url))

    # -- opening the app ------------------------------------------------------------------------------
    def open(self) -> None:
        """Load ComfyUI and wait until ``window.app``, its graph, and the pack's node types are there.

        The renderer comes from the user setting ``Comfy.VueNodes.Enabled``, which is POSTed first."""
        self.server_setting(VUE_NODES_SETTING, self.renderer == "vue")
        self.console.clear()
        self.page.goto(self.server.url + "/", wait_until="domcontentloaded")
        self._wait_until_ready()
        self._startup_end = self._test_start = len(self.console)

    def reload(self) -> None:
        """Reload the app (a fresh page state; startup console entries are collected anew)."""
        self.open()

    def begin_test(self, shots: Path) -> None:
        """Reuse this page for a new test: its screenshots go to ``shots``; ``errors()`` then reports
        startup errors plus this test's; Escape closes menus and dialogs; the graph is emptied, and so are
        the earlier tests' node outputs (else a new node that gets an old node's id shows its image) and
        their toasts (else this test's screenshots show an earlier test's alert)."""
        self.shots = shots
        self._test_start = len(self.console)
        self.page.keyboard.press("Escape")
        self.evaluate(
            f"() => {{ window.app.clean?.(); window.app.extensionManager?.toast?.removeAll?.();"
            f" {_GRAPH}.clear(); {_GRAPH}.setDirtyCanvas(true, true); }}"
        )

    def server_setting(self, setting_id: str, value: Any) -> None:
        """Store a user setting through ComfyUI's settings API (POST /settings/<id>); pages read it on
        load (``reload()``), or set it live with ``app.extensionManager.setting.set`` in the page."""
        post_setting(self.server, setting_id, value)

    def _wait_until_ready(self) -> None:
        self.page.wait_for_function(
            f"() => window.app && {_GRAPH} && window.LiteGraph"
            " && window.LiteGraph.registered_node_types['BiRefNetExactSegment'] !== undefined",
            timeout=APP_READY_TIMEOUT_MS,
        )
        actual = self.evaluate(f"() => window.app.ui.settings.getSettingValue('{VUE_NODES_SETTING}')")
        assert bool(actual) == (self.renderer == "vue"), f"{VUE_NODES_SETTING} is {actual!r} in the page"
        self.page.wait_for_timeout(500)  # let the first frames draw

    def evaluate(self, script: str, arg: Any = None) -> Any:
        """``page.evaluate``: run a JS function expression (``"(arg) => ..."``) in the page, return JSON."""
        return self.page.evaluate(script, arg)

    # -- console ------------------------------------------------------------------------------------------
    def errors(self, url_part: str | None = PACK_SCRIPTS) -> list[ConsoleEntry]:
        """Errors (console errors, uncaught exceptions, failed requests) from loading the app and from the
        current test whose URL or text contains ``url_part`` (default: the pack's script folder
        ``/extensions/comfyui-birefnet-exact/``); all such errors with ``url_part=None``."""
        seen = self.console[: self._startup_end] + self.console[self._test_start :]
        bad = [e for e in seen if e.level == "error"]
        if url_part is None:
            return bad
        return [e for e in bad if url_part in e.url or url_part in e.text]

    def assert_no_pack_errors(self) -> None:
        """Fail (naming a fresh screenshot) if the pack's scripts logged or threw any error."""
        errors = self.errors()
        if errors:
            shot = self.screenshot("pack-errors")
            raise AssertionError(
                "errors from the pack's scripts:\n" + "\n".join(map(str, errors)) + f"\nscreenshot: {shot}"
            )

    def pack_scripts_loaded(self) -> list[str]:
        """URLs of the pack's web files the page has loaded (from the browser's resource timing)."""
        urls = self.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
        return sorted(u for u in urls if PACK_SCRIPTS in u)

    # -- screenshots and pixels ------------------------------------------------------------------------
    def screenshot(self, name: str, locator=None, clip: dict[str, float] | None = None) -> Path:
        """Save a PNG ``<shots>/<name>.png`` of the page (or of ``locator``, or of the page region
        ``clip={"x", "y", "width", "height"}`` in CSS pixels); returns its path for assertion messages."""
        path = self.shots / f"{name}.png"
        if locator is not None:
            locator.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), clip=clip)
        return path

    def pixels(
        self, name: str, locator=None, clip: dict[str, float] | None = None
    ) -> tuple[np.ndarray, Path]:
        """Screenshot as ``screenshot()`` does; returns (pixels as uint8 array (H, W, 3), 0..255, its path)."""
        path = self.screenshot(name, locator, clip)
        return np.asarray(Image.open(path).convert("RGB")), path

    def node_rect(self, node_id: int | str) -> dict[str, float]:
        """The node's box on the page in CSS pixels ({"x", "y", "width", "height"}, title bar included),
        for either renderer (Vue: the node's DOM element; classic: from the canvas transform)."""
        rect = self.evaluate(
            "([id, vue]) => { const NODE = " + _NODE + ";"
            """
              const el = vue && document.querySelector(`[data-node-id="${id}"]`);
              if (el && el.getBoundingClientRect().width > 0) {
                const r = el.getBoundingClientRect();
                return {x: r.x, y: r.y, width: r.width, height: r.height};
              }
              const node = NODE(id);
              if (!node) return null;
              const canvas = window.app.canvas, ds = canvas.ds;
              const box = canvas.canvas.getBoundingClientRect();
              const title = window.LiteGraph.NODE_TITLE_HEIGHT;
              return {
                x: box.x + (node.pos[0] + ds.offset[0]) * ds.scale,
                y: box.y + (node.pos[1] - title + ds.offset[1]) * ds.scale,
                width: node.size[0] * ds.scale,
                height: (node.size[1] + title) * ds.scale,
              };
            }""",
            [node_id, self.renderer == "vue"],
        )
        assert rect is not None, f"no node {node_id} in the graph"
        return rect

    def node_pixels(self, node_id: int, name: str) -> tuple[np.ndarray, Path]:
        """Screenshot of one node (see ``node_rect``); returns (uint8 (H, W, 3), path)."""
        return self.pixels(name, clip=self.node_rect(node_id))

    # -- graph, nodes, widgets -------------------------------------------------------------------------
    def node_types(self) -> list[str]:
        """Every node type LiteGraph has registered in the page."""
        return self.evaluate("() => Object.keys(window.LiteGraph.registered_node_types)")

    def load_workflow(self, workflow: dict[str, Any] | str | Path, fit: bool = True) -> None:
        """Load a UI-format workflow (dict or JSON file) into the graph with ``app.loadGraphData``, then
        (``fit``) fit all its nodes into view."""
        if not isinstance(workflow, dict):
            workflow = json.loads(Path(workflow).read_text())
        self.evaluate("async (wf) => { await window.app.loadGraphData(wf); }", workflow)
        self.page.wait_for_timeout(300)
        if fit:
            self.fit_view()

    def fit_view(self, node_ids: list[int] | None = None, max_scale: float = 1.0) -> None:
        """Pan and zoom the canvas so that all nodes (or ``node_ids``) fit in view, centred in the canvas
        area not covered by the side bar and the top menus (``FIT_MARGINS``)."""
        self.evaluate(
            f"""([ids, [left, top, right, bottom], maxScale]) => {{
              const graph = {_GRAPH}, canvas = window.app.canvas, ds = canvas.ds;
              const nodes = graph.nodes.filter((n) => !ids || ids.map(String).includes(String(n.id)));
              if (!nodes.length) return;
              let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
              for (const n of nodes) {{
                const [x, y, w, h] = n.getBounding();
                x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h);
              }}
              const box = canvas.canvas.getBoundingClientRect();
              const [w, h] = [box.width - left - right, box.height - top - bottom];
              const scale = Math.min(maxScale, w / (x1 - x0), h / (y1 - y0));
              ds.scale = scale;
              ds.offset[0] = (left + w / 2) / scale - (x0 + x1) / 2;
              ds.offset[1] = (top + h / 2) / scale - (y0 + y1) / 2;
              canvas.setDirty(true, true);
            }}""",
            [node_ids, FIT_MARGINS, max_scale],
        )
        self.page.wait_for_timeout(300)

    def graph_workflow(self) -> dict[str, Any]:
        """The graph as the front end saves it (``graph.serialize()``, the UI workflow format)."""
        return self.evaluate(f"() => {_GRAPH}.serialize()")

    def api_prompt(self) -> dict[str, Any]:
        """The API prompt the front end would queue (``app.graphToPrompt()``'s ``output``)."""
        return self.evaluate("async () => (await window.app.graphToPrompt()).output")

    def node_ids(self, node_type: str | None = None) -> list[int]:
        """Ids of the graph's nodes (of ``node_type`` only, when given)."""
        return self.evaluate(
            f"(t) => {_GRAPH}.nodes.filter((n) => !t || n.type === t).map((n) => Number(n.id))", node_type
        )

    def widgets(self, node_id: int) -> list[dict[str, Any]]:
        """The node's widgets: [{"name", "type", "value", "hidden" (widget.hidden), "options_hidden"
        (widget.options.hidden), "computed_height" (or null)}], in order."""
        return self.evaluate(
            f"""(id) => {_NODE}(id).widgets.map((w) => ({{
              name: w.name, type: w.type, value: w.value ?? null, hidden: !!w.hidden,
              options_hidden: !!(w.options && w.options.hidden), computed_height: w.computedHeight ?? null,
            }}))""",
            node_id,
        )

    def widget(self, node_id: int, name: str) -> dict[str, Any]:
        """One widget of ``widgets()`` by name."""
        for w in self.widgets(node_id):
            if w["name"] == name:
                return w
        raise AssertionError(
            f"node {node_id} has no widget {name!r}: {[w['name'] for w in self.widgets(node_id)]}"
        )

    def set_widget(self, node_id: int, name: str, value: Any) -> None:
        """Set a widget's value as the UI does: assign it, then call the widget's callback (which is what
        front-end extensions hook), and redraw."""
        found = self.evaluate(
            f"""([id, name, value]) => {{
              const node = {_NODE}(id);
              const w = node && node.widgets.find((w) => w.name === name);
              if (!w) return false;
              w.value = value;
              w.callback?.(value, window.app.canvas, node, undefined, undefined);
              node.onWidgetChanged?.(name, value, undefined, w);
              {_GRAPH}.setDirtyCanvas(true, true);
              return true;
            }}""",
            [node_id, name, value],
        )
        assert found, f"node {node_id} has no widget {name!r}"
        self.page.wait_for_timeout(100)

    # -- running ------------------------------------------------------------------------------------------
    def run_button(self):
        """The Run (queue) button: ``[data-testid="queue-button"]``, else a button named "Run"."""
        button = self.page.locator('[data-testid="queue-button"]')
        if button.count() == 0:
            button = self.page.get_by_role("button", name="Run", exact=True)
        return button.first

    def run(self, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        """Click Run and wait for that prompt to finish; returns its /history entry (``status``, ``outputs``).

        Fails (naming a screenshot) when no new prompt appears or it does not finish in ``timeout_s``.
        """
        before = set(self.server.get("/history"))
        self.run_button().click()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            history = self.server.get("/history")
            new = [pid for pid in history if pid not in before]
            for pid in new:
                status = history[pid].get("status", {})
                if status.get("completed") is not None and status.get("status_str") in ("success", "error"):
                    self.page.wait_for_timeout(500)  # let the front end show the outputs
                    return history[pid]
            time.sleep(0.25)
        shot = self.screenshot("run-timeout")
        raise AssertionError(
            f"no prompt finished within {timeout_s} s after clicking Run; screenshot: {shot}"
        )


def post_setting(server: ComfyServer, setting_id: str, value: Any) -> None:
    """Store one user setting through ComfyUI's settings API (POST /settings/<id>)."""
    request = urllib.request.Request(
        f"{server.url}/settings/{setting_id}",
        json.dumps(value).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, f"POST /settings/{setting_id}: HTTP {response.status}"


def _stack(error) -> str:
    stack = getattr(error, "stack", None)
    return f"{error}\n{stack}" if stack else str(error)
