"""Segment and Remove background with a box, points or a region; Crop to subject and Paste back: the node
classes run over stand-ins for ComfyUI (tests/comfy_stand_ins.py) on the tiny random-weight model.

References are the library's own functions called directly (``predict``, ``predict_guided``) and hand-computed
boxes and pixels, so what is checked is the nodes' wiring: every input reaches the library, and inputs that are
not given change nothing.
"""

from __future__ import annotations

import inspect
import sys
from types import SimpleNamespace

import pytest
import torch
from comfy_stand_ins import nodes_over_stand_ins, use_folder_paths

from birefnet import BiRefNetError, Prompt, predict, predict_guided

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GUIDE_INPUTS = ["region", "margin", "box", "points"]
SIZE = (64, 64)  # custom model input: small, for CPU time


class _Output:
    """Stand-in for io.NodeOutput: the node's outputs and ui payload."""

    def __init__(self, *values, ui=None) -> None:
        self.values, self.ui = values, ui


class _ProgressBar:
    def __init__(self, total, node_id=None) -> None:
        self.total = total

    def update_absolute(self, value, total=None) -> None:
        pass


@pytest.fixture
def nodes(tmp_path, monkeypatch):
    """{node id: node class} over stand-ins whose model management, progress bar and NodeOutput work."""
    use_folder_paths(monkeypatch, tmp_path)
    with nodes_over_stand_ins(monkeypatch) as extension:
        mm = sys.modules["comfy.model_management"]
        monkeypatch.setattr(mm, "load_models_gpu", lambda *args, **kwargs: None, raising=False)
        monkeypatch.setattr(mm, "throw_exception_if_processing_interrupted", lambda: None, raising=False)
        monkeypatch.setattr(sys.modules["comfy.utils"], "ProgressBar", _ProgressBar, raising=False)
        monkeypatch.setattr(sys.modules["comfy_api.latest"].io, "NodeOutput", _Output, raising=False)
        yield {node.define_schema().node_id: node for node in extension.NODE_CLASSES}


@pytest.fixture
def handle(tiny_model):
    """What a BIREFNET_MODEL link carries, for the tiny model on the CPU in fp32."""
    from comfyui_birefnet_exact.nodes.model_handle import BiRefNetHandle

    patcher = SimpleNamespace(model=tiny_model, load_device=torch.device("cpu"))
    return BiRefNetHandle(patcher=patcher, compute_dtype=torch.float32, name="tiny", variant=None)


def _image(count: int = 1, height: int = 48, width: int = 80) -> torch.Tensor:
    return torch.rand(count, height, width, 3, generator=torch.Generator().manual_seed(count))


def _segment(nodes, handle, image, **guided) -> torch.Tensor:
    settings = {"resolution": "custom", "width": SIZE[0], "height": SIZE[1], "dynamic_long_side": 1024}
    out = nodes["BiRefNetExactSegment"].execute(handle, image, batch_size=2, **settings, **guided)
    return out.values[0]


@pytest.mark.parametrize("node_id", ["BiRefNetExactSegment", "BiRefNetExactRemoveBackground"])
def test_guide_inputs_come_last_optional_and_empty(nodes, node_id):
    inputs = nodes[node_id].define_schema().inputs
    ids = [item.id for item in inputs]
    assert ids[-4:] == GUIDE_INPUTS
    detail = ids.index("detail")  # the widgets appended before keep their places (saved widget values)
    assert ids[detail : detail + 3] == ["detail", "detail_long_side", "tile_overlap"]
    assert all(item.kwargs.get("optional") for item in inputs[-4:])
    region, margin, box, points = inputs[-4:]
    assert region.kind == "Mask" and (box.kind, points.kind) == ("String", "String")
    assert (margin.kwargs["default"], margin.kwargs["min"], margin.kwargs["max"]) == (32, 0, 4096)
    assert box.kwargs["default"] == points.kwargs["default"] == ""
    defaults = inspect.signature(nodes[node_id].execute).parameters
    assert defaults["region"].default is None and defaults["margin"].default == 32
    assert defaults["box"].default == defaults["points"].default == ""


def test_segment_without_guide_inputs_is_the_plain_prediction(nodes, handle, tiny_model):
    image = _image(2)
    expected = predict(tiny_model, image, SIZE)
    assert torch.equal(_segment(nodes, handle, image), expected)  # an API prompt from before the inputs
    empty = _segment(nodes, handle, image, region=None, margin=32, box="", points=" ")
    assert torch.equal(empty, expected)  # a saved workflow: the new widgets at their defaults


def test_segment_with_a_box_predicts_the_grown_box_and_is_zero_outside(nodes, handle, tiny_model):
    image = _image(2)
    mask = _segment(nodes, handle, image, margin=4, box="20,10,50,30")
    assert torch.equal(
        mask, predict_guided(tiny_model, image, Prompt(boxes=((20, 10, 50, 30),)), SIZE, margin=4)
    )
    outside = torch.ones_like(mask, dtype=torch.bool)
    outside[:, 6:34, 16:54] = False  # the box grown by 4 pixels
    assert mask[outside].abs().max() == 0 and mask[~outside].max() > 0


def test_segment_region_is_per_image_or_one_for_all(nodes, handle, tiny_model):
    image = _image(2)
    region = torch.zeros(2, 48, 80)
    region[0, 5:20, 10:30] = 1.0
    region[1, 25:40, 40:70] = 1.0
    per_image = _segment(nodes, handle, image, region=region, margin=8)
    expected = predict_guided(
        tiny_model, image, [Prompt(region=region[0]), Prompt(region=region[1])], SIZE, margin=8
    )
    assert torch.equal(per_image, expected)
    one_for_all = _segment(nodes, handle, image, region=region[:1], margin=8)
    assert torch.equal(
        one_for_all, predict_guided(tiny_model, image, Prompt(region=region[0]), SIZE, margin=8)
    )
    with pytest.raises(BiRefNetError, match="3 region masks for 2 images"):
        _segment(nodes, handle, image, region=region[[0, 1, 1]])


@pytest.mark.parametrize(
    ("guided", "message"),
    [
        ({"box": "20,10,50"}, "Cannot read box '20,10,50'"),
        ({"box": "50,10,20,30"}, "Box 50,10,20,30 is empty"),
        ({"box": "200,100,300,200"}, "outside the 80x48 image"),
        ({"points": "12;4,5"}, "Cannot read point '12'"),
        ({"region": torch.ones(1, 40, 80)}, "region mask is 80x40 but the image is 80x48"),
        ({"region": torch.zeros(1, 48, 80)}, "region mask is empty"),
    ],
)
def test_bad_guide_inputs_are_errors_naming_the_input(nodes, handle, guided, message):
    with pytest.raises(BiRefNetError, match=message):
        _segment(nodes, handle, _image(), **guided)


def test_detail_with_a_box_is_refused_with_what_to_do(nodes, handle):
    with pytest.raises(BiRefNetError, match="detail is on and a box, points or region is given"):
        _segment(nodes, handle, _image(), detail="native", box="20,10,50,30")


def test_remove_background_cuts_out_the_boxed_object(nodes, handle, tiny_model, monkeypatch):
    node = nodes["BiRefNetExactRemoveBackground"]
    module = sys.modules[node.__module__]
    monkeypatch.setattr(module, "_model", lambda *args: handle)
    monkeypatch.setattr(node, "hidden", SimpleNamespace(unique_id="7"), raising=False)
    segment, resolutions = module.segment, []

    def segment_at_test_size(handle, image, resolution, **settings):  # native is 1024x1024: minutes on a CPU
        resolutions.append(resolution)
        return segment(handle, image, SIZE, **settings)

    monkeypatch.setattr(module, "segment", segment_at_test_size)
    image = _image(1, 40, 40)
    rgba, mask = node.execute(image, "tiny", False, margin=0, box="8,4,24,36").values
    assert resolutions == [None]  # the node's own setting: native
    expected = predict_guided(tiny_model, image, Prompt(boxes=((8, 4, 24, 36),)), SIZE, margin=0)
    assert torch.equal(mask, expected)
    assert rgba.shape == (1, 40, 40, 4) and torch.equal(rgba[..., 3], expected)


def test_crop_to_subject_outputs_the_crop_its_mask_and_the_first_box(nodes):
    image = _image(1, 48, 80)
    mask = torch.zeros(1, 48, 80)
    mask[0, 10:20, 30:45] = 1.0
    crop, crop_mask, boxes, x, y, width, height = (
        nodes["BiRefNetExactCropToSubject"]
        .execute(image, mask, threshold=0.5, aspect="free", multiple=1, per_image=True, margin=2)
        .values
    )
    assert boxes == [(28, 8, 47, 22)] and (x, y, width, height) == (28, 8, 19, 14)
    assert torch.equal(crop, image[:, 8:22, 28:47]) and torch.equal(crop_mask, mask[:, 8:22, 28:47])
    squared = nodes["BiRefNetExactCropToSubject"].execute(
        image, mask, threshold=0.5, aspect="1:1", multiple=8, per_image=True, margin=0
    )
    _, _, [box], x, y, width, height = squared.values
    assert width == height and width % 8 == 0 and width >= 15 and box == (x, y, x + width, y + height)
    assert 0 <= x and x + width <= 80 and 0 <= y and y + height <= 48
    with pytest.raises(BiRefNetError):
        nodes["BiRefNetExactCropToSubject"].execute(
            image, mask, threshold=0.5, aspect="wide", multiple=1, per_image=True
        )


def test_paste_back_of_an_unchanged_crop_restores_the_image(nodes):
    image = _image(2, 48, 80)
    mask = torch.zeros(2, 48, 80)
    mask[0, 10:20, 30:45] = 1.0
    mask[1, 5:40, 2:30] = 1.0
    crop, crop_mask, boxes, *_ = (
        nodes["BiRefNetExactCropToSubject"]
        .execute(image, mask, threshold=0.5, aspect="free", multiple=1, per_image=False, margin=3)
        .values
    )
    paste = nodes["BiRefNetExactPasteBack"]
    (restored,) = paste.execute(image, crop, boxes).values
    assert torch.equal(restored, image)
    (blended,) = paste.execute(image, torch.zeros_like(crop), boxes, mask=crop_mask).values
    x0, y0, x1, y1 = boxes[0]
    expected = image.clone()
    expected[:, y0:y1, x0:x1] = image[:, y0:y1, x0:x1] * (1 - crop_mask[..., None])
    torch.testing.assert_close(blended, expected, rtol=0, atol=1e-6)
