"""A real ComfyUI server with this pack installed, shared by the end-to-end and the browser tests.

``start_comfy_server`` makes a throw-away base directory (``--base-directory``: custom_nodes with a symlink
to this repository, models, input, output), writes a small random-weight pvt_v2_b0 checkpoint into
``models/birefnet`` and a second copy into a folder that only ``extra_model_paths.yaml`` names, starts
``main.py --cpu`` of the cached ComfyUI of the asked version (``comfyui_setup.py``; 0.3.75 unless named) on a
free port, waits for it, and stops the server process (started in its own session) on exit, whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import coexistence_setup
from .comfyui_setup import DEFAULT_VERSION, REPO_ROOT, ensure_comfyui

PACK_NAME = "comfyui-birefnet-exact"
TINY_CHECKPOINT = "tiny-pvt_v2_b0.safetensors"
EXTRA_CHECKPOINT = "extra-folder-pvt_v2_b0.safetensors"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "lemur"
STARTUP_TIMEOUT_S = 300
PROMPT_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ComfyServer:
    url: str
    base: Path
    log: Path
    pid: int | None = None
    """The server process (``main.py``), for reading its /proc entries."""
    comfyui_version: str = DEFAULT_VERSION

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=60) as response:
            return json.loads(response.read())

    def post_prompt(self, prompt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of POST /prompt."""
        body = json.dumps({"prompt": prompt, "client_id": "birefnet-e2e"}).encode()
        request = urllib.request.Request(self.url + "/prompt", body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def run(self, prompt: dict[str, Any], timeout_s: float = PROMPT_TIMEOUT_S) -> dict[str, Any]:
        """Queue ``prompt`` and wait for it; returns its /history entry (``status``, ``outputs``)."""
        status, body = self.post_prompt(prompt)
        assert status == 200, f"prompt rejected ({status}): {json.dumps(body)[:2000]}"
        prompt_id = body["prompt_id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
                entry = history[prompt_id]
                if entry["status"]["status_str"] in ("success", "error"):
                    return entry
            time.sleep(0.25)
        raise TimeoutError(f"prompt {prompt_id} did not finish in {timeout_s} s; log: {self.log}")

    def output_files(self, entry: dict[str, Any], node_id: str, key: str = "images") -> list[Path]:
        folders = {"output": "output", "temp": "temp", "input": "input"}
        items = entry["outputs"][node_id][key]
        return [self.base / folders[i["type"]] / i["subfolder"] / i["filename"] for i in items]


def execution_error(entry: dict[str, Any]) -> dict[str, Any] | None:
    for kind, data in entry["status"]["messages"]:
        if kind == "execution_error":
            return data
    return None


def _write_checkpoints(models: Path, extra: Path) -> None:
    from safetensors.torch import save_file

    from birefnet.network.model import BiRefNet

    torch.manual_seed(0)
    state = {k: v.contiguous() for k, v in BiRefNet("pvt_v2_b0").state_dict().items()}
    save_file(state, str(models / TINY_CHECKPOINT))
    shutil.copyfile(models / TINY_CHECKPOINT, extra / EXTRA_CHECKPOINT)


def _write_inputs(comfy_python: Path, inputs: Path) -> None:
    from PIL import Image

    for name in ("lemur.png", "beach.png"):
        shutil.copyfile(FIXTURES / name, inputs / name)
    Image.new("RGB", (1, 1), (200, 100, 50)).save(inputs / "one_pixel.png")
    # A short clip (8 frames, 96x64) for the video workflow; PyAV lives in ComfyUI's venv.
    script = (
        "import sys, av, numpy as np\n"
        "from PIL import Image\n"
        "src = Image.open(sys.argv[1]).convert('RGB').resize((128, 64))\n"
        "out = av.open(sys.argv[2], 'w'); s = out.add_stream('mpeg4', rate=8); s.width, s.height = 96, 64\n"
        "s.pix_fmt = 'yuv420p'\n"
        "for i in range(8):\n"
        "    frame = np.asarray(src)[:, 4 * i:4 * i + 96]\n"
        "    for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')): out.mux(p)\n"
        "for p in s.encode(): out.mux(p)\n"
        "out.close()\n"
    )
    subprocess.run(
        [str(comfy_python), "-c", script, str(FIXTURES / "lemur.png"), str(inputs / "clip.mp4")], check=True
    )


def _stop(process: subprocess.Popen) -> None:
    """Stop the server we started (its own process group: the server and its children only)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


def _device_args() -> list[str]:
    """``--cpu``, unless BIREFNET_E2E_GPU=1 (scripts/gpu_check.sh): then ComfyUI uses its GPU."""
    return [] if os.environ.get("BIREFNET_E2E_GPU") == "1" else ["--cpu"]


@contextmanager
def start_comfy_server(
    tmp_path_factory,
    extra_args: Sequence[str] = (),
    name: str = "comfy-base",
    coexistence: bool = False,
    prepare: Callable[[Path], None] | None = None,
    extra_env: Mapping[str, str] | None = None,
    version: str = DEFAULT_VERSION,
) -> Iterator[ComfyServer]:
    """Start ComfyUI with this pack in a fresh base directory; yields the running server, stops it on exit.

    ``extra_args`` go to ComfyUI's ``main.py`` (e.g. ``["--front-end-root", DIR]``); ``name`` names the
    base directory under pytest's temporary folder. ``coexistence``: also install the stand-ins of other
    BiRefNet packs and core's model files (``coexistence_setup.py``). ``prepare(base)`` runs after the base
    directory is written and before the server starts (more inputs, model files, custom nodes);
    ``extra_env`` is added to the server's environment. ``version``: which ComfyUI (``COMFYUI_VERSIONS``).
    """
    comfy_dir, comfy_python = ensure_comfyui(version)
    base = tmp_path_factory.mktemp(name)
    for sub in ("custom_nodes", "models/birefnet", "input", "output", "temp", "user"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    (base / "custom_nodes" / PACK_NAME).symlink_to(REPO_ROOT, target_is_directory=True)
    extra = tmp_path_factory.mktemp("extra-models")
    _write_checkpoints(base / "models" / "birefnet", extra)
    _write_inputs(comfy_python, base / "input")
    extra_yaml = base / "extra_model_paths.yaml"
    others = ""
    if coexistence:
        others = coexistence_setup.install(base, PACK_NAME, base / "models" / "birefnet" / TINY_CHECKPOINT)
    extra_yaml.write_text(f"birefnet_e2e:\n    base_path: {extra}\n    birefnet: .\n" + others)
    if prepare is not None:
        prepare(base)

    port = _free_port()
    log = base / "comfyui.log"
    command = [
        str(comfy_python), "main.py", *_device_args(), "--listen", "127.0.0.1", "--port", str(port),
        "--base-directory", str(base), "--extra-model-paths-config", str(extra_yaml),
        "--database-url", "sqlite:///:memory:", "--disable-auto-launch", *extra_args,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(extra_env or {})
    env["HF_HUB_OFFLINE"] = "1"  # the tests never download; a download attempt must fail fast and clearly
    env["TORCHINDUCTOR_CACHE_DIR"] = str(
        base / "inductor-cache"
    )  # the compile test's build files, cleaned up
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=comfy_dir, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = ComfyServer(f"http://127.0.0.1:{port}", base, log, pid=process.pid, comfyui_version=version)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"ComfyUI exited ({process.returncode}) during startup:\n{log.read_text()[-4000:]}"
                )
            try:
                server.get("/object_info/BiRefNetExactSegment")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"ComfyUI did not answer in {STARTUP_TIMEOUT_S} s:\n{log.read_text()[-4000:]}"
                    ) from None
                time.sleep(1)
        yield server
    finally:
        _stop(process)
