"""Wrong inputs give a clear node error and the server keeps serving the next prompt."""

from __future__ import annotations

from .conftest import TINY_CHECKPOINT, execution_error


def _load_model(model=TINY_CHECKPOINT):
    return {
        "class_type": "BiRefNetExactLoadModel",
        "inputs": {
            "model": model,
            "device": "auto",
            "precision": "auto",
            "patch_order": "auto",
            "allow_download": False,  # no "compile": prompts from before that option still run
        },
    }


def _segment(model_ref, image_ref):
    return {
        "class_type": "BiRefNetExactSegment",
        "inputs": {"model": model_ref, "image": image_ref, "resolution": "custom", "width": 64, "height": 64,
                   "dynamic_long_side": 1024, "batch_size": 2},
    }  # fmt: skip


def _good_prompt(prefix: str) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": _load_model(),
        "3": _segment(["2", 0], ["1", 0]),
        "4": {"class_type": "MaskToImage", "inputs": {"mask": ["3", 0]}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": prefix}},
    }


def _assert_failed_then_serving(comfy_server, prompt, node_id: str, message: str, prefix: str) -> None:
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "error"
    error = execution_error(entry)
    assert error is not None and error["node_id"] == node_id, error
    assert message in error["exception_message"], error["exception_message"]
    after = comfy_server.run(_good_prompt(prefix))
    assert after["status"]["status_str"] == "success", execution_error(after)


def test_mismatched_batch_sizes(comfy_server):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 2}},
        "3": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 3}},
        "4": _load_model(),
        "5": _segment(["4", 0], ["3", 0]),
        "6": {
            "class_type": "BiRefNetExactComposite",
            "inputs": {
                "image": ["2", 0],
                "mask": ["5", 0],
                "background": "transparent",
                "color": "#00ff00",
                "fix_edge_colors": False,
                "fit": "cover",
            },
        },  # fmt: skip
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "mismatch"}},
    }
    _assert_failed_then_serving(
        comfy_server, prompt, "6", "image batch has 2 frames but mask batch has 3", "after_mismatch"
    )


def test_variant_not_on_disk_with_downloads_off(comfy_server):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "lemur.png"}},
        "2": _load_model("BiRefNet_lite"),
        "3": _segment(["2", 0], ["1", 0]),
        "4": {"class_type": "MaskToImage", "inputs": {"mask": ["3", 0]}},
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
    }
    _assert_failed_then_serving(
        comfy_server, prompt, "2", "not on disk and downloads are off", "after_missing"
    )


def test_unknown_model_file(comfy_server):
    """Rejected by prompt validation where ComfyUI checks combo values, else a clear error from the node."""
    prompt = _good_prompt("unknown")
    prompt["2"] = _load_model("no-such-file.safetensors")
    status, body = comfy_server.post_prompt(prompt)
    if status == 400:
        assert "no-such-file.safetensors" in str(body["node_errors"]["2"])
    else:
        assert status == 200, body
        entry = comfy_server.run(prompt)
        error = execution_error(entry)
        assert error is not None and error["node_id"] == "2", error
        assert "Model file 'no-such-file.safetensors' was not found" in error["exception_message"]
    after = comfy_server.run(_good_prompt("after_unknown"))
    assert after["status"]["status_str"] == "success", execution_error(after)


def test_one_pixel_image(comfy_server):
    prompt = _good_prompt("one_pixel")
    prompt["1"]["inputs"]["image"] = "one_pixel.png"
    _assert_failed_then_serving(comfy_server, prompt, "3", "1x1 pixels", "after_one_pixel")


def test_malformed_box_names_the_input(comfy_server):
    prompt = _good_prompt("bad_box")
    prompt["3"]["inputs"]["box"] = "100,50,40,200"
    _assert_failed_then_serving(comfy_server, prompt, "3", "Box 100,50,40,200 is empty", "after_bad_box")


def test_region_of_another_size_names_both_sizes(comfy_server):
    prompt = _good_prompt("bad_region")
    prompt["6"] = {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 64, "height": 64}}
    prompt["3"]["inputs"]["region"] = ["6", 0]
    _assert_failed_then_serving(
        comfy_server, prompt, "3", "region mask is 64x64 but the image is 680x440", "after_bad_region"
    )
