"""The pack loads in a real ComfyUI: no import error, nodes in /object_info, model folders, templates."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from birefnet import VARIANTS

from .comfyui_setup import REPO_ROOT
from .conftest import EXTRA_CHECKPOINT, PACK_NAME, TINY_CHECKPOINT

NODE_IDS = {
    "BiRefNetExactLoadModel": (["BIREFNET_MODEL"]),
    "BiRefNetExactSegment": (["MASK"]),
    "BiRefNetExactRefineMask": (["MASK"]),
    "BiRefNetExactComposite": (["IMAGE", "MASK"]),
    "BiRefNetExactRemoveBackground": (["IMAGE", "MASK"]),
    "BiRefNetExactVideoMatting": (["VIDEO", "STRING"]),
    "BiRefNetExactCropToSubject": (["IMAGE", "MASK", "BIREFNET_BOXES", "INT", "INT", "INT", "INT"]),
    "BiRefNetExactPasteBack": (["IMAGE"]),
}
TRACEBACK_FILE = re.compile(r'^\s*File "([^"]+)", line \d+', re.MULTILINE)
CANNOT_IMPORT = re.compile(r"^Cannot import (.+?) module for custom nodes", re.MULTILINE)


def is_pack_path(path: str, repo_root: str = str(REPO_ROOT)) -> bool:
    """Whether a file path in ComfyUI's log is the pack's: inside the repository, or inside a folder named
    like the pack (``custom_nodes/comfyui-birefnet-exact/...``, the symlink ComfyUI imports through).

    Compares whole path components: ``/tmp/x/freshhome/...`` is not inside a clone at ``/tmp/x/fresh``.
    """
    parts = PurePosixPath(path).parts
    return PurePosixPath(path).is_relative_to(repo_root) or PACK_NAME in parts[:-1]


def pack_tracebacks(log: str, repo_root: str = str(REPO_ROOT)) -> list[str]:
    """The tracebacks in ComfyUI's log that have a frame in one of the pack's files."""
    tracebacks = [t.split("\n\n")[0] for t in log.split("Traceback (most recent call last):")[1:]]
    return [t for t in tracebacks if any(is_pack_path(f, repo_root) for f in TRACEBACK_FILE.findall(t))]


EXAMPLES = {
    "background_removal_transparent_png",
    "inpainting_mask",
    "video_matting",
    "video_matting_streaming",
    "replace_background",
    "remove_background_one_node",
    "cutout_boxed_object",
    "refine_sam_mask",
    "crop_to_subject_for_sd",
}


def test_pack_imports_without_error(comfy_server, object_info):
    # Start-up only: later tests make nodes fail on purpose, and ComfyUI logs those tracebacks too.
    log = comfy_server.log.read_text().split("\nStarting server\n")[0]
    timing_lines = [line for line in log.splitlines() if line.rstrip().endswith(PACK_NAME)]
    assert timing_lines, f"the pack is missing from ComfyUI's import times:\n{log[-3000:]}"
    assert not any("IMPORT FAILED" in line for line in timing_lines), "\n".join(timing_lines)
    # ComfyUI's own audio nodes fail without torchaudio (not installed here); no traceback may involve the pack.
    ours = pack_tracebacks(log)
    assert not ours, ours[0][:3000]
    cannot_import = [path for path in CANNOT_IMPORT.findall(log) if is_pack_path(path)]
    assert not cannot_import, cannot_import


def test_pack_paths_are_matched_by_component():
    """A clone at /tmp/x/fresh and HOME at /tmp/x/freshhome: ComfyUI's traceback under HOME is not ours."""
    theirs = (
        'Traceback (most recent call last):\n  File "/tmp/x/freshhome/.cache/birefnet-e2e-tests/comfyui/nodes.py",'
        " line 2146, in load_custom_node\nModuleNotFoundError: No module named 'torchaudio'\n\n"
    )
    ours = (
        'Traceback (most recent call last):\n  File "/tmp/x/fresh/nodes/segment_node.py", line 3, in <module>\n'
        "ImportError: boom\n\n"
    )
    via_symlink = ours.replace("/tmp/x/fresh/", f"/tmp/base/custom_nodes/{PACK_NAME}/")
    assert pack_tracebacks(theirs, "/tmp/x/fresh") == []
    assert len(pack_tracebacks(theirs + ours, "/tmp/x/fresh")) == 1
    assert not is_pack_path("/tmp/x/freshhome/.cache/birefnet-e2e-tests/comfyui/nodes.py", "/tmp/x/fresh")
    assert not is_pack_path("/tmp/x/fresh-birefnet/birefnet/model.py", "/tmp/x/fresh")
    assert is_pack_path("/tmp/x/fresh/nodes/segment_node.py", "/tmp/x/fresh")
    assert is_pack_path(f"/tmp/base/custom_nodes/{PACK_NAME}/nodes/segment_node.py", "/tmp/x/fresh")
    assert not is_pack_path(f"/tmp/base/custom_nodes/{PACK_NAME}-other/nodes/x.py", "/tmp/x/fresh")
    assert len(pack_tracebacks(theirs + via_symlink, "/tmp/x/fresh")) == 1


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
