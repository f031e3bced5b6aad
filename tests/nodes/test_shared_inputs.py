"""Inputs that several nodes show have one definition (nodes/shared_inputs.py), checked on the node schemas
themselves, built over stand-ins for ComfyUI (tests/comfy_stand_ins.py)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from comfy_stand_ins import nodes_over_stand_ins, use_folder_paths

WIDGETS = {"Int", "Float", "Boolean", "Combo", "String", "Color"}
PER_NODE = {
    ("model", "default"),
    ("color", "tooltip"),
    ("margin", "tooltip"),
    ("threshold", "default"),
    ("threshold", "tooltip"),
}
"""What may differ between nodes: Remove background preselects "BiRefNet"; the colour and the margin say what
they are for; Refine binarises at its threshold only when asked (0 = off), Crop to subject always needs one."""


@pytest.fixture
def schemas(tmp_path, monkeypatch):
    """{node id: {input id: Recorded input}} of every node of the pack."""
    use_folder_paths(monkeypatch, tmp_path)
    with nodes_over_stand_ins(monkeypatch) as extension:
        built = [node.define_schema() for node in extension.NODE_CLASSES]
    return {schema.node_id: {item.id: item for item in schema.inputs} for schema in built}


def test_refine_and_video_matting_share_their_refine_inputs_with_the_wider_ranges(schemas):
    refine, video = schemas["BiRefNetExactRefineMask"], schemas["BiRefNetExactVideoMatting"]
    for name in ("grow", "feather", "temporal_radius"):
        assert (refine[name].kind, refine[name].kwargs) == (video[name].kind, video[name].kwargs), name
    # The widest range either node had, so that every saved workflow still validates.
    assert (refine["grow"].kwargs["min"], refine["grow"].kwargs["max"]) == (-512, 512)
    assert (refine["feather"].kwargs["min"], refine["feather"].kwargs["max"]) == (0.0, 256.0)
    assert refine["feather"].kwargs["step"] == 0.1  # finer of 0.5 / 0.1: both nodes' saved values stay on it
    assert (refine["temporal_radius"].kwargs["min"], refine["temporal_radius"].kwargs["max"]) == (0, 32)


def test_every_widget_shown_by_several_nodes_is_defined_once(schemas):
    shown: dict[str, dict[str, object]] = defaultdict(dict)
    for node_id, inputs in schemas.items():
        for input_id, item in inputs.items():
            if item.kind in WIDGETS:
                shown[input_id][node_id] = item
    shared = {input_id: nodes for input_id, nodes in shown.items() if len(nodes) > 1}
    assert {input_id: sorted(nodes) for input_id, nodes in shared.items()} == {
        "resolution": ["BiRefNetExactSegment", "BiRefNetExactVideoMatting"],
        "width": ["BiRefNetExactSegment", "BiRefNetExactVideoMatting"],
        "height": ["BiRefNetExactSegment", "BiRefNetExactVideoMatting"],
        "dynamic_long_side": ["BiRefNetExactSegment", "BiRefNetExactVideoMatting"],
        "batch_size": ["BiRefNetExactSegment", "BiRefNetExactVideoMatting"],
        "grow": ["BiRefNetExactRefineMask", "BiRefNetExactVideoMatting"],
        "feather": ["BiRefNetExactRefineMask", "BiRefNetExactVideoMatting"],
        "temporal_radius": ["BiRefNetExactRefineMask", "BiRefNetExactVideoMatting"],
        "color": ["BiRefNetExactComposite", "BiRefNetExactVideoMatting"],
        "fix_edge_colors": ["BiRefNetExactComposite", "BiRefNetExactVideoMatting"],
        "model": ["BiRefNetExactLoadModel", "BiRefNetExactRemoveBackground"],
        "allow_download": ["BiRefNetExactLoadModel", "BiRefNetExactRemoveBackground"],
        "detail": ["BiRefNetExactRemoveBackground", "BiRefNetExactSegment"],
        "detail_long_side": ["BiRefNetExactRemoveBackground", "BiRefNetExactSegment"],
        "tile_overlap": ["BiRefNetExactRemoveBackground", "BiRefNetExactSegment"],
        "margin": [
            "BiRefNetExactCropToSubject",
            "BiRefNetExactRemoveBackground",
            "BiRefNetExactSegment",
            "BiRefNetExactVideoMatting",
        ],
        "threshold": ["BiRefNetExactCropToSubject", "BiRefNetExactRefineMask"],
        "box": ["BiRefNetExactRemoveBackground", "BiRefNetExactSegment"],
        "points": ["BiRefNetExactRemoveBackground", "BiRefNetExactSegment"],
    }
    for input_id, nodes in shared.items():
        (first_id, first), *others = nodes.items()
        for node_id, item in others:
            assert item.kind == first.kind, (input_id, node_id)
            for key in first.kwargs.keys() | item.kwargs.keys():
                if (input_id, key) not in PER_NODE:
                    assert item.kwargs.get(key) == first.kwargs.get(key), (input_id, key, first_id, node_id)


def test_remove_background_preselects_birefnet_and_the_loader_the_first_entry(schemas):
    loader = schemas["BiRefNetExactLoadModel"]["model"].kwargs
    one_node = schemas["BiRefNetExactRemoveBackground"]["model"].kwargs
    assert loader["options"] == one_node["options"] and "BiRefNet" in loader["options"]
    assert loader["default"] == loader["options"][0] and one_node["default"] == "BiRefNet"
