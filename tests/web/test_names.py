"""The names web/names.js shares with the Python side (nodes/) are the same strings on both sides.

Neither side is imported: web/names.js is read as text, the Python modules (which import ComfyUI) are
parsed with ``ast``. Python names are looked up in every module under nodes/, so moving one between
modules does not break the test; renaming or changing one on either side does.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAMES_JS = REPO / "web" / "names.js"
NODES = REPO / "nodes"

# names.js constant -> the Python module-level constant it copies
CONSTANTS = {
    "MODELS_ROUTE": "MODELS_ROUTE",
    "DOWNLOAD_EVENT": "DOWNLOAD_EVENT",
    "INFO_KEY": "INFO_KEY",
    "PREVIEW_KEY": "PREVIEW_KEY",
}
# NODE_TYPES key -> the node class whose io.Schema(node_id=...) it copies
NODE_CLASSES = {
    "LOAD_MODEL": "LoadBiRefNetModel",
    "SEGMENT": "BiRefNetSegment",
    "REFINE_MASK": "BiRefNetRefineMask",
    "COMPOSITE": "BiRefNetComposite",
    "REMOVE_BACKGROUND": "BiRefNetRemoveBackground",
    "VIDEO_MATTING": "BiRefNetVideoMatting",
    "CROP_TO_SUBJECT": "BiRefNetCropToSubject",
    "PASTE_BACK": "BiRefNetPasteBack",
}
# GUIDE_WIDGETS key -> the Python module-level constant holding that input's name
GUIDE_WIDGETS = {
    "REGION": "REGION_INPUT",
    "MARGIN": "MARGIN_WIDGET",
    "BOX": "BOX_WIDGET",
    "POINTS": "POINTS_WIDGET",
}
# PREVIEW_KINDS key -> the function that builds that payload ({"kind": ...})
PREVIEW_FUNCTIONS = {"CUTOUT": "cutout_preview", "MASK": "mask_preview"}
MODEL_KINDS_FUNCTION = "describe_choice"  # the model list entries ({"kind": ...})

_STRING = r'"((?:[^"\\]|\\.)*)"'
_EXPORT = re.compile(r"^export\s+const\s+(\w+)\s*=\s*(.*?);\s*$", re.M | re.S)
_OBJECT = re.compile(r"^Object\.freeze\(\{(.*)\}\)$", re.S)
_ENTRY = re.compile(rf"^\s*(\w+)\s*:\s*{_STRING}\s*,?\s*$", re.M)


@cache
def js_names() -> dict[str, str | dict[str, str]]:
    """``export const NAME = "text";`` and ``export const NAME = Object.freeze({ KEY: "text", ... });``."""
    source = re.sub(r"^\s*//[^\n]*|/\*.*?\*/", "", NAMES_JS.read_text(encoding="utf-8"), flags=re.M | re.S)
    names: dict[str, str | dict[str, str]] = {}
    for name, value in _EXPORT.findall(source):
        value = value.strip()
        if string := re.fullmatch(_STRING, value):
            names[name] = string.group(1)
        elif obj := _OBJECT.match(value):
            entries = dict(_ENTRY.findall(obj.group(1)))
            assert len(entries) == obj.group(1).count(":"), f'{name}: an entry is not KEY: "text"'
            names[name] = entries
        else:
            raise AssertionError(f"web/names.js: cannot read {name} = {value}")
    assert len(names) == len(re.findall(r"^export\b", source, re.M)), "an export of web/names.js was not read"
    return names


@cache
def python_modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(NODES.rglob("*.py"))}


def only(found: list, what: str):
    assert len(found) == 1, f"{what}: expected one definition under nodes/, found {len(found)}"
    return found[0]


def assigned_names(statement: ast.stmt) -> set[str]:
    """The plain names a module-level statement assigns (``NAME = ...``, ``NAME: type = ...``)."""
    if isinstance(statement, ast.Assign):
        return {t.id for t in statement.targets if isinstance(t, ast.Name)}
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return {statement.target.id}
    return set()


def python_constant(name: str) -> str:
    """The string of a module-level ``NAME = "text"`` in nodes/."""
    found = [
        statement.value.value
        for tree in python_modules().values()
        for statement in tree.body
        if name in assigned_names(statement)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    ]
    return only(found, f"constant {name}")


def python_definition(kind: type, name: str) -> ast.AST:
    found = [
        n
        for tree in python_modules().values()
        for n in ast.walk(tree)
        if isinstance(n, kind) and n.name == name
    ]
    return only(found, f"{kind.__name__} {name}")


def node_id(class_name: str) -> str:
    """``node_id="..."`` of the node class's schema."""
    found = [
        keyword.value.value
        for call in ast.walk(python_definition(ast.ClassDef, class_name))
        if isinstance(call, ast.Call)
        for keyword in call.keywords
        if keyword.arg == "node_id" and isinstance(keyword.value, ast.Constant)
    ]
    return only(found, f"node_id of {class_name}")


def kinds(function_name: str) -> set[str]:
    """The string values of ``"kind"`` in the dicts the function builds."""
    function = python_definition(ast.FunctionDef, function_name)
    return {
        value.value
        for node in ast.walk(function)
        if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=True)
        if isinstance(key, ast.Constant) and key.value == "kind" and isinstance(value, ast.Constant)
    }


def test_names_js_exports_exactly_the_checked_names():
    checked = {*CONSTANTS, "NODE_TYPES", "MODEL_KINDS", "PREVIEW_KINDS", "GUIDE_WIDGETS"}
    assert set(js_names()) == checked


@pytest.mark.parametrize("js_name", CONSTANTS)
def test_constant_matches_python(js_name):
    assert js_names()[js_name] == python_constant(CONSTANTS[js_name])


def test_node_types_match_the_node_schemas():
    assert js_names()["NODE_TYPES"] == {key: node_id(cls) for key, cls in NODE_CLASSES.items()}


def test_guide_widgets_match_the_python_input_names():
    assert js_names()["GUIDE_WIDGETS"] == {key: python_constant(name) for key, name in GUIDE_WIDGETS.items()}


def test_model_kinds_match_the_model_list_entries():
    assert set(js_names()["MODEL_KINDS"].values()) == kinds(MODEL_KINDS_FUNCTION)


def test_preview_kinds_match_the_preview_payloads():
    expected = {
        key: only(sorted(kinds(function)), f"kind of {function}")
        for key, function in PREVIEW_FUNCTIONS.items()
    }
    assert js_names()["PREVIEW_KINDS"] == expected
