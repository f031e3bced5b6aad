"""The pack loads in a real ComfyUI: no import error, nodes in /object_info, model folders, templates."""

from __future__ import annotations

from birefnet.registry import VARIANTS

from .comfyui_setup import REPO_ROOT
from .conftest import EXTRA_CHECKPOINT, PACK_NAME, TINY_CHECKPOINT

NODE_IDS = {
    "BiRefNetExactLoadModel": (["BIREFNET_MODEL"]),
    "BiRefNetExactSegment": (["MASK"]),
    "BiRefNetExactRefineMask": (["MASK"]),
    "BiRefNetExactComposite": (["IMAGE", "MASK"]),
    "BiRefNetExactRemoveBackground": (["IMAGE", "MASK"]),
}
EXAMPLES = {
    "background_removal_transparent_png",
    "inpainting_mask",
    "video_matting",
    "replace_background",
    "remove_background_one_node",
}


def test_pack_imports_without_error(comfy_server, object_info):
    log = comfy_server.log.read_text()
    timing_lines = [line for line in log.splitlines() if line.rstrip().endswith(PACK_NAME)]
    assert timing_lines, f"the pack is missing from ComfyUI's import times:\n{log[-3000:]}"
    assert not any("IMPORT FAILED" in line for line in timing_lines), "\n".join(timing_lines)
    # ComfyUI's own audio nodes fail without torchaudio (not installed here); no traceback may involve the pack.
    tracebacks = [t.split("\n\n")[0] for t in log.split("Traceback (most recent call last):")[1:]]
    ours = [t for t in tracebacks if PACK_NAME in t or str(REPO_ROOT) in t or "/birefnet/" in t]
    assert not ours, ours[0][:3000]
    assert not [line for line in log.splitlines() if line.startswith("Cannot import") and PACK_NAME in line]


def test_nodes_are_listed_with_their_outputs(object_info):
    for node_id, outputs in NODE_IDS.items():
        assert node_id in object_info, node_id
        assert object_info[node_id]["output"] == outputs
        assert object_info[node_id]["category"] == "BiRefNet"
        assert object_info[node_id]["description"]
    assert "1 - alpha" in object_info["BiRefNetExactComposite"]["description"]


def test_model_list_has_local_files_extra_paths_and_every_variant(object_info):
    options = object_info["BiRefNetExactLoadModel"]["input"]["required"]["model"][1]["options"]
    assert TINY_CHECKPOINT in options  # models/birefnet
    assert EXTRA_CHECKPOINT in options  # a folder named only in extra_model_paths.yaml
    assert set(VARIANTS) <= set(options)


def test_example_workflows_are_served_as_templates(comfy_server):
    templates = comfy_server.get("/workflow_templates")
    assert set(templates[PACK_NAME]) == EXAMPLES
