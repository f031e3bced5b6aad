"""Node sizes: a node loaded from a saved workflow takes the height of its visible widgets (a height set by
hand stays), and the loader's info line is never cut at the node's edge (web/widgets.js, info_widget.js)."""

from __future__ import annotations

import json

import pytest

from .test_front_end import EXAMPLES

BACKGROUND_REMOVAL = EXAMPLES / "background_removal_transparent_png.json"
LONG_STATUS = (
    "Loaded: swin_v1_l backbone, 1024x1024 native, patch order current, device cuda:0, precision fp16 "
    "autocast (fp32 weights), compiled: no"
)

# Size, computed size and the node's box on the page; for the loader, its info line's parts.
SIZES = """(id) => {
  const graph = window.app.rootGraph ?? window.app.graph;
  const node = graph.nodes.find((n) => String(n.id) === String(id));
  const info = node.widgets.find((w) => w.name === 'birefnet_info')?.element;
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,
    bottom: r.bottom, width: r.width, height: r.height}; };
  return {
    size: [...node.size], computed: [...node.computeSize()], fitted: node.properties?.birefnet_fitted_height ?? null,
    info: info && {
      about: box(info.querySelector('.about')), status: box(info.querySelector('.status')), root: box(info),
      scroll: [info.scrollWidth, info.scrollHeight], client: [info.clientWidth, info.clientHeight],
      text: info.innerText, widget: node.widgets.find((w) => w.name === 'birefnet_info').computedHeight,
      min: node.widgets.find((w) => w.name === 'birefnet_info').options.getMinHeight(),
    },
  };
}"""


def sizes(comfy_page, node_id) -> dict:
    comfy_page.page.wait_for_timeout(400)  # the ResizeObserver and the fit after a load run asynchronously
    return comfy_page.evaluate(SIZES, node_id)


# The room under a Vue node's last widget row (canvas px): its box's bottom minus the lowest bottom of the
# elements that show a widget's name (1.58 puts the pack's badge, about 30 px, under the last row).
VUE_EMPTY_SPACE = """([id, names]) => {
  const el = document.querySelector(`[data-node-id="${id}"]`);
  const labels = [...el.querySelectorAll('*')].filter((e) => !e.children.length && names.includes(e.textContent.trim()));
  const lowest = Math.max(...labels.map((e) => e.getBoundingClientRect().bottom));
  return (el.getBoundingClientRect().bottom - lowest) / window.app.canvas.ds.scale;
}"""
VUE_BADGE_ROOM = 40  # canvas px under the last row in a fitted Vue node (badge and padding)


def empty_space(comfy_page, node_id) -> float:
    """Room under the node's last widget row beyond what it needs (canvas px): classic, its height over
    the computed one; Vue, the room under the last row less the badge's."""
    if comfy_page.renderer == "vue":
        comfy_page.page.wait_for_timeout(400)
        names = [w["name"] for w in comfy_page.widgets(node_id) if not w["hidden"]]
        return comfy_page.evaluate(VUE_EMPTY_SPACE, [node_id, names]) - VUE_BADGE_ROOM
    got = sizes(comfy_page, node_id)
    return got["size"][1] - got["computed"][1]


def test_a_loaded_node_takes_the_height_of_its_visible_widgets_unless_set_by_hand(comfy_page):
    version = tuple(int(part) for part in comfy_page.frontend.version.split(".")[:2])
    if comfy_page.renderer == "vue" and version < (1, 58):
        # Seen with 1.32.9 and 1.35.9 (ComfyUI 0.8.0's own): their Vue nodes ignore node.setSize from extensions.
        pytest.skip(f"front end {comfy_page.frontend.version}'s Vue nodes keep a loaded node's saved size")
    workflow = json.loads(BACKGROUND_REMOVAL.read_text())
    comfy_page.load_workflow(workflow)
    shot = comfy_page.screenshot("loaded-example")
    for node_type in ("BiRefNetExactSegment", "BiRefNetExactComposite"):
        node_id = comfy_page.node_ids(node_type)[0]
        space = empty_space(comfy_page, node_id)
        assert space <= 10, f"{node_type} has {space:.0f} px of empty space under its widgets; see {shot}"

    # The user makes Composite taller and the loader too short (as a drag on the node's corner does), saves, loads.
    composite = comfy_page.node_ids("BiRefNetExactComposite")[0]
    loader = comfy_page.node_ids("BiRefNetExactLoadModel")[0]
    comfy_page.evaluate(
        """([composite, loader]) => {
          const graph = window.app.rootGraph ?? window.app.graph;
          const byId = (id) => graph.nodes.find((n) => String(n.id) === String(id));
          byId(composite).setSize([340, 400]);
          byId(loader).setSize([320, 60]);
        }""",
        [composite, loader],
    )
    by_hand = comfy_page.graph_workflow()
    comfy_page.load_workflow(EXAMPLES / "remove_background_one_node.json")  # something else in between
    comfy_page.load_workflow(by_hand)
    shot = comfy_page.screenshot("loaded-sized-by-hand")
    segment = comfy_page.node_ids("BiRefNetExactSegment")[0]  # saved at the height the pack gave it: fitted
    assert empty_space(comfy_page, segment) <= 10, f"Segment lost its fitted height; see {shot}"
    got = sizes(comfy_page, composite)
    assert got["size"] == [340, 400], f"the hand-set size was not kept: {got}; see {shot}"
    assert empty_space(comfy_page, composite) > 100, f"the hand-set height is not on the page; see {shot}"
    got = sizes(comfy_page, loader)
    assert got["size"][1] >= got["computed"][1] - 1 and got["size"][1] > 60, (
        f"a node set too short by hand must still show all its widgets: {got}; see {shot}"
    )
    comfy_page.assert_no_pack_errors()


def _assert_info_inside_node(comfy_page, loader, name: str) -> dict:
    got = sizes(comfy_page, loader)
    rect = comfy_page.node_rect(loader)
    shot = comfy_page.screenshot(name, clip=rect)
    info = got["info"]
    right, bottom = rect["x"] + rect["width"], rect["y"] + rect["height"]
    for part in ("about", "status"):
        box = info[part]
        assert box["right"] <= right + 1 and box["bottom"] <= bottom + 1, (
            f"info line's {part} reaches past the node ({box} vs node {rect}); see {shot}"
        )
    assert info["about"]["width"] <= info["root"]["width"] + 1, (info, shot)
    # nothing clipped inside the widget either: its text fits its box
    assert info["scroll"][0] <= info["client"][0] + 1 and info["scroll"][1] <= info["client"][1] + 1, (
        f"the info line's text is cut inside its widget ({got}); see {shot}"
    )
    return info


def test_the_loaders_info_line_is_never_cut_at_the_node_edge(comfy_page):
    comfy_page.load_workflow(BACKGROUND_REMOVAL)  # the loader saved at 320 x 180: too short for its text
    loader = comfy_page.node_ids("BiRefNetExactLoadModel")[0]
    comfy_page.fit_view([loader], max_scale=1.5)
    info = _assert_info_inside_node(comfy_page, loader, "info-downloads")
    assert "Licence: MIT." in info["text"], info

    url = next(u for u in comfy_page.pack_scripts_loaded() if u.endswith("/info_widget.js"))
    comfy_page.evaluate(
        """async ([url, id, text]) => {
          const { setInfoStatus } = await import(url);
          const graph = window.app.rootGraph ?? window.app.graph;
          setInfoStatus(graph.nodes.find((n) => String(n.id) === String(id)), text);
        }""",
        [url, loader, LONG_STATUS],
    )
    info = _assert_info_inside_node(comfy_page, loader, "info-long-status")
    assert LONG_STATUS in info["text"].replace("\n", " "), info

    comfy_page.evaluate(  # a narrower node: more lines
        """(id) => {
          const graph = window.app.rootGraph ?? window.app.graph;
          const node = graph.nodes.find((n) => String(n.id) === String(id));
          node.setSize([240, node.size[1]]);
        }""",
        loader,
    )
    comfy_page.fit_view([loader], max_scale=1.5)
    _assert_info_inside_node(comfy_page, loader, "info-narrow")
    comfy_page.assert_no_pack_errors()
