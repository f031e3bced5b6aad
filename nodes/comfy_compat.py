"""Newer ComfyUI features, used where the running ComfyUI has them and left out where it does not.

Detection looks at what the running ComfyUI offers (a keyword in a signature, a class, a function), never at
version numbers: ComfyUI 0.3.75 (our end-to-end tests) and 0.8.0 have none of these, 0.38 has them all. An unknown
keyword to ``io.Schema`` or an ``Input`` is a TypeError in older versions, so nodes pass the new ones only
through these helpers:

    io.Schema(..., **schema_kwargs(search_aliases=SEARCH_ALIASES))
    io.Int.Input("batch_size", ..., **input_kwargs(advanced=True))
    color_input("color", default="#00ff00", tooltip="...")
    gpu_device_options()  /  resolve_gpu_device(option)

``comfy_api.latest.io`` and ``comfy.model_management`` are imported when first needed; tests pass stand-ins
(``schema_kwargs(io_module=...)``, ``gpu_device_options(model_management=...)``).
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

import torch

SEARCH_ALIASES = ["remove background", "rembg", "matting", "cutout", "mask", "background removal", "birefnet"]
"""Words the node search (ComfyUI >= 0.38) also finds the pack's nodes by."""


def accepts_keyword(function: Any, keyword: str) -> bool:
    """Whether ``function`` (a callable or a class: its constructor) takes ``keyword`` as a keyword argument."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    if keyword in parameters:
        return parameters[keyword].kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _io(io_module: ModuleType | None) -> ModuleType:
    if io_module is not None:
        return io_module
    from comfy_api.latest import io

    return io


def schema_kwargs(io_module: ModuleType | None = None, **kwargs: Any) -> dict[str, Any]:
    """The subset of ``kwargs`` the running ``io.Schema`` accepts (e.g. ``search_aliases``)."""
    schema_class = _io(io_module).Schema
    return {key: value for key, value in kwargs.items() if accepts_keyword(schema_class, key)}


def input_kwargs(io_module: ModuleType | None = None, **kwargs: Any) -> dict[str, Any]:
    """The subset of ``kwargs`` every widget input of the running ComfyUI accepts (e.g. ``advanced=True``)."""
    module = _io(io_module)
    widgets = (module.Int.Input, module.Float.Input, module.Boolean.Input, module.Combo.Input)
    return {key: value for key, value in kwargs.items() if all(accepts_keyword(w, key) for w in widgets)}


def color_input(
    id: str, default: str, tooltip: str, io_module: ModuleType | None = None, **kwargs: Any
) -> Any:
    """A colour picker (``io.Color``, value ``"#rrggbb"``) where ComfyUI has one, else a text field.

    Both store the colour as the same ``#RRGGBB`` string, so saved workflows load in either version; the text
    field also takes ``R, G, B``.
    """
    module = _io(io_module)
    color = getattr(module, "Color", None)
    if color is not None and hasattr(color, "Input"):
        return color.Input(id, default=default, tooltip=tooltip, **kwargs)
    return module.String.Input(id, default=default, tooltip=f"{tooltip}: #RRGGBB or R, G, B", **kwargs)


def _model_management(model_management: ModuleType | None) -> ModuleType:
    if model_management is not None:
        return model_management
    import comfy.model_management

    return comfy.model_management


def gpu_device_options(model_management: ModuleType | None = None) -> list[str]:
    """The extra GPUs ComfyUI lets nodes choose (``gpu:0``, ``gpu:1``... from ``get_gpu_device_options``,
    ComfyUI >= 0.38 started with several devices), else ``[]``. Its ``default`` and ``cpu`` entries are left
    out: the pack's own ``auto`` and ``cpu`` say the same."""
    options = getattr(_model_management(model_management), "get_gpu_device_options", None)
    if options is None:
        return []
    return [name for name in options() if isinstance(name, str) and name.startswith("gpu:")]


def resolve_gpu_device(option: str, model_management: ModuleType | None = None) -> torch.device | None:
    """The torch device of a ``gpu:N`` option from :func:`gpu_device_options`; None if ComfyUI has no such
    device (any more)."""
    resolve = getattr(_model_management(model_management), "resolve_gpu_device_option", None)
    if resolve is None:
        return None
    device = resolve(option)
    return torch.device(device) if device is not None else None
