"""Feature detection of newer ComfyUI features (nodes/comfy_compat.py) against stand-in ``io`` modules.

``OldIO`` has the shape of ComfyUI 0.3.75's ``comfy_api.latest.io`` for what the pack uses (no
``search_aliases``, no ``advanced``, no ``Color``); ``NewIO`` the shape of 0.38's. The stand-ins are dataclasses
and plain classes with the same keyword parameters, so an unknown keyword is a TypeError exactly as in ComfyUI.
"""

from __future__ import annotations

import dataclasses
import types

import pytest
import torch
from comfyui_birefnet_exact.nodes import comfy_compat


@dataclasses.dataclass
class OldSchema:
    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = None
    outputs: list = None
    description: str = ""


@dataclasses.dataclass
class NewSchema(OldSchema):
    search_aliases: list[str] = None
    essentials_category: str = None


def _io_module(new: bool) -> types.ModuleType:
    module = types.ModuleType("stand_in_io")
    module.Schema = NewSchema if new else OldSchema
    for name in ("Int", "Float", "Boolean", "Combo", "String"):
        widget = type(name, (), {})
        if new:

            def init(
                self,
                id,
                display_name=None,
                optional=False,
                tooltip=None,
                default=None,
                min=None,
                advanced=None,
            ):
                self.id, self.default, self.tooltip, self.advanced = id, default, tooltip, advanced

        else:

            def init(self, id, display_name=None, optional=False, tooltip=None, default=None, min=None):
                self.id, self.default, self.tooltip = id, default, tooltip

        widget.Input = type("Input", (), {"__init__": init})
        setattr(module, name, widget)
    if new:

        class Color:
            class Input:
                def __init__(self, id, display_name=None, optional=False, tooltip=None, socketless=True,
                             advanced=None, default="#ffffff"):  # fmt: skip
                    self.id, self.default, self.tooltip, self.kind = id, default, tooltip, "COLOR"

        module.Color = Color
    return module


OLD, NEW = _io_module(new=False), _io_module(new=True)


def test_old_schema_gets_no_search_aliases_and_builds():
    kwargs = comfy_compat.schema_kwargs(io_module=OLD, search_aliases=comfy_compat.SEARCH_ALIASES)
    assert kwargs == {}
    OLD.Schema(node_id="X", **kwargs)  # no TypeError
    with pytest.raises(TypeError):
        OLD.Schema(node_id="X", search_aliases=["rembg"])  # what the helper avoids


def test_new_schema_gets_search_aliases():
    kwargs = comfy_compat.schema_kwargs(io_module=NEW, search_aliases=comfy_compat.SEARCH_ALIASES)
    schema = NEW.Schema(node_id="X", **kwargs)
    assert schema.search_aliases == comfy_compat.SEARCH_ALIASES
    assert {"remove background", "rembg", "matting", "cutout", "mask"} <= set(schema.search_aliases)


def test_advanced_only_where_every_widget_input_takes_it():
    assert comfy_compat.input_kwargs(io_module=OLD, advanced=True) == {}
    OLD.Int.Input("batch_size", default=4, **comfy_compat.input_kwargs(io_module=OLD, advanced=True))
    kwargs = comfy_compat.input_kwargs(io_module=NEW, advanced=True)
    assert kwargs == {"advanced": True}
    assert NEW.Float.Input("guided_eps", default=0.001, **kwargs).advanced is True
    # one widget type without the keyword is enough to leave it out (never a TypeError on that widget)
    mixed = _io_module(new=True)
    mixed.Combo = OLD.Combo
    assert comfy_compat.input_kwargs(io_module=mixed, advanced=True) == {}


def test_color_input_is_a_picker_where_there_is_one_else_text_with_the_same_value_format():
    picker = comfy_compat.color_input("color", default="#00ff00", tooltip="background colour", io_module=NEW)
    assert picker.kind == "COLOR" and picker.default == "#00ff00"
    text = comfy_compat.color_input("color", default="#00ff00", tooltip="background colour", io_module=OLD)
    assert type(text).__name__ == "Input" and text.default == "#00ff00"
    assert "R, G, B" in text.tooltip  # the text field also takes R, G, B


def test_accepts_keyword_reads_signatures():
    def f(a, *, b=None): ...

    def g(a, **kwargs): ...

    def h(a, /, b=None): ...

    assert comfy_compat.accepts_keyword(f, "b") and not comfy_compat.accepts_keyword(f, "c")
    assert comfy_compat.accepts_keyword(g, "anything")
    assert not comfy_compat.accepts_keyword(h, "a")  # positional-only
    assert not comfy_compat.accepts_keyword(len, "x")


def test_gpu_device_options_only_where_comfyui_offers_them():
    old_mm = types.SimpleNamespace()
    assert comfy_compat.gpu_device_options(model_management=old_mm) == []
    assert comfy_compat.resolve_gpu_device("gpu:1", model_management=old_mm) is None
    devices = {"gpu:0": torch.device("cuda", 0), "gpu:1": torch.device("cuda", 1)}
    new_mm = types.SimpleNamespace(
        get_gpu_device_options=lambda: ["default", "cpu", "gpu:0", "gpu:1"],
        resolve_gpu_device_option=lambda option: devices.get(option),
    )
    assert comfy_compat.gpu_device_options(model_management=new_mm) == ["gpu:0", "gpu:1"]
    assert comfy_compat.resolve_gpu_device("gpu:1", model_management=new_mm) == torch.device("cuda", 1)
    assert comfy_compat.resolve_gpu_device("gpu:7", model_management=new_mm) is None
    single = types.SimpleNamespace(get_gpu_device_options=lambda: ["default", "cpu"])
    assert comfy_compat.gpu_device_options(model_management=single) == []
