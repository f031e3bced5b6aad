"""Batch jobs over many inputs: a bad file does not stop the job, --skip-existing resumes, --manifest records,
outputs appear only when complete, Ctrl-C stops between images, and torchrun splits the inputs by rank."""

import json
import os
import signal
import subprocess
import sys

import pytest
from PIL import Image
from testdata import LEMUR_DIR, REPO_ROOT

from birefnet.cli import main
from birefnet.cli.outputs import write_atomically
from birefnet.cli.ranks import Rank

LEMUR = LEMUR_DIR / "lemur.png"
SAME_KERNELS = {  # the CPU kernel picks are measured per process: fix them so that runs compare bit for bit
    "BIREFNET_LINEAR_BACKEND": "matmul",
    "BIREFNET_DEFORM_CONV_BACKEND": "matmul",
    "BIREFNET_POINTWISE_CONV_BACKEND": "matmul",
    "BIREFNET_KERNEL_CACHE": "off",
    "OMP_NUM_THREADS": "1",
}


def photo_folder(path, count, damaged=None):
    """`count` small PNGs named 0.png, 1.png...; the one at index `damaged` truncated to half its bytes."""
    path.mkdir()
    lemur = Image.open(LEMUR).convert("RGB")
    for i in range(count):
        lemur.crop((20 * i, 10 * i, 20 * i + 96, 10 * i + 64)).save(path / f"{i}.png")
    if damaged is not None:
        data = (path / f"{damaged}.png").read_bytes()
        (path / f"{damaged}.png").write_bytes(data[: len(data) // 2])
    return path


def cutout_args(folder, out, checkpoint, *extra):
    return ["cutout", str(folder), "--model", str(checkpoint), "--out", str(out), "--resolution", "64",
            "--device", "cpu", "--no-download", *extra]  # fmt: skip


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_damaged_image_is_reported_and_the_rest_goes_on(tmp_path, tiny_checkpoint, capsys):
    folder = photo_folder(tmp_path / "photos", 4, damaged=2)
    out, manifest = tmp_path / "out", tmp_path / "logs" / "manifest.jsonl"

    assert main(cutout_args(folder, out, tiny_checkpoint, "--manifest", str(manifest))) == 1
    captured = capsys.readouterr()
    assert f"failed: {folder / '2.png'}: Cannot read image {folder / '2.png'}" in captured.err
    assert captured.out.strip().splitlines()[-1] == "3 done, 1 failed, 0 skipped"
    assert sorted(p.name for p in out.iterdir()) == [
        "0.png", "0_mask.png", "1.png", "1_mask.png", "3.png", "3_mask.png"
    ]  # fmt: skip
    records = {r["input"]: r for r in read_lines(manifest)}
    assert len(records) == 4
    assert [records[str(folder / f"{i}.png")]["status"] for i in range(4)] == [
        "done",
        "done",
        "failed",
        "done",
    ]
    assert "Cannot read image" in records[str(folder / "2.png")]["error"]
    assert records[str(folder / "0.png")]["error"] is None
    assert records[str(folder / "0.png")]["outputs"] == {
        "cutout": str(out / "0.png"),
        "mask": str(out / "0_mask.png"),
    }
    assert all(r["seconds"] >= 0 and r["time"] for r in records.values())
    first = {p.name: p.read_bytes() for p in out.iterdir()}

    # The rerun continues: the done ones are skipped, the damaged one fails again.
    (out / "3_mask.png").unlink()  # an input with one output missing is done again
    assert (
        main(cutout_args(folder, out, tiny_checkpoint, "--manifest", str(manifest), "--skip-existing")) == 1
    )
    assert capsys.readouterr().out.strip().splitlines()[-1] == "1 done, 1 failed, 2 skipped"
    statuses = {r["input"]: r["status"] for r in read_lines(manifest)}
    assert statuses == {
        str(folder / f"{i}.png"): s for i, s in enumerate(["skipped", "skipped", "failed", "done"])
    }
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first

    # Nothing failed: exit code 0.
    (folder / "2.png").unlink()
    assert main(cutout_args(folder, out, tiny_checkpoint, "--skip-existing")) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "0 done, 0 failed, 3 skipped"


def test_write_atomically_never_leaves_a_half_file_under_the_final_name(tmp_path):
    final = tmp_path / "cut.png"

    def encoder_breaks_mid_write(path):
        with open(path, "wb") as file:
            file.write(b"\x89PNG\r\n\x1a\n half an image")
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(final, encoder_breaks_mid_write)
    assert list(tmp_path.iterdir()) == []

    final.write_bytes(b"the earlier, complete file")
    with pytest.raises(KeyboardInterrupt):
        write_atomically(
            final, lambda path: (path.write_bytes(b"half"), (_ for _ in ()).throw(KeyboardInterrupt))
        )
    assert list(tmp_path.iterdir()) == [final] and final.read_bytes() == b"the earlier, complete file"

    image = Image.new("RGB", (5, 4), "red")
    assert write_atomically(final, image.save) == final  # the temporary name keeps .png for the encoder
    assert Image.open(final).size == (5, 4) and list(tmp_path.iterdir()) == [final]


@pytest.mark.slow
def test_an_image_whose_writing_fails_is_failed_and_leaves_no_file(
    tmp_path, tiny_checkpoint, capsys, monkeypatch
):
    import birefnet.cli.images

    folder = photo_folder(tmp_path / "photos", 2)
    real_save_mask = birefnet.cli.images.save_mask

    def save_mask_breaks_on_1(mask, path, *text):
        if "1_mask" in str(path):
            open(path, "wb").write(b"\x89PNG half")
            raise OSError("disk full")
        real_save_mask(mask, path, *text)

    monkeypatch.setattr(birefnet.cli.images, "save_mask", save_mask_breaks_on_1)
    assert main(cutout_args(folder, tmp_path / "out", tiny_checkpoint)) == 1
    assert "failed: " in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "0_mask.png", "1.png"]


@pytest.mark.slow
def test_ctrl_c_stops_between_images(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    import birefnet.inference.predict

    folder = photo_folder(tmp_path / "photos", 3)
    real_predict = birefnet.inference.predict.predict

    def predict_then_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while the first image is segmented
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(birefnet.inference.predict, "predict", predict_then_ctrl_c)
    manifest = tmp_path / "m.jsonl"
    assert main(cutout_args(folder, tmp_path / "out", tiny_checkpoint, "--manifest", str(manifest))) == 130
    err = capsys.readouterr().err
    assert "stopping after this image" in err and "interrupted: 1 done, 0 failed, 0 skipped" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "0_mask.png"]
    assert [r["status"] for r in read_lines(manifest)] == ["done"]


def test_rank_share_and_file_names():
    items = [f"{i}.png" for i in (5, 3, 1, 4, 2, 0)]
    shares = [Rank(k, 3).share(items) for k in range(3)]
    assert shares == [["0.png", "3.png"], ["1.png", "4.png"], ["2.png", "5.png"]]
    assert Rank(1, 2).file_name(REPO_ROOT / "m.jsonl").name == "m.rank1.jsonl"
    assert Rank().file_name(REPO_ROOT / "m.jsonl").name == "m.jsonl"
    assert Rank(3, 4, local_rank=3).cuda_index(2) == 1


def run(command, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), HF_HUB_OFFLINE="1", **SAME_KERNELS)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_torchrun_two_processes_split_the_inputs(tmp_path, tiny_checkpoint):
    folder = photo_folder(tmp_path / "photos", 5, damaged=3)
    single = run(
        [sys.executable, "-m", "birefnet", *cutout_args(folder, tmp_path / "single", tiny_checkpoint)],
        tmp_path,
    )
    assert single.returncode == 1, single.stderr

    manifest = tmp_path / "m.jsonl"
    split = run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "birefnet",
         *cutout_args(folder, tmp_path / "split", tiny_checkpoint, "--manifest", str(manifest))],
        tmp_path,
    )  # fmt: skip
    assert split.returncode != 0, split.stderr  # one input failed: torchrun reports the ranks' exit code 1
    assert "all 2 ranks: 4 done, 1 failed, 0 skipped" in split.stdout, split.stdout + split.stderr

    single_files = {p.name: p.read_bytes() for p in (tmp_path / "single").iterdir()}
    split_files = {p.name: p.read_bytes() for p in (tmp_path / "split").iterdir()}
    assert len(single_files) == 8 and split_files == single_files

    per_rank = [read_lines(tmp_path / f"m.rank{k}.jsonl") for k in range(2)]
    inputs = sorted(r["input"] for lines in per_rank for r in lines)
    assert inputs == [str(folder / f"{i}.png") for i in range(5)]  # each input exactly once
    assert [r["rank"] for r in per_rank[1]] == [1, 1]
    merged = read_lines(manifest)
    assert [r["input"] for r in merged] == inputs
    assert [r["status"] for r in merged] == ["done", "done", "done", "failed", "done"]
