"""The pack's front end (web/) in the page: conditional widgets, model list, previews, templates.

Runs for each front end x renderer (see conftest.py). Screenshots go to the test's tmp_path and are named
in the assertion messages.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request

import numpy as np
import pytest
from e2e.comfy_server import PACK_NAME, TINY_CHECKPOINT
from e2e.comfyui_setup import REPO_ROOT
from PIL import Image

EXAMPLES = REPO_ROOT / "example_workflows"
SCRIPTS = {path.name for path in (REPO_ROOT / "web").glob("*.js")}  # ComfyUI loads each one
CHECKER_DARK = 0x9A  # web/style.js: 16 px tiles, dark top-right and bottom-left quarters on white
CHECKER_TILE = 16

# (node type, controlling widget, value, widgets shown, widgets hidden)
CONDITIONS = [
    ("BiRefNetExactSegment", "resolution", "native", [], ["width", "height", "dynamic_long_side"]),
    ("BiRefNetExactSegment", "resolution", "custom", ["width", "height"], ["dynamic_long_side"]),
    ("BiRefNetExactSegment", "resolution", "dynamic", ["dynamic_long_side"], ["width", "height"]),
    ("BiRefNetExactComposite", "background", "transparent", [], ["color", "fit"]),
    ("BiRefNetExactComposite", "background", "color", ["color"], ["fit"]),
    ("BiRefNetExactComposite", "background", "image", ["fit"], ["color"]),
    ("BiRefNetExactRefineMask", "guided_radius", 0, [], ["guided_eps"]),
    ("BiRefNetExactRefineMask", "guided_radius", 8, ["guided_eps"], []),
    ("BiRefNetExactVideoMatting", "format", "webm", [], ["color"]),
    ("BiRefNetExactVideoMatting", "format", "greenscreen", ["color"], []),
    ("BiRefNetExactVideoMatting", "resolution", "custom", ["width", "height"], ["dynamic_long_side"]),
    ("BiRefNetExactSegment", "detail", "off", [], ["detail_long_side", "tile_overlap"]),
    ("BiRefNetExactSegment", "detail", "native", ["tile_overlap"], ["detail_long_side"]),
    ("BiRefNetExactSegment", "detail", "custom", ["detail_long_side", "tile_overlap"], []),
    ("BiRefNetExactRemoveBackground", "detail", "off", [], ["detail_long_side", "tile_overlap"]),
    ("BiRefNetExactRemoveBackground", "detail", "custom", ["detail_long_side", "tile_overlap"], []),
]


def add_node(comfy_page, node_type: str, pos=(200, 200)) -> int:
    node_id = comfy_page.evaluate(
        """([type, pos]) => {
          const graph = window.app.rootGraph ?? window.app.graph;
          const node = window.LiteGraph.createNode(type);
          node.pos = pos;
          graph.add(node);
          return node.id;
        }""",
        [node_type, list(pos)],
    )
    comfy_page.page.wait_for_timeout(300)
    return node_id


def forget_earlier_results(server) -> None:
    """Make ComfyUI drop its cached node results, so that the next run executes every node and its /history
    entry holds every node's outputs (a node served from the cache may be missing there).

    POST /free only sets a flag: the prompt worker reads it after its next wake-up, and a wake-up signal sent
    while it is busy (collecting garbage after a run) is lost, so the flag could wait until after the next
    prompt had run from the old cache. A tiny prompt (an 8x8 EmptyImage previewed) wakes the worker for sure:
    it reads the flag right after that prompt and before it takes another one."""
    request = urllib.request.Request(
        server.url + "/free", json.dumps({"free_memory": True}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    wake_up = {  # ids no page graph uses, and another client id: the page shows nothing of it
        "wake_image": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        },
        "wake_preview": {"class_type": "PreviewImage", "inputs": {"images": ["wake_image", 0]}},
    }
    entry = server.run(wake_up)
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:2000]


def shown_names(comfy_page, node_id: int) -> set[str]:
    """Widget names the page shows on the node: Vue renderer: the node's DOM text; classic canvas: the
    widgets LiteGraph lays out with a height (a hidden widget gets none)."""
    if comfy_page.renderer == "vue":
        text = comfy_page.evaluate(
            "(id) => document.querySelector(`[data-node-id='${id}']`)?.innerText ?? ''", node_id
        )
        words = set(text.split())
        return {w["name"] for w in comfy_page.widgets(node_id) if w["name"] in words}
    return {
        w["name"]
        for w in comfy_page.widgets(node_id)
        if not w["hidden"] and (w["computed_height"] is None or w["computed_height"] > 0)
    }


def test_pack_scripts_load_without_console_errors(comfy_page):
    loaded = {url.rsplit("/", 1)[-1] for url in comfy_page.pack_scripts_loaded()}
    assert SCRIPTS <= loaded, f"pack scripts not loaded: {sorted(SCRIPTS - loaded)}"
    extension = comfy_page.evaluate(
        "() => window.app.extensions.some((e) => e.name === 'BiRefNetExact.FrontEnd')"
    )
    assert extension, "the BiRefNetExact.FrontEnd extension is not registered"
    comfy_page.load_workflow(EXAMPLES / "background_removal_transparent_png.json")
    comfy_page.assert_no_pack_errors()


def test_conditional_widgets_appear_and_disappear(comfy_page):
    nodes = {
        t: add_node(comfy_page, t, (100 + 360 * i, 150))
        for i, t in enumerate(dict.fromkeys(c[0] for c in CONDITIONS))
    }
    comfy_page.fit_view()
    for node_type, control, value, shown, hidden in CONDITIONS:
        node_id = nodes[node_type]
        values_before = {w["name"]: w["value"] for w in comfy_page.widgets(node_id) if w["name"] != control}
        height_before = comfy_page.node_rect(node_id)["height"]
        comfy_page.set_widget(node_id, control, value)
        comfy_page.page.wait_for_timeout(300)
        widgets = {w["name"]: w for w in comfy_page.widgets(node_id)}
        visible = shown_names(comfy_page, node_id)
        shot = comfy_page.screenshot(f"{node_type}-{control}-{value}")
        for name in shown:
            assert not widgets[name]["hidden"] and not widgets[name]["options_hidden"], (name, shot)
            assert name in visible, f"{name} not shown with {control}={value}; see {shot}"
        for name in hidden:
            assert widgets[name]["hidden"] and widgets[name]["options_hidden"], (name, shot)
            assert name not in visible, f"{name} still shown with {control}={value}; see {shot}"
        # Hidden widgets keep their values; the node takes only the room its visible widgets need.
        assert {n: widgets[n]["value"] for n in values_before} == values_before
        height_after = comfy_page.node_rect(node_id)["height"]
        if not shown and hidden:
            assert height_after <= height_before + 1, f"node grew while hiding {hidden}; see {shot}"
    comfy_page.assert_no_pack_errors()


def test_workflow_saved_with_hidden_widgets_reloads_and_runs_with_the_same_values(comfy_page):
    workflow = json.loads((EXAMPLES / "background_removal_transparent_png.json").read_text())
    comfy_page.load_workflow(workflow)
    loader = comfy_page.node_ids("BiRefNetExactLoadModel")[0]
    segment = comfy_page.node_ids("BiRefNetExactSegment")[0]
    comfy_page.set_widget(loader, "model", TINY_CHECKPOINT)
    comfy_page.set_widget(segment, "resolution", "custom")
    comfy_page.set_widget(segment, "width", 256)
    comfy_page.set_widget(segment, "height", 192)
    comfy_page.set_widget(segment, "dynamic_long_side", 640)
    comfy_page.set_widget(segment, "resolution", "native")  # width, height and dynamic_long_side now hidden
    assert comfy_page.widget(segment, "width")["hidden"]

    saved = comfy_page.graph_workflow()
    saved_segment = next(n for n in saved["nodes"] if str(n["id"]) == str(segment))  # 1.58: "3" live, 3 saved
    # the detail widgets come after the older ones (off by default), so workflows saved before them still load
    assert saved_segment["widgets_values"][:5] == ["native", 256, 192, 640, 4]
    assert saved_segment["widgets_values"][5] == "off"
    prompt = comfy_page.api_prompt()
    assert {k: prompt[str(segment)]["inputs"][k] for k in ("width", "height", "dynamic_long_side")} == {
        "width": 256,
        "height": 192,
        "dynamic_long_side": 640,
    }
    assert not any(k.startswith("birefnet_") for node in prompt.values() for k in node["inputs"])

    comfy_page.load_workflow(EXAMPLES / "remove_background_one_node.json")  # something else in between
    comfy_page.load_workflow(saved)
    reloaded = {w["name"]: w for w in comfy_page.widgets(segment)}
    assert [reloaded[n]["value"] for n in ("resolution", "width", "height", "dynamic_long_side")] == [
        "native",
        256,
        192,
        640,
    ]
    assert reloaded["width"]["hidden"] and not reloaded["batch_size"]["hidden"]
    assert comfy_page.api_prompt() == prompt

    comfy_page.set_widget(segment, "resolution", "custom")  # run at the saved custom size
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    ran = entry["prompt"][2][str(segment)]["inputs"]
    assert (ran["resolution"], ran["width"], ran["height"]) == ("custom", 256, 192)
    comfy_page.assert_no_pack_errors()


def test_model_list_marks_local_files_and_downloads_differently(comfy_page):
    loader = add_node(comfy_page, "BiRefNetExactLoadModel")
    comfy_page.fit_view()
    labels = comfy_page.evaluate(
        """([id, names]) => {
          const node = (window.app.rootGraph ?? window.app.graph).getNodeById(id);
          const model = node.widgets.find((w) => w.name === 'model');
          return names.map((n) => model.options.getOptionLabel(n));
        }""",
        [loader, [TINY_CHECKPOINT, "BiRefNet_lite", "RMBG-2.0"]],
    )
    local, download, gated = labels
    assert local.startswith("●") and "local file" in local, labels
    assert download.startswith("⇣") and "downloads 177 MB" in download and "MIT" in download, labels
    assert "gated" in gated and "non-commercial" in gated, labels

    def info_text() -> str:
        return comfy_page.evaluate(
            "(id) => (window.app.rootGraph ?? window.app.graph).getNodeById(id).widgets"
            ".find((w) => w.name === 'birefnet_info').element.innerText",
            loader,
        )

    comfy_page.set_widget(loader, "model", TINY_CHECKPOINT)
    local_shot = comfy_page.screenshot("model-local")
    assert info_text().startswith("Local file"), local_shot
    assert "allow_download" not in shown_names(comfy_page, loader), local_shot
    comfy_page.set_widget(loader, "model", "BiRefNet_lite")
    download_shot = comfy_page.screenshot("model-download")
    assert "downloads 177 MB from ZhengPeng7/BiRefNet_lite" in info_text(), download_shot
    assert "allow_download" in shown_names(comfy_page, loader), download_shot
    # The text is on the page (DOM widget), not only in the widget object.
    assert comfy_page.page.get_by_text("downloads 177 MB", exact=False).first.is_visible(), download_shot
    comfy_page.assert_no_pack_errors()


def _view(server, file: dict) -> np.ndarray:
    query = urllib.parse.urlencode({k: file[k] for k in ("filename", "subfolder", "type")})
    with urllib.request.urlopen(f"{server.url}/view?{query}", timeout=60) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGBA")).astype(np.float32)


def _expected_over_checker(after: np.ndarray, frame: dict, shot_box: dict, height: int, width: int):
    """The cut-out ``after`` (RGBA, image pixels) as the page should show it in a screenshot region of
    ``height`` x ``width`` starting at ``shot_box``: over the checkerboard, scaled into ``frame``."""
    ys = shot_box["y"] + np.arange(height) + 0.5
    xs = shot_box["x"] + np.arange(width) + 0.5
    u = ((xs - frame["x"]) / frame["width"] * after.shape[1]).astype(int).clip(0, after.shape[1] - 1)
    v = ((ys - frame["y"]) / frame["height"] * after.shape[0]).astype(int).clip(0, after.shape[0] - 1)
    rgba = after[v[:, None], u[None, :]]
    tile = CHECKER_TILE * frame["scale"]
    tx = ((xs - frame["x"]) % tile) >= tile / 2
    ty = ((ys - frame["y"]) % tile) >= tile / 2
    dark = tx[None, :] != ty[:, None]
    checker = np.where(dark, CHECKER_DARK, 255).astype(np.float32)[..., None]
    alpha = rgba[..., 3:] / 255
    return rgba[..., :3] * alpha + checker * (1 - alpha), alpha[..., 0]


def load_remove_background_example(comfy_page) -> int:
    """Load the one-node example with the tiny checkpoint; returns the Remove background node's id."""
    workflow = json.loads((EXAMPLES / "remove_background_one_node.json").read_text())
    for node in workflow["nodes"]:
        if node["type"] == "BiRefNetExactRemoveBackground":
            node["widgets_values"] = [TINY_CHECKPOINT, False]
    comfy_page.load_workflow(workflow)
    return comfy_page.node_ids("BiRefNetExactRemoveBackground")[0]


def preview_frame_box(comfy_page, preview: str = ".birefnet-preview") -> dict:
    """The picture's box on the page (CSS px) in the first preview that matches the selector ``preview``, and
    the canvas zoom (``scale``)."""
    return comfy_page.evaluate(
        """(preview) => {
          const el = document.querySelector(`${preview} .frame`);
          const r = el.getBoundingClientRect();
          return {x: r.x, y: r.y, width: r.width, height: r.height, scale: r.width / el.offsetWidth};
        }""",
        preview,
    )


def test_remove_background_preview_shows_the_checkerboard_and_the_slider_moves(comfy_page):
    node_id = load_remove_background_example(comfy_page)
    forget_earlier_results(comfy_page.server)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    payload = entry["outputs"][str(node_id)]["birefnet_preview"][0]
    assert payload["kind"] == "cutout" and payload["after"]["type"] == "temp"
    after = _view(comfy_page.server, payload["after"])
    assert after.shape[2] == 4

    comfy_page.page.wait_for_selector(".birefnet-preview[data-ready='true']", timeout=60_000)
    comfy_page.fit_view([node_id], max_scale=1.5)
    comfy_page.page.wait_for_timeout(500)
    frame = preview_frame_box(comfy_page)
    assert frame["width"] > 100 and frame["height"] > 60, frame

    def region(name: str, left: float, right: float):
        box = {
            "x": round(frame["x"] + left * frame["width"]) + 2,
            "y": round(frame["y"]) + 2,
            "width": round((right - left) * frame["width"]) - 4,
            "height": round(frame["height"]) - 4,
        }
        pixels, path = comfy_page.pixels(name, clip=box)
        return pixels.astype(np.float32), box, path

    # Right half (after the slider at 0.5): the cut-out over the checkerboard.
    right, box, right_shot = region("after-half", 0.55, 0.95)
    expected, alpha = _expected_over_checker(after, frame, box, *right.shape[:2])
    error = np.abs(right - expected).mean(axis=2)
    assert np.median(error) < 12, (
        f"cut-out not shown over the checkerboard (median error {np.median(error):.1f}); see {right_shot}"
    )
    assert (alpha < 0.9).mean() > 0.05, "the preview shows no transparent pixels: the check would be weak"

    # Drag the slider from the middle to 10 %: the strip 0.15..0.45 turns from the original to the cut-out.
    strip_before, strip_box, before_shot = region("strip-original", 0.15, 0.45)
    y = frame["y"] + frame["height"] / 2
    comfy_page.page.mouse.move(frame["x"] + 0.5 * frame["width"], y)
    comfy_page.page.mouse.down()
    comfy_page.page.mouse.move(frame["x"] + 0.1 * frame["width"], y, steps=8)
    comfy_page.page.mouse.up()
    comfy_page.page.wait_for_timeout(300)
    split = float(comfy_page.evaluate("() => document.querySelector('.birefnet-preview').dataset.split"))
    strip_after, _, after_shot = region("strip-cut-out", 0.15, 0.45)
    assert split == pytest.approx(0.1, abs=0.03), f"slider at {split}; see {after_shot}"
    changed = np.abs(strip_after - strip_before).mean()
    assert changed > 10, (
        f"dragging the slider did not change the pixels ({changed:.1f}); see {before_shot}, {after_shot}"
    )
    expected_strip, _ = _expected_over_checker(after, frame, strip_box, *strip_after.shape[:2])
    error = np.abs(strip_after - expected_strip).mean(axis=2)
    assert np.median(error) < 12, (
        f"uncovered strip is not the cut-out over the checkerboard; see {after_shot}"
    )
    comfy_page.assert_no_pack_errors()


def test_example_workflows_appear_under_the_pack_in_browse_templates(comfy_page):
    comfy_page.evaluate("() => window.app.extensionManager.command.execute('Comfy.BrowseTemplates')")
    dialog = comfy_page.page.get_by_role("dialog").first
    try:
        dialog.wait_for(state="visible", timeout=30_000)
        pack = dialog.get_by_text(PACK_NAME, exact=False).first
        pack.wait_for(state="visible", timeout=30_000)
        pack.click()
        comfy_page.page.wait_for_timeout(1000)
        shot = comfy_page.screenshot("templates")
        text = dialog.inner_text()
        titles = [p.stem for p in EXAMPLES.glob("*.json")]
        missing = [t for t in titles if t not in text and t.replace("_", " ") not in text]
        assert not missing, f"examples missing from Browse Templates under {PACK_NAME}: {missing}; see {shot}"
        comfy_page.assert_no_pack_errors()
    finally:  # the page is reused by the next test: close the dialog with its X (top-right button)
        comfy_page.evaluate(
            """() => {
              const buttons = [...document.querySelectorAll('[role=dialog] button')];
              const corner = (b) => { const r = b.getBoundingClientRect(); return r.right - r.top; };
              buttons.sort((a, b) => corner(b) - corner(a))[0]?.click();
            }"""
        )
        dialog.wait_for(state="hidden", timeout=10_000)


def load_quick_segment_example(comfy_page) -> int:
    """Load the background-removal example with the tiny checkpoint and Segment at 256 x 192 (a quick run);
    returns Segment's id."""
    workflow = json.loads((EXAMPLES / "background_removal_transparent_png.json").read_text())
    for node in workflow["nodes"]:
        if node["type"] == "BiRefNetExactLoadModel":
            node["widgets_values"][0] = TINY_CHECKPOINT
        if node["type"] == "BiRefNetExactSegment":
            node["widgets_values"][:3] = ["custom", 256, 192]
    comfy_page.load_workflow(workflow)
    return comfy_page.node_ids("BiRefNetExactSegment")[0]


def show_mask_preview(comfy_page, node_id) -> None:
    """Turn the node's mask preview on with its menu entry, as the context menu calls it."""
    comfy_page.evaluate(
        """(id) => {
          const node = (window.app.rootGraph ?? window.app.graph).getNodeById(id);
          const options = [];
          node.getExtraMenuOptions(window.app.canvas, options);
          options.find((o) => o && String(o.content).startsWith('Show mask preview')).callback();
        }""",
        node_id,
    )


def test_segment_mask_preview_is_tinted_over_the_image_when_turned_on(comfy_page):
    segment = load_quick_segment_example(comfy_page)
    forget_earlier_results(comfy_page.server)
    entry = comfy_page.run()
    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[:3000]
    assert comfy_page.page.locator(".birefnet-preview[data-kind='mask']").count() == 0  # off by default

    show_mask_preview(comfy_page, segment)
    preview = comfy_page.page.locator(".birefnet-preview[data-kind='mask'][data-ready='true']")
    preview.wait_for(timeout=60_000)
    comfy_page.fit_view([segment], max_scale=1.5)
    comfy_page.page.wait_for_timeout(500)
    frame = comfy_page.evaluate(
        """() => {
          const r = document.querySelector(".birefnet-preview[data-kind='mask'] .frame").getBoundingClientRect();
          return {x: r.x, y: r.y, width: r.width, height: r.height};
        }"""
    )
    half = {"y": frame["y"] + 2, "width": frame["width"] / 2 - 8, "height": frame["height"] - 4}
    image, image_shot = comfy_page.pixels("mask-left-image", clip=half | {"x": frame["x"] + 2})
    tinted, tinted_shot = comfy_page.pixels(
        "mask-right-tinted", clip=half | {"x": frame["x"] + frame["width"] / 2 + 6}
    )
    image, tinted = image.astype(np.float32), tinted.astype(np.float32)
    # The tint (255, 40, 120) pulls red up and green down wherever the mask is on.
    redness = lambda p: (p[..., 0] - p[..., 1]).mean()  # noqa: E731
    assert redness(tinted) > redness(image) + 15, f"no tinted mask in {tinted_shot} (image: {image_shot})"
    comfy_page.assert_no_pack_errors()
