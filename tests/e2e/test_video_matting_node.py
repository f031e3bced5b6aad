"""BiRefNet video matting in the real ComfyUI: LoadVideo -> the node -> SaveVideo, the example workflow, Stop in
the middle of a video (a shorter playable file is kept, nothing half-written, the server goes on), and a
first-frame region from Load Image's painted MASK."""

from __future__ import annotations

import json
import time
import urllib.request

import av
import numpy as np
import torch
from PIL import Image

from birefnet import load_model, matte_video, predict, refine_mask
from tests.video_samples import decode_rgb, write_video

from .conftest import TINY_CHECKPOINT, execution_error
from .test_example_workflows import EXAMPLES
from .workflow_api import nodes_of, ui_to_api


def _streaming_prompt(object_info, video: str, fmt: str, prefix: str, batch_size: int = 4) -> dict:
    workflow = json.loads((EXAMPLES / "video_matting_streaming.json").read_text())
    prompt = ui_to_api(workflow, object_info)
    for node in nodes_of(prompt, "BiRefNetExactLoadModel"):
        node["inputs"].update(model=TINY_CHECKPOINT, allow_download=False)
    for node in nodes_of(prompt, "LoadVideo"):
        node["inputs"]["file"] = video
    [matting] = nodes_of(prompt, "BiRefNetExactVideoMatting")
    matting["inputs"].update(
        format=fmt, filename_prefix=prefix, resolution="custom", width=64, height=64, batch_size=batch_size
    )
    return prompt


def _prores_alpha(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        out = []
        for frame in container.decode(video=0):
            plane = frame.planes[3]
            values = np.frombuffer(plane, dtype=np.uint16).reshape(-1, plane.line_size // 2)
            out.append((values[: frame.height, : frame.width] >> 4).astype(np.uint8))
        return out


def test_load_video_matting_save_video(comfy_server, object_info):
    prompt = _streaming_prompt(object_info, "clip.mp4", "prores", "e2e_stream/clip")
    [matting_id] = [nid for nid, node in prompt.items() if node["class_type"] == "BiRefNetExactVideoMatting"]
    matting_inputs = prompt[matting_id]["inputs"]
    prompt["90"] = {
        "class_type": "SaveVideo",
        "inputs": {
            "video": [matting_id, 0],
            "filename_prefix": "e2e_stream/saved",
            "format": "mp4",
            "codec": "h264",
        },
    }
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    [written] = comfy_server.output_files(entry, matting_id)
    assert written.name == "clip_00001_.mov" and written.parent.name == "e2e_stream"
    alphas = _prores_alpha(written)
    frames, _, _ = decode_rgb(comfy_server.base / "input" / "clip.mp4")
    assert len(alphas) == len(frames) == 8
    model = load_model(comfy_server.base / "models" / "birefnet" / TINY_CHECKPOINT)
    masks = predict(model, np.stack(frames), (64, 64), batch_size=4)
    temporal_radius = matting_inputs["temporal_radius"]  # the example workflow smooths over 1 frame each side
    assert temporal_radius == 1
    expected = (refine_mask(masks, temporal_radius=temporal_radius) * 255).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(np.stack(alphas), expected)  # ProRes alpha is exact
    [saved] = comfy_server.output_files(entry, "90")
    with av.open(str(saved)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 8
    assert not [p for p in written.parent.iterdir() if ".partial" in p.name]


def _interrupt(comfy_server) -> None:
    request = urllib.request.Request(
        comfy_server.url + "/interrupt", b"{}", {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=30).close()


def test_stop_mid_video_keeps_a_shorter_file_and_the_server_goes_on(comfy_server, object_info):
    frames = 150
    write_video(comfy_server.base / "input" / "long.mp4", frames=frames, width=96, height=64)
    folder = comfy_server.base / "output" / "e2e_stop"
    prompt = _streaming_prompt(object_info, "long.mp4", "prores", "e2e_stop/long", batch_size=1)
    status, body = comfy_server.post_prompt(prompt)
    assert status == 200, body
    prompt_id = body["prompt_id"]
    deadline = time.monotonic() + 300
    while not (folder.is_dir() and any(".partial" in p.name for p in folder.iterdir())):
        assert time.monotonic() < deadline, "the node never started writing"
        time.sleep(0.1)
    time.sleep(1.0)  # a few chunks in
    _interrupt(comfy_server)
    while True:
        history = comfy_server.get(f"/history/{prompt_id}")
        if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
            break
        assert time.monotonic() < deadline, "the interrupted prompt never finished"
        time.sleep(0.25)
    kinds = [kind for kind, _ in history[prompt_id]["status"]["messages"]]
    assert "execution_interrupted" in kinds
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["long_00001__interrupted.mov"], names  # finished and renamed, no partial file
    alphas = _prores_alpha(folder / names[0])
    assert 0 < len(alphas) < frames  # playable and shorter

    entry = comfy_server.run(_streaming_prompt(object_info, "clip.mp4", "mask", "e2e_stop/after"))
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    assert (folder / "after_00001_.mp4").is_file()


def test_first_frame_region_from_a_painted_image(comfy_server, object_info, tmp_path):
    """Load Image's MASK (alpha painted away over the object) as the first-frame region: the node's alpha is the
    library's ``matte_video`` with that region, and frame 0 is 0 outside the region's box grown by the margin."""
    x0, y0, x1, y1, margin = 30, 10, 70, 50, 6
    painted = np.zeros((64, 96, 4), np.uint8)
    painted[..., 3] = 255
    painted[y0:y1, x0:x1, 3] = 0  # what the mask editor saves: alpha 0 where painted, MASK = 1 - alpha
    Image.fromarray(painted).save(comfy_server.base / "input" / "clip_region.png")
    prompt = _streaming_prompt(object_info, "clip.mp4", "prores", "e2e_stream/region")
    [matting_id] = [nid for nid, node in prompt.items() if node["class_type"] == "BiRefNetExactVideoMatting"]
    prompt["91"] = {"class_type": "LoadImage", "inputs": {"image": "clip_region.png"}}
    prompt[matting_id]["inputs"].update(
        region=["91", 1], margin=margin, temporal_radius=0, grow=0, feather=0.0
    )
    entry = comfy_server.run(prompt)
    assert entry["status"]["status_str"] == "success", execution_error(entry)
    [written] = comfy_server.output_files(entry, matting_id)
    alphas = np.stack(_prores_alpha(written))

    region = torch.zeros(64, 96)
    region[y0:y1, x0:x1] = 1.0
    model = load_model(comfy_server.base / "models" / "birefnet" / TINY_CHECKPOINT)
    expected_path = tmp_path / "expected.mov"
    refine = {"grow_pixels": 0, "feather_sigma": 0.0, "temporal_radius": 0}
    matte_video(model, comfy_server.base / "input" / "clip.mp4", {"prores": expected_path}, resolution=(64, 64),
                batch_size=4, refine=refine, region=region, margin=margin)  # fmt: skip
    np.testing.assert_array_equal(alphas, np.stack(_prores_alpha(expected_path)))
    outside = np.ones((64, 96), bool)
    outside[y0 - margin : y1 + margin, x0 - margin : x1 + margin] = False
    assert alphas[0][outside].max() == 0
