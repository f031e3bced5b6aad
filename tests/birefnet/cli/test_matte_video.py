"""`python -m birefnet matte-video`: the outputs asked for, equal to predict + refine_mask; a missing input is a
user error; Ctrl+C keeps the frames done as shorter, playable files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from testdata import REPO_ROOT

from birefnet.cli import main
from tests.video_samples import alpha_prores, decode_rgb, reference_alpha, write_video

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_cli_matte_video(tiny_checkpoint, tiny_model, tmp_path, capsys):
    source = write_video(tmp_path / "clip.mp4", frames=6, audio=True)
    out = tmp_path / "out"
    code = main(
        [
            "matte-video", str(source), "--model", str(tiny_checkpoint), "--out", str(out),
            "--format", "prores", "--format", "mask", "--resolution", "64", "--batch-size", "4",
            "--temporal-radius", "1", "--grow", "1", "--feather", "0.5",
        ]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["clip.mov", "clip_mask.mp4"]
    frames, _, _ = decode_rgb(source)
    expected = reference_alpha(tiny_model, frames, temporal_radius=1, grow_pixels=1, feather_sigma=0.5)
    np.testing.assert_array_equal(np.stack(alpha_prores(out / "clip.mov")[0]), expected)
    assert "clip.mov (6 frames)" in capsys.readouterr().out

    assert (
        main(["matte-video", str(tmp_path / "none.mp4"), "--model", str(tiny_checkpoint), "--out", str(out)])
        == 2
    )
    assert "none.mp4" in capsys.readouterr().err


def test_cli_ctrl_c_keeps_the_frames_done(tiny_checkpoint, tmp_path):
    source = write_video(tmp_path / "clip.mp4", frames=300, width=64, height=48)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "birefnet", "matte-video", str(source), "--model", str(tiny_checkpoint),
               "--out", str(out), "--format", "png", "--format", "prores", "--resolution", "64"]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL
        ),  # background jobs start with it ignored
    )
    partial = out / ".clip_png.partial"
    deadline = time.monotonic() + 120
    while not (partial.is_dir() and any(partial.glob("*.png"))):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert sorted(p.name for p in out.iterdir()) == ["clip_interrupted.mov", "clip_png_interrupted"]
    written = len(list((out / "clip_png_interrupted").glob("*.png")))
    assert 0 < written < 300
    assert len(alpha_prores(out / "clip_interrupted.mov")[0]) == written  # finished, playable, same frames
    assert "kept the shorter output" in err
