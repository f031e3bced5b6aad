"""Segment and Remove background get the detail-tile widgets after their older inputs (only the object-choice
inputs come after them, tests/nodes/test_guided_nodes.py) and optional, detail off by default, so saved
workflows and API prompts written before them run unchanged."""

from __future__ import annotations

import inspect

import pytest
from comfy_stand_ins import nodes_over_stand_ins, use_folder_paths

DETAIL_WIDGETS = ["detail", "detail_long_side", "tile_overlap"]


@pytest.fixture
def extension(tmp_path, monkeypatch):
    use_folder_paths(monkeypatch, tmp_path)
    with nodes_over_stand_ins(monkeypatch) as extension:
        yield extension


@pytest.mark.parametrize("node_id", ["BiRefNetExactSegment", "BiRefNetExactRemoveBackground"])
def test_detail_widgets_come_after_the_older_inputs_optional_and_off(extension, node_id):
    node = next(n for n in extension.NODE_CLASSES if n.define_schema().node_id == node_id)
    inputs = node.define_schema().inputs[:-4]  # without the object-choice inputs appended after them
    assert [item.id for item in inputs[-3:]] == DETAIL_WIDGETS
    assert all(item.kwargs.get("optional") for item in inputs[-3:])
    assert inputs[-3].kwargs["default"] == "off"
    defaults = inspect.signature(node.execute).parameters
    assert defaults["detail"].default == "off"  # a prompt without the widgets runs the plain pass
    assert defaults["tile_overlap"].default == inputs[-1].kwargs["default"]


def test_detail_argument(extension):
    from comfyui_birefnet_exact.nodes.detail_inputs import detail_argument

    from birefnet import BiRefNetError

    assert detail_argument("off", 4096) is None
    assert detail_argument("native", 4096) == "native"
    assert detail_argument("custom", 6000) == 6000
    with pytest.raises(BiRefNetError, match="unknown; use one of off, native, custom"):
        detail_argument("on", 4096)
