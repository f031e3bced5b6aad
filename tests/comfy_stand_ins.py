"""Stand-ins for the ComfyUI modules the pack imports, for tests that run without ComfyUI (tests/e2e use a real one).

- ``folder_paths``: one module for the whole session, installed in ``sys.modules`` when this module is first
  imported (the node modules bind ``folder_paths`` when they are first imported, so there must be only one).
  Its functions behave like ComfyUI's for what the pack uses and read the module's tables, which
  ``use_folder_paths`` points at a test's own folders (undone after the test).
- ``nodes_over_stand_ins``: the node modules imported over stand-ins for ``comfy_api.latest``, ``comfy.*`` and
  ``aiohttp`` whose inputs record their keyword arguments, so node schemas can be compared without ComfyUI.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PACK = "comfyui_birefnet_exact"


# --- folder_paths --------------------------------------------------------------------------------------------


def _new_folder_paths() -> ModuleType:
    fp = ModuleType("folder_paths")
    fp.__doc__ = "Stand-in for ComfyUI's folder_paths (tests/comfy_stand_ins.py)."
    fp.IS_STAND_IN = True
    fp.models_dir = ""
    fp.output_directory = ""
    fp.temp_directory = ""
    fp.supported_pt_extensions = set()
    fp.folder_names_and_paths = {}

    def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
        table = fp.folder_names_and_paths
        if folder_name not in table:
            table[folder_name] = ([full_folder_path], set())
            return
        paths = table[folder_name][0]
        if full_folder_path in paths:
            if is_default and paths[0] != full_folder_path:
                paths.remove(full_folder_path)
                paths.insert(0, full_folder_path)
        elif is_default:
            paths.insert(0, full_folder_path)
        else:
            paths.append(full_folder_path)

    def get_folder_paths(folder_name: str) -> list[str]:
        return fp.folder_names_and_paths[folder_name][0][:]

    def get_filename_list(folder_name: str) -> list[str]:
        """Files below the folder's paths (in sub-folders too, as ``sub/name``) with one of its extensions
        (all files when the set is empty), sorted."""
        paths, extensions = fp.folder_names_and_paths[folder_name]
        found: set[str] = set()
        for path in paths:
            for directory, _, files in os.walk(path):
                for file in files:
                    if not extensions or os.path.splitext(file)[1].lower() in extensions:
                        found.add(os.path.relpath(os.path.join(directory, file), path).replace(os.sep, "/"))
        return sorted(found)

    def get_full_path(folder_name: str, filename: str) -> str | None:
        if folder_name not in fp.folder_names_and_paths:
            return None
        for path in fp.folder_names_and_paths[folder_name][0]:
            full = os.path.join(path, filename)
            if os.path.isfile(full):
                return full
        return None

    def get_output_directory() -> str:
        return fp.output_directory

    def get_temp_directory() -> str:
        return fp.temp_directory

    def get_save_image_path(
        filename_prefix: str, output_dir: str, image_width: int = 0, image_height: int = 0
    ) -> tuple[str, str, int, str, str]:
        """(folder, file name, next free counter, subfolder, prefix), as ComfyUI's (no %date% tokens)."""
        subfolder, filename = os.path.split(os.path.normpath(filename_prefix))
        folder = os.path.join(output_dir, subfolder)
        taken = os.listdir(folder) if os.path.isdir(folder) else []
        counter = 1 + sum(1 for name in taken if name.startswith(f"{filename}_"))
        return folder, filename, counter, subfolder, filename_prefix

    for function in (
        add_model_folder_path,
        get_folder_paths,
        get_filename_list,
        get_full_path,
        get_output_directory,
        get_temp_directory,
        get_save_image_path,
    ):
        setattr(fp, function.__name__, function)
    return fp


folder_paths: ModuleType = sys.modules.setdefault("folder_paths", _new_folder_paths())
if not getattr(folder_paths, "IS_STAND_IN", False):
    raise RuntimeError(f"another folder_paths module is loaded ({folder_paths!r}); the tests need theirs")


def use_folder_paths(
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    folders: dict[str, list[Path]] | None = None,
    extensions: set[str] | None = None,
) -> ModuleType:
    """Point the stand-in ``folder_paths`` at a ComfyUI tree under ``root`` for one test and return it.

    models_dir ``root/models``, output ``root/output``, temp ``root/temp`` (created). ``folders``: the model
    folder names registered before the pack's (each path created), all with the one ``extensions`` set, as
    ComfyUI core registers its folders with the shared ``supported_pt_extensions``.
    """
    extensions = set() if extensions is None else extensions
    (root / "temp").mkdir(parents=True, exist_ok=True)
    table = {}
    for name, paths in (folders or {}).items():
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
        table[name] = ([str(path) for path in paths], extensions)
    for attribute, value in {
        "models_dir": str(root / "models"),
        "output_directory": str(root / "output"),
        "temp_directory": str(root / "temp"),
        "supported_pt_extensions": extensions,
        "folder_names_and_paths": table,
    }.items():
        monkeypatch.setattr(folder_paths, attribute, value)
    return folder_paths


# --- comfy_api, comfy and aiohttp, for node schemas ----------------------------------------------------------


class Recorded:
    """An input or output of a stand-in ``io`` type: ``kind`` (the type's name), ``id`` and the keyword
    arguments it was given (``min``, ``max``, ``default``, ``tooltip``...)."""

    def __init__(self, kind: str, id: str | None = None, **kwargs: Any) -> None:
        self.kind, self.id, self.kwargs = kind, id, kwargs

    def __repr__(self) -> str:
        return f"{self.kind}.Input({self.id!r}, {self.kwargs})"


def _no_dunders(name: str) -> None:
    if name.startswith("__"):  # __file__, __path__...: absent, as import machinery and tools expect
        raise AttributeError(name)


class _IoType:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def Input(self, id: str, **kwargs: Any) -> Recorded:  # noqa: N802 (ComfyUI's name)
        return Recorded(self.kind, id, **kwargs)

    def Output(self, id: str | None = None, **kwargs: Any) -> Recorded:  # noqa: N802
        return Recorded(self.kind, id, **kwargs)

    def __getattr__(self, name: str) -> str:  # io.Hidden.unique_id, io.FolderType.output...
        _no_dunders(name)
        return f"{self.kind}.{name}"


class _Schema:
    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def _module(name: str, fallback: Any = None, **attributes: Any) -> ModuleType:
    """A module with ``attributes``; with ``fallback``, any other (non-dunder) name gives ``fallback(name)``
    (PEP 562). Without, other names are absent: the nodes use them only when they run, and feature detection
    (``comfy_compat``) then sees an older ComfyUI."""
    module = ModuleType(name)
    module.__dict__.update(attributes)
    if fallback is not None:

        def __getattr__(attribute: str) -> Any:  # noqa: N807
            _no_dunders(attribute)
            return fallback(attribute)

        module.__getattr__ = __getattr__
    return module


@contextlib.contextmanager
def nodes_over_stand_ins(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``<pack>.nodes.extension`` (its ``NODE_CLASSES``: every node) imported over stand-ins for
    ``comfy_api.latest`` (an ``io`` whose inputs are ``Recorded``), ``comfy.*`` and ``aiohttp``. The modules
    imported in the block are dropped after it, so no other test sees nodes bound to the stand-ins."""
    io = _module("comfy_api.latest.io", _IoType, Schema=_Schema, ComfyNode=type("ComfyNode", (), {}))
    io.Custom = _IoType
    latest = _module(
        "comfy_api.latest",
        io=io,
        ui=_module("comfy_api.latest.ui"),
        InputImpl=_module("comfy_api.latest.InputImpl"),
        ComfyExtension=type("ComfyExtension", (), {}),
    )
    stand_ins = {"comfy_api": _module("comfy_api", latest=latest), "comfy_api.latest": latest}
    stand_ins["aiohttp.web"] = _module("aiohttp.web")
    stand_ins["aiohttp"] = _module("aiohttp", web=stand_ins["aiohttp.web"])
    parts = {name: _module(f"comfy.{name}") for name in ("model_management", "model_patcher", "utils")}
    stand_ins["comfy"] = _module("comfy", **parts)
    stand_ins.update({f"comfy.{name}": module for name, module in parts.items()})
    for name, module in stand_ins.items():
        monkeypatch.setitem(sys.modules, name, module)

    package = importlib.import_module(f"{PACK}.nodes")
    modules_before, attributes_before = set(sys.modules), set(vars(package))
    try:
        yield importlib.import_module(f"{PACK}.nodes.extension")
    finally:
        for name in set(sys.modules) - modules_before:
            del sys.modules[name]
        for attribute in set(vars(package)) - attributes_before:
            delattr(package, attribute)
