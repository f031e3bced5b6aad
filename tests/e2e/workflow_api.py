"""Turn a UI-format workflow (what ComfyUI's frontend saves) into the API format ``/prompt`` accepts.

The UI format stores widget values positionally (``widgets_values``) and links separately; the input
order comes from the server's ``/object_info``, exactly as the frontend does it.
"""

from __future__ import annotations

from typing import Any

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
NOT_EXECUTED = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}
_MUTED_OR_BYPASSED = {2, 4}


def _is_widget(spec: list[Any]) -> bool:
    return isinstance(spec[0], list) or spec[0] in WIDGET_TYPES


_MISSING = object()


def _widget_default(spec: list, options: dict[str, Any]) -> Any:
    """The value a widget starts with: its ``default``, else a combo's first option."""
    if "default" in options:
        return options["default"]
    choices = spec[0] if isinstance(spec[0], list) else options.get("options")
    if choices:
        return choices[0]
    raise ValueError(f"widget {spec!r} has no default and the workflow gives no value for it")


def ui_to_api(workflow: dict[str, Any], object_info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """API-format prompt ``{node id: {"class_type", "inputs", "_meta"}}`` of a UI-format workflow."""
    links = {link[0]: link for link in workflow["links"]}
    prompt: dict[str, dict[str, Any]] = {}
    for node in workflow["nodes"]:
        if node["type"] in NOT_EXECUTED or node.get("mode", 0) in _MUTED_OR_BYPASSED:
            continue
        info = object_info[node["type"]]
        order = info["input_order"].get("required", []) + info["input_order"].get("optional", [])
        specs = {**info["input"].get("required", {}), **info["input"].get("optional", {})}
        linked = {i["name"]: links[i["link"]] for i in node.get("inputs", []) if i.get("link") is not None}
        values = iter(node.get("widgets_values") or [])
        inputs: dict[str, Any] = {}
        for name in order:
            spec = specs[name]
            if _is_widget(spec):
                options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                # A workflow saved before a widget was appended has fewer values: the front end keeps the
                # new widget's default, and so does this conversion.
                value = next(values, _MISSING)
                if value is _MISSING:
                    value = _widget_default(spec, options)
                if options.get("control_after_generate") or name in ("seed", "noise_seed"):
                    next(values)  # the frontend's "fixed / randomize" companion widget
                if name not in linked:
                    inputs[name] = value
            if name in linked:
                link = linked[name]
                inputs[name] = [str(link[1]), link[2]]
        prompt[str(node["id"])] = {
            "class_type": node["type"],
            "inputs": inputs,
            "_meta": {"title": node.get("title") or node["type"]},
        }
    return prompt


def drop_nodes(prompt: dict[str, dict[str, Any]], class_types: set[str]) -> dict[str, dict[str, Any]]:
    """``prompt`` without nodes of ``class_types`` and every node that depends on them, transitively."""
    dropped = {nid for nid, node in prompt.items() if node["class_type"] in class_types}
    changed = True
    while changed:
        changed = False
        for nid, node in prompt.items():
            if nid in dropped:
                continue
            sources = {v[0] for v in node["inputs"].values() if isinstance(v, list) and len(v) == 2}
            if sources & dropped:
                dropped.add(nid)
                changed = True
    return {nid: node for nid, node in prompt.items() if nid not in dropped}


def nodes_of(prompt: dict[str, dict[str, Any]], class_type: str) -> list[dict[str, Any]]:
    return [node for node in prompt.values() if node["class_type"] == class_type]


def node_titled(prompt: dict[str, dict[str, Any]], title: str) -> dict[str, Any]:
    matches = [node for node in prompt.values() if node["_meta"]["title"] == title]
    assert len(matches) == 1, f"expected one node titled {title!r}, found {len(matches)}"
    return matches[0]
