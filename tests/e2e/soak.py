"""Server soak: many prompts through one real ComfyUI, with Stops and bad inputs mixed in (issue 21).

Shared by ``benchmarks/soak_server.py`` (the full run, 200+ prompts) and ``tests/e2e/test_soak.py`` (the short
one in CI). ``prepare_base`` writes what the run needs into the server's base directory before it starts;
``build_plan`` turns a seed into the list of steps (reproducible); ``run_soak`` runs them one at a time,
then runs every distinct good prompt once more on the idle server as its reference, and returns the report.

Steps:
- good: LoadImage -> Load BiRefNet model -> BiRefNet segment (native / custom / dynamic) -> a digest node
  (sha256 of the float32 mask, from the helper pack written here) -- images of three sizes, two model files
  of different random weights, alternating, so every good prompt loads its model again (ComfyUI's cache keeps
  only the last prompt's nodes) and ComfyUI offloads and drops the other;
- video: LoadVideo -> BiRefNet video matting (ProRes 4444, exact alpha) in the middle of the run;
- stop: POST /interrupt for that prompt at a seeded random moment: during a batch (48 frames, batch size 1),
  during a streamed video (once its part file exists), or while the model loads (once the server process has
  the model file open, seen in /proc/<pid>/maps and fd);
- bad: an all-NaN image, a 1x1 image, a 16000x12000 PNG, a model file overwritten with garbage while the
  server runs, a listed model file deleted after its prompt was queued, a video truncated half-way.

Every good and video prompt must succeed and match its reference bit for bit (CPU); every bad prompt must fail
in the expected node with a message naming the problem; the prompt after each stop and bad input must run.
The report also has the server's resident memory (VmRSS), threads, open files, the pack's preview files in
ComfyUI's temp folder, wall time and prompts per minute.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .comfy_server import TINY_CHECKPOINT, ComfyServer, execution_error

MODEL_A = TINY_CHECKPOINT
MODEL_B = "tiny-b-pvt_v2_b0.safetensors"  # same network, other random weights (seed 1)
MODEL_DOOMED = "tiny-doomed-pvt_v2_b0.safetensors"  # listed at start, deleted while its prompt waits
HELPER_PACK = "birefnet_soak_helpers"
SIZES = ((96, 128), (320, 240), (640, 480))  # width x height
HUGE = (16000, 12000)
CUSTOM = (128, 128)
DYNAMIC_LONG_SIDE = 256
VIDEO, LONG_VIDEO, TRUNCATED_VIDEO = "soak_clip.mp4", "soak_long.mp4", "soak_truncated.mp4"
BAD_KINDS = ("nan", "one_pixel", "huge", "garbage_model", "deleted_model", "truncated_video")
STOP_KINDS = ("batch", "video", "load")
PROMPT_TIMEOUT_S = 600

# (node class that must fail, words its message must contain) per bad input; a 16000x12000 PNG is refused by
# Pillow's decompression-bomb limit in core's LoadImage before any node of this pack sees it.
EXPECTED_ERRORS = {
    "nan": ("BiRefNetExactSegment", ["NaN"]),
    "one_pixel": ("BiRefNetExactSegment", ["1x1 pixels"]),
    "huge": ("LoadImage", ["192000000 pixels"]),
    "garbage_model": ("BiRefNetExactLoadModel", ["@MODEL@"]),
    "deleted_model": ("BiRefNetExactLoadModel", [MODEL_DOOMED, "not found"]),
    "truncated_video": ("BiRefNetExactVideoMatting", [TRUNCATED_VIDEO]),
}

_HELPERS = '''"""Test-only nodes for the soak run: an all-NaN image and a digest of a mask (written at run time)."""
import hashlib
import torch


class SoakNaNImage:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"width": ("INT", {"default": 64}), "height": ("INT", {"default": 48})}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    CATEGORY = "soak"

    def run(self, width, height):
        return (torch.full((1, height, width, 3), float("nan")),)


class SoakMaskDigest:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mask": ("MASK",)}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "soak"

    def run(self, mask):
        data = mask.detach().float().cpu().contiguous().numpy()
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        return {"ui": {"soak_digest": [{"sha256": digest, "shape": list(data.shape)}]}}


NODE_CLASS_MAPPINGS = {"SoakNaNImage": SoakNaNImage, "SoakMaskDigest": SoakMaskDigest}
'''


@dataclass
class SoakConfig:
    steps: int = 210
    stops: tuple[str, ...] = ("batch",) * 4 + ("video",) * 3 + ("load",) * 3
    bad: tuple[str, ...] = BAD_KINDS
    # Native is 1024x1024 for a file of unknown variant: 30-80 s a prompt on a loaded 2-core CPU, against 1-5 s
    # for custom 128x128 and dynamic (long side 256); the plan has it 4 times (both models in the warm-up).
    modes: tuple[tuple[str, float], ...] = (("custom", 0.5), ("dynamic", 0.49), ("native", 0.01))
    images_per_size: int = 2
    warmup: int = 12
    window: int = 50
    seed: int = 21
    video_frames: int = 24
    long_video_frames: int = 150


SHORT = SoakConfig(
    steps=30,
    stops=("batch", "video"),
    bad=("nan", "garbage_model", "truncated_video"),
    # No native: 1024x1024 costs ~30 s a prompt on a loaded 2-core CPU (the full run has it).
    modes=(("custom", 0.6), ("dynamic", 0.4)),
    images_per_size=1,
    warmup=6,
    window=10,
    video_frames=12,
    long_video_frames=90,
)


@dataclass
class Step:
    index: int
    kind: str  # good | video | stop | bad
    detail: str = ""  # stop or bad kind; for good: image
    mode: str = ""
    model: str = ""  # "A"/"B" for good steps; chosen at run time for others
    delay_s: float = 0.0  # stop: after the prompt starts running (batch, load) or writes its file (video)

    @property
    def key(self) -> str:
        return f"{self.detail}|{self.mode}|{self.model}" if self.kind == "good" else self.kind


@dataclass
class Outcome:
    index: int
    kind: str
    detail: str
    status: str  # success | error | interrupted
    seconds: float
    rss_kb: int
    node: str = ""  # error / interrupt: the node's class
    message: str = ""
    digest: str = ""
    ok: bool = True
    why: str = ""
    model: str = ""
    key: str = ""


# ---------------------------------------------------------------------------------------------------- set-up


def image_names(config: SoakConfig) -> list[str]:
    return [f"soak_{w}x{h}_{i}.png" for (w, h) in SIZES for i in range(config.images_per_size)]


def prepare_base(base: Path, config: SoakConfig) -> None:
    """Model B and the doomed model (seed 1 weights), input images and videos, the helper pack: in ``base``."""
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    from birefnet.network.model import BiRefNet
    from tests.video_samples import moving_shapes, write_video

    models = base / "models" / "birefnet"
    torch.manual_seed(1)
    state = {k: v.contiguous() for k, v in BiRefNet("pvt_v2_b0").state_dict().items()}
    save_file(state, str(models / MODEL_B))
    shutil.copyfile(models / MODEL_B, models / MODEL_DOOMED)
    inputs = base / "input"
    rng = np.random.default_rng(config.seed)
    for (w, h), names in zip(SIZES, _chunks(image_names(config), config.images_per_size), strict=True):
        for i, name in enumerate(names):
            frame = moving_shapes(3 * i + 1, w, h).astype(np.int16)
            noise = rng.integers(-12, 13, size=frame.shape)
            Image.fromarray(np.clip(frame + noise, 0, 255).astype(np.uint8)).save(inputs / name)
    Image.new("RGB", (1, 1), (200, 100, 50)).save(inputs / "soak_one_pixel.png")
    Image.new("1", HUGE, 1).save(inputs / "soak_huge.png")  # 1-bit: cheap to write, 16000x12000 all the same
    write_video(inputs / VIDEO, frames=config.video_frames, width=96, height=64)
    write_video(inputs / LONG_VIDEO, frames=config.long_video_frames, width=96, height=64)
    whole = write_video(base / "soak_whole.mp4", frames=48, width=96, height=64).read_bytes()
    (inputs / TRUNCATED_VIDEO).write_bytes(whole[: len(whole) // 2])
    helpers = base / "custom_nodes" / HELPER_PACK
    helpers.mkdir(parents=True, exist_ok=True)
    (helpers / "__init__.py").write_text(_HELPERS)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------------- plan


def build_plan(config: SoakConfig) -> list[Step]:
    """The steps of a run, the same for the same config (seeded)."""
    rng = random.Random(config.seed)
    n = config.steps
    special: list[tuple[str, str]] = [("stop", s) for s in config.stops] + [("bad", b) for b in config.bad]
    rng.shuffle(special)
    middle = n // 2
    # Special steps sit after the warm-up, never next to each other or to the video job: a good prompt follows
    # each of them (it must run).
    free = [i for i in range(config.warmup, n - 1) if abs(i - middle) > 1]
    positions: list[int] = []
    for _ in special:
        candidates = [i for i in free if all(abs(i - p) > 1 for p in positions)]
        positions.append(rng.choice(candidates))
    at = dict(zip(positions, special, strict=True))
    images = image_names(config)
    modes, weights = zip(*config.modes, strict=True)
    steps: list[Step] = []
    goods = 0
    for i in range(n):
        if i == middle:
            steps.append(Step(i, "video"))
        elif i in at:
            kind, detail = at[i]
            # batch: after it starts (48 frames of 0.1-0.5 s); video: after the part file appears; load: once the
            # server has the model file open (loading itself is not interruptible: Stop takes effect at the next
            # node boundary or chunk).
            delays = {
                "batch": rng.uniform(0.3, 2.0),
                "video": rng.uniform(0.1, 1.0),
                "load": rng.uniform(0.0, 0.05),
            }
            delay = delays.get(detail, 0.0)
            steps.append(Step(i, kind, detail, delay_s=round(delay, 3)))
        else:
            if i < len(modes) * 2:  # the warm-up sees every mode with both models first
                mode = modes[i // 2 % len(modes)]
            else:
                mode = rng.choices(modes, weights)[0]
            steps.append(Step(i, "good", rng.choice(images), mode, "AB"[goods % 2]))
            goods += 1
    return steps


# ---------------------------------------------------------------------------------------------------- prompts


def _loader(model: str) -> dict[str, Any]:
    return {
        "class_type": "BiRefNetExactLoadModel",
        "inputs": {"model": model, "device": "auto", "precision": "auto", "patch_order": "auto",
                   "allow_download": False},
    }  # fmt: skip


def _segment(mode: str, image_ref: list, batch_size: int = 4) -> dict[str, Any]:
    return {
        "class_type": "BiRefNetExactSegment",
        "inputs": {"model": ["2", 0], "image": image_ref, "resolution": mode, "width": CUSTOM[0],
                   "height": CUSTOM[1], "dynamic_long_side": DYNAMIC_LONG_SIDE, "batch_size": batch_size},
    }  # fmt: skip


def image_prompt(image: str, mode: str, model: str, repeat: int = 1) -> dict[str, Any]:
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": image}}, "2": _loader(model)}
    source = ["1", 0]
    if repeat > 1:
        prompt["5"] = {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": repeat}}
        source = ["5", 0]
    prompt["3"] = _segment(mode, source, batch_size=1 if repeat > 1 else 4)
    prompt["4"] = {"class_type": "SoakMaskDigest", "inputs": {"mask": ["3", 0]}}
    return prompt


def nan_prompt(model: str) -> dict[str, Any]:
    return {
        "1": {"class_type": "SoakNaNImage", "inputs": {"width": 64, "height": 48}},
        "2": _loader(model),
        "3": _segment("custom", ["1", 0]),
        "4": {"class_type": "SoakMaskDigest", "inputs": {"mask": ["3", 0]}},
    }


def video_prompt(
    video: str, model: str, prefix: str, batch_size: int = 4, fmt: str = "mask"
) -> dict[str, Any]:
    return {
        "1": {"class_type": "LoadVideo", "inputs": {"file": video}},
        "2": _loader(model),
        "3": {
            "class_type": "BiRefNetExactVideoMatting",
            "inputs": {"model": ["2", 0], "video": ["1", 0], "format": fmt, "filename_prefix": prefix,
                       "resolution": "custom", "width": 64, "height": 64, "dynamic_long_side": 1024,
                       "batch_size": batch_size, "temporal_radius": 1, "grow": 0, "feather": 0.0,
                       "color": "#00ff00", "fix_edge_colors": False, "start": 0.0, "duration": 0.0},
        },
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------------- running


def proc_stats(pid: int) -> dict[str, int]:
    """VmRSS (kB), threads and open files of process ``pid``."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return {
        "rss_kb": rss,
        "threads": len(os.listdir(f"/proc/{pid}/task")),
        "open_files": len(os.listdir(f"/proc/{pid}/fd")),
    }


def preview_files(server: ComfyServer) -> int:
    temp = server.base / "temp"
    return sum(1 for p in temp.iterdir() if p.name.startswith("birefnet_")) if temp.is_dir() else 0


def temp_files(server: ComfyServer) -> int:
    return sum(1 for p in (server.base / "temp").rglob("*") if p.is_file())


def _post_json(server: ComfyServer, path: str, data: dict[str, Any]) -> None:
    request = urllib.request.Request(
        server.url + path, json.dumps(data).encode(), {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=60).close()


def _queue(server: ComfyServer, prompt: dict[str, Any]) -> str:
    status, body = server.post_prompt(prompt)
    if status != 200:
        raise AssertionError(f"prompt rejected ({status}): {json.dumps(body)[:2000]}")
    return body["prompt_id"]


def _wait(server: ComfyServer, prompt_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + PROMPT_TIMEOUT_S
    while time.monotonic() < deadline:
        history = server.get(f"/history/{prompt_id}")
        entry = history.get(prompt_id)
        if entry and entry.get("status", {}).get("completed") is not None:
            if entry["status"]["status_str"] in ("success", "error"):
                return entry
        time.sleep(0.1)
    raise TimeoutError(f"prompt {prompt_id} did not finish in {PROMPT_TIMEOUT_S} s; log: {server.log}")


def _wait_running(server: ComfyServer, prompt_id: str) -> None:
    deadline = time.monotonic() + PROMPT_TIMEOUT_S
    while time.monotonic() < deadline:
        running = server.get("/queue")["queue_running"]
        if any(item[1] == prompt_id for item in running):
            return
        if prompt_id in server.get(f"/history/{prompt_id}"):
            return  # finished already
        time.sleep(0.02)


def _outcome(entry: dict[str, Any], prompt: dict[str, Any]) -> tuple[str, str, str]:
    """(status, node class, message) of a finished prompt."""
    messages = entry["status"]["messages"]
    for kind, data in messages:
        if kind == "execution_interrupted":
            return "interrupted", data.get("node_type") or "", ""
    error = execution_error(entry)
    if error is not None:
        node = error.get("node_type") or prompt.get(str(error.get("node_id")), {}).get("class_type", "")
        return "error", node, error.get("exception_message", "")
    return entry["status"]["status_str"], "", ""


def _digest(entry: dict[str, Any]) -> str:
    for output in entry.get("outputs", {}).values():
        if "soak_digest" in output:
            item = output["soak_digest"][0]
            return f"{item['sha256']}:{'x'.join(map(str, item['shape']))}"
    return ""


def _video_digest(server: ComfyServer, entry: dict[str, Any]) -> str:
    """sha256 of the alpha planes of the ProRes 4444 file the matting node wrote (its alpha is exact; an H.264
    mask video is not a bit-for-bit record of the mask)."""
    import av

    [path] = server.output_files(entry, "3")
    digest = hashlib.sha256()
    frames = 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.planes[3]
            values = np.frombuffer(plane, dtype=np.uint16).reshape(-1, plane.line_size // 2)
            digest.update(values[: frame.height, : frame.width].tobytes())
            frames += 1
    return f"{digest.hexdigest()}:{frames}"


@dataclass
class Runner:
    server: ComfyServer
    config: SoakConfig
    log: Any = print
    last_model: str = MODEL_B
    outcomes: list[Outcome] = field(default_factory=list)
    samples: list[dict[str, int]] = field(default_factory=list)
    max_previews: int = 0
    load_seen: list[bool] = field(default_factory=list)
    """Per Stop during a load: whether the model file was seen open in the server when Stop was sent."""

    def model_name(self, letter: str) -> str:
        return MODEL_A if letter == "A" else MODEL_B

    def other_model(self) -> str:
        return MODEL_A if self.last_model == MODEL_B else MODEL_B

    def run_step(self, step: Step) -> Outcome:
        start = time.monotonic()
        model = self.model_name(step.model) if step.kind == "good" else self.other_model()
        digest = ""
        if step.kind == "good":
            prompt = image_prompt(step.detail, step.mode, model)
            entry = _wait(self.server, _queue(self.server, prompt))
            digest = _digest(entry)
        elif step.kind == "video":
            prompt = video_prompt(VIDEO, model, f"soak/video_{step.index}", fmt="prores")
            entry = _wait(self.server, _queue(self.server, prompt))
            if entry["status"]["status_str"] == "success":
                digest = _video_digest(self.server, entry)
        elif step.kind == "stop":
            prompt, entry = self._stop(step, model)
        else:
            prompt, entry = self._bad(step, model)
        status, node, message = _outcome(entry, prompt)
        self.last_model = model
        stats = proc_stats(self.server.pid)
        self.samples.append(stats)
        self.max_previews = max(self.max_previews, preview_files(self.server))
        outcome = Outcome(step.index, step.kind, step.detail, status, round(time.monotonic() - start, 3),
                          stats["rss_kb"], node, message[:300], digest, model=model, key=step.key)  # fmt: skip
        self._judge(step, outcome)
        self.outcomes.append(outcome)
        self.log(
            f"[{step.index:3d}] {step.kind:5s} {step.detail or '':18s} {step.mode:8s} {model[:6]:6s} -> "
            f"{status}{' in ' + node if node else ''} {outcome.seconds:.1f}s rss {stats['rss_kb'] // 1024} MiB"
            f"{'' if outcome.ok else '  NOT OK: ' + outcome.why}"
        )
        return outcome

    def _judge(self, step: Step, outcome: Outcome) -> None:
        previous = self.outcomes[-1] if self.outcomes else None
        if step.kind in ("good", "video"):
            if outcome.status != "success":
                outcome.ok, outcome.why = False, f"{outcome.status}: {outcome.node} {outcome.message}"
            elif not outcome.digest:
                outcome.ok, outcome.why = False, "no mask digest"
            if previous is not None and previous.kind in ("stop", "bad") and not outcome.ok:
                previous.ok, previous.why = False, "the next prompt did not run"
        elif step.kind == "stop":
            if outcome.status != "interrupted":
                outcome.ok, outcome.why = False, f"not interrupted ({outcome.status} {outcome.message})"
        else:
            node, words = EXPECTED_ERRORS[step.detail]
            words = [w.replace("@MODEL@", outcome.model) for w in words]
            missing = [w for w in words if w.lower() not in outcome.message.lower()]
            if outcome.status != "error" or outcome.node != node or missing:
                outcome.ok = False
                outcome.why = (
                    f"expected an error in {node} naming {words}; got {outcome.status} {outcome.node}"
                )

    def _stop(self, step: Step, model: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if step.detail == "video":
            folder = self.server.base / "output" / "soak"
            prefix = f"soak/stop_{step.index}"
            # ProRes (intra-only): the part file appears with the first frame, not after x264's lookahead
            prompt = video_prompt(LONG_VIDEO, model, prefix, batch_size=1, fmt="prores")
            prompt_id = _queue(self.server, prompt)
            deadline = time.monotonic() + PROMPT_TIMEOUT_S
            stem = f"stop_{step.index}_"  # the writer's part file: .stop_N_00001_.mov.partial.mov
            while not (
                folder.is_dir() and any(stem in p.name and ".partial" in p.name for p in folder.iterdir())
            ):
                if time.monotonic() > deadline or prompt_id in self.server.get(f"/history/{prompt_id}"):
                    break
                time.sleep(0.02)
        elif step.detail == "batch":
            prompt = image_prompt(image_names(self.config)[0], "custom", model, repeat=48)
            prompt_id = _queue(self.server, prompt)
            _wait_running(self.server, prompt_id)
        else:
            path = self.server.base / "models" / "birefnet" / model
            baseline = self._model_file_uses(str(path))
            prompt = image_prompt(image_names(self.config)[0], "custom", model, repeat=4)
            prompt_id = _queue(self.server, prompt)
            self.load_seen.append(self._wait_model_open(path, baseline))
        time.sleep(step.delay_s)
        _post_json(self.server, "/interrupt", {"prompt_id": prompt_id})
        return prompt, _wait(self.server, prompt_id)

    def _model_file_uses(self, target: str) -> int:
        """How many mappings and open descriptors of the server process point at ``target``."""
        pid = self.server.pid
        try:
            maps = sum(
                line.endswith(" " + target) for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
            )
            fds = 0
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    fds += os.readlink(f"/proc/{pid}/fd/{fd}") == target
                except OSError:
                    pass
            return maps + fds
        except OSError:
            return 0

    def _wait_model_open(self, path: Path, baseline: int, timeout_s: float = 5.0) -> bool:
        """Wait until the server process opens or maps ``path`` once more than ``baseline`` (the loader reading
        it: an earlier load of the same file may still be mapped); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._model_file_uses(str(path)) > baseline:
                return True
            time.sleep(0.002)
        return False

    def _bad(self, step: Step, model: str) -> tuple[dict[str, Any], dict[str, Any]]:
        models = self.server.base / "models" / "birefnet"
        kind = step.detail
        if kind == "nan":
            prompt = nan_prompt(model)
        elif kind == "one_pixel":
            prompt = image_prompt("soak_one_pixel.png", "custom", model)
        elif kind == "huge":
            prompt = image_prompt("soak_huge.png", "custom", model)
        elif kind == "truncated_video":
            prompt = video_prompt(TRUNCATED_VIDEO, model, f"soak/truncated_{step.index}")
        elif kind == "garbage_model":
            # The model not used by the last prompt (so ComfyUI's cache cannot answer for it), overwritten while
            # the server runs; put back afterwards.
            backup = self.server.base / "soak_model.bak"
            os.replace(models / model, backup)
            (models / model).write_bytes(random.Random(step.index).randbytes(4096))
            try:
                prompt = image_prompt(image_names(self.config)[0], "custom", model)
                return prompt, _wait(self.server, _queue(self.server, prompt))
            finally:
                os.replace(backup, models / model)
        elif kind == "deleted_model":
            # Queued behind a running prompt while the file is listed, deleted before it runs.
            blocker = image_prompt(image_names(self.config)[-1], "custom", model, repeat=4)
            blocker_id = _queue(self.server, blocker)
            prompt = image_prompt(image_names(self.config)[0], "custom", MODEL_DOOMED)
            prompt_id = _queue(self.server, prompt)
            (models / MODEL_DOOMED).unlink()
            _wait(self.server, blocker_id)
            return prompt, _wait(self.server, prompt_id)
        else:
            raise ValueError(kind)
        return prompt, _wait(self.server, _queue(self.server, prompt))

    def references(self) -> dict[str, str]:
        """Each distinct good prompt (and the video job) once more, alone on the idle server: key -> digest.

        Ordered so that consecutive prompts never share their model loader (nothing answered from the cache)."""
        keys = sorted({o.key for o in self.outcomes if o.kind == "good" and o.ok})
        refs: dict[str, str] = {}
        for key in keys:
            image, mode, letter = key.split("|")
            entry = _wait(
                self.server, _queue(self.server, image_prompt(image, mode, self.model_name(letter)))
            )
            refs[key] = _digest(entry) if entry["status"]["status_str"] == "success" else "failed"
        for outcome in self.outcomes:
            if outcome.kind == "video" and outcome.ok:
                prompt = video_prompt(VIDEO, outcome.model, "soak/video_ref", fmt="prores")
                entry = _wait(self.server, _queue(self.server, prompt))
                ok = entry["status"]["status_str"] == "success"
                refs["video"] = _video_digest(self.server, entry) if ok else "failed"
        return refs


def run_soak(server: ComfyServer, config: SoakConfig, log: Any = print) -> dict[str, Any]:
    """Run the plan of ``config`` on ``server`` (prepared with ``prepare_base``); returns the report."""
    assert server.pid is not None
    steps = build_plan(config)
    at_start = proc_stats(server.pid)
    runner = Runner(server, config, log)
    wall = time.monotonic()
    for step in steps:
        runner.run_step(step)
    wall_s = time.monotonic() - wall
    ref_start = time.monotonic()
    refs = runner.references()
    ref_s = time.monotonic() - ref_start
    for outcome in runner.outcomes:
        if outcome.kind in ("good", "video") and outcome.ok and refs.get(outcome.key) != outcome.digest:
            outcome.ok, outcome.why = False, "mask differs from the same prompt run alone"
    at_end = proc_stats(server.pid)
    after_warmup = runner.samples[config.warmup - 1]
    rss = [s["rss_kb"] for s in runner.samples[config.warmup :]]
    first, last = rss[: config.window], rss[-config.window :]
    kinds = {}
    for kind in ("good", "video", "stop", "bad"):
        group = [o for o in runner.outcomes if o.kind == kind]
        kinds[kind] = {"count": len(group), "ok": sum(o.ok for o in group)}
    report = {
        "config": {"steps": config.steps, "seed": config.seed, "stops": list(config.stops), "bad": list(config.bad),
                   "warmup": config.warmup, "window": config.window},
        "kinds": kinds,
        "distinct_good_prompts": len([k for k in refs if k != "video"]),
        "failures": [vars(o) for o in runner.outcomes if not o.ok],
        "stops": [{"index": o.index, "during": o.detail, "status": o.status, "node": o.node}
                  for o in runner.outcomes if o.kind == "stop"],
        "load_stops_sent_while_model_file_open": runner.load_seen,
        "bad": [{"index": o.index, "input": o.detail, "status": o.status, "node": o.node, "message": o.message}
                for o in runner.outcomes if o.kind == "bad"],
        "rss_mib": {"start": round(at_start["rss_kb"] / 1024, 1),
                    "after_warmup": round(after_warmup["rss_kb"] / 1024, 1),
                    "first_window_median": round(statistics.median(first) / 1024, 1),
                    "last_window_median": round(statistics.median(last) / 1024, 1),
                    "first_window_max": round(max(first) / 1024, 1),
                    "last_window_max": round(max(last) / 1024, 1),
                    "end": round(at_end["rss_kb"] / 1024, 1)},
        "rss_growth": statistics.median(last) / statistics.median(first) - 1,
        "threads": {"start": at_start["threads"], "after_warmup": after_warmup["threads"],
                    "end": at_end["threads"]},
        "open_files": {"start": at_start["open_files"], "after_warmup": after_warmup["open_files"],
                       "end": at_end["open_files"]},
        "previews": {"max_in_temp": runner.max_previews, "end": preview_files(server),
                     "temp_files_end": temp_files(server)},
        "prompts": len(steps),
        "wall_s": round(wall_s, 1),
        "prompts_per_minute": round(len(steps) / wall_s * 60, 2),
        "reference_runs": len(refs),
        "reference_s": round(ref_s, 1),
    }  # fmt: skip
    return report


def summary(report: dict[str, Any]) -> str:
    """The report as a few lines of text (the README's numbers)."""
    k, r = report["kinds"], report["rss_mib"]
    lines = [
        f"prompts: {report['prompts']} in {report['wall_s']} s ({report['prompts_per_minute']} per minute); "
        f"references: {report['reference_runs']} in {report['reference_s']} s",
        f"good: {k['good']['ok']}/{k['good']['count']} succeeded and matched their reference bit for bit "
        f"({report['distinct_good_prompts']} distinct); video: {k['video']['ok']}/{k['video']['count']}",
        f"stops: {k['stop']['ok']}/{k['stop']['count']} interrupted: "
        + ", ".join(f"{s['during']}->{s['node'] or s['status']}" for s in report["stops"]),
        f"bad inputs: {k['bad']['ok']}/{k['bad']['count']} failed as expected, next prompt ran: "
        + "; ".join(f"{b['input']}: {b['node']}: {b['message'][:90]}" for b in report["bad"]),
        f"RSS MiB: start {r['start']}, after warm-up {r['after_warmup']}, median first window "
        f"{r['first_window_median']} / last window {r['last_window_median']} "
        f"(growth {report['rss_growth'] * 100:+.1f}%), max {r['first_window_max']} / {r['last_window_max']}, "
        f"end {r['end']}",
        f"threads: {report['threads']}; open files: {report['open_files']}",
        f"pack previews in temp/: max {report['previews']['max_in_temp']}, end {report['previews']['end']} "
        f"(all temp files at end: {report['previews']['temp_files_end']})",
    ]
    if report["failures"]:
        lines.append(f"FAILURES: {json.dumps(report['failures'])[:3000]}")
    return "\n".join(lines)
