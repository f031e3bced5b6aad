"""``matte_video`` (birefnet.video.pipeline) when a run stops: an interrupt finishes shorter, playable files
under ``*_interrupted`` names; any other error leaves no file at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from birefnet import matte_video
from tests.video_samples import ALL_FORMATS, BATCH, RESOLUTION, alpha_prores, write_video

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "in.mp4")


def test_interrupt_finishes_a_shorter_playable_file(tiny_model, tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=12, audio=True)
    calls = []

    def stop_after_first_chunk():
        calls.append(1)
        raise KeyboardInterrupt

    outputs = {"prores": tmp_path / "out.mov", "png": tmp_path / "out_png"}
    with pytest.raises(KeyboardInterrupt):
        matte_video(
            tiny_model,
            source,
            outputs,
            resolution=RESOLUTION,
            batch_size=BATCH,
            refine={"temporal_radius": 2},
            between_chunks=stop_after_first_chunk,
        )
    assert _leftovers(tmp_path) == ["out_interrupted.mov", "out_png_interrupted"]
    alphas, _, _ = alpha_prores(tmp_path / "out_interrupted.mov")
    assert len(alphas) == BATCH  # the segmented chunk, smoothed as a sequence that ends there
    assert len(list((tmp_path / "out_png_interrupted").glob("*.png"))) == BATCH


def test_error_midway_leaves_no_file(tiny_model, tmp_path):
    source = write_video(tmp_path / "in.mp4", frames=12)

    def fail():
        raise RuntimeError("disk full")

    outputs = {fmt: tmp_path / f"out_{fmt}{ext}" for fmt, ext in ALL_FORMATS.items()}
    with pytest.raises(RuntimeError, match="disk full"):
        matte_video(tiny_model, source, outputs, resolution=RESOLUTION, batch_size=BATCH, between_chunks=fail)
    assert _leftovers(tmp_path) == []
