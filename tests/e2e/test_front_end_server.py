"""The server side of web/ in the real ComfyUI: the model list route, preview files, the loader's info line."""

from __future__ import annotations

from .conftest import EXTRA_CHECKPOINT, TINY_CHECKPOINT


def test_models_route_is_served_with_and_without_the_api_prefix(comfy_server):
    body = comfy_server.get("/birefnet_exact/models")
    assert comfy_server.get("/api/birefnet_exact/models") == body
    entries = {e["name"]: e for e in body["models"]}
    object_info = comfy_server.get("/object_info/BiRefNetExactLoadModel")["BiRefNetExactLoadModel"]
    options = object_info["input"]["required"]["model"][1]["options"]
    assert list(entries) == options  # one entry per combo value, same order
    assert entries[TINY_CHECKPOINT]["kind"] == "file"
    assert entries[EXTRA_CHECKPOINT]["kind"] == "file"  # a folder named only in extra_model_paths.yaml
    assert entries["BiRefNet_HR"]["kind"] == "download"  # (BiRefNet itself: core's file stand-in is on disk)
    # Downloads go to the first "birefnet" folder: here the one extra_model_paths.yaml names.
    assert body["download_folder"] == body["folders"][0]
    assert entries["BiRefNet_HR"]["file"] == f"{body['download_folder']}/BiRefNet_HR.safetensors"
    assert entries["RMBG-2.0"]["variant"]["non_commercial"]


def test_previews_go_to_the_temp_folder_and_the_loader_reports_what_it_loaded(comfy_server):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": {
            "class_type": "BiRefNetExactLoadModel",
            "inputs": {
                "model": TINY_CHECKPOINT,
                "device": "cpu",
                "precision": "fp32",
                "patch_order": "auto",
                "allow_download": False,
            },
        },  # fmt: skip
        "3": {
            "class_type": "BiRefNetExactSegment",
            "inputs": {
                "model": ["2", 0],
                "image": ["1", 0],
                "resolution": "custom",
                "width": 96,
                "height": 64,
                "dynamic_long_side": 1024,
                "batch_size": 1,
            },
        },  # fmt: skip
        "4": {
            "class_type": "BiRefNetExactComposite",
            "inputs": {
                "image": ["1", 0],
                "mask": ["3", 0],
                "background": "transparent",
                "color": "#00ff00",
                "fix_edge_colors": True,
                "fit": "cover",
            },
        },  # fmt: skip
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
    }
    output_before = set((comfy_server.base / "output").rglob("*"))
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "success", entry["status"]
    info = entry["outputs"]["2"]["birefnet_info"]
    assert info == ["pvt_v2_b0 · native 1024x1024 (unknown file) · patch order current · cpu · fp32"]

    cutout = entry["outputs"]["4"]["birefnet_preview"][0]
    mask = entry["outputs"]["3"]["birefnet_preview"][0]
    assert cutout["kind"] == "cutout" and mask["kind"] == "mask"
    for file in (cutout["before"], cutout["after"], mask["image"], mask["mask"]):
        assert file["type"] == "temp"
        assert (comfy_server.base / "temp" / file["subfolder"] / file["filename"]).is_file()
    assert set((comfy_server.base / "output").rglob("*")) == output_before  # nothing written to output/
