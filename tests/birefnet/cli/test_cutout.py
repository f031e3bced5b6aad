"""`python -m birefnet cutout` end to end on a tiny random checkpoint: the files written, registry names, user
errors (one line, exit code 2), refused settings and overwrites, ``--compile``."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from testdata import LEMUR_DIR, REPO_ROOT

from birefnet.cli import main

LEMUR = LEMUR_DIR / "lemur.png"


def run_cli(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "birefnet", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cutout_end_to_end(tmp_path, tiny_checkpoint):
    from birefnet.inference.predict import predict
    from birefnet.weights.load import load_model

    folder = tmp_path / "photos"
    folder.mkdir()
    lemur = Image.open(LEMUR).convert("RGB")
    lemur.crop((100, 50, 260, 170)).save(folder / "crop.jpg", quality=95)
    lemur.convert("L").resize((90, 70)).save(folder / "grey.PNG")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    result = run_cli(
        "cutout", str(LEMUR), str(folder), "--model", str(tiny_checkpoint), "--out", str(out),
        "--resolution", "64", "--device", "cpu", "--batch-size", "2", "--no-download",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not a known release" in result.stderr  # the unknown checkpoint gets a patch-order note
    expected_files = {"lemur.png", "lemur_mask.png", "crop.png", "crop_mask.png", "grey.png", "grey_mask.png"}
    assert {p.name for p in out.iterdir()} == expected_files

    for stem, source in [("lemur", LEMUR), ("crop", folder / "crop.jpg"), ("grey", folder / "grey.PNG")]:
        original = Image.open(source).convert("RGB")
        cutout = Image.open(out / f"{stem}.png")
        mask = Image.open(out / f"{stem}_mask.png")
        assert cutout.mode == "RGBA" and mask.mode == "L"
        assert cutout.size == mask.size == original.size
        cutout_pixels = np.asarray(cutout)
        assert np.array_equal(cutout_pixels[:, :, 3], np.asarray(mask))
        assert np.array_equal(cutout_pixels[:, :, :3], np.asarray(original))

    # The mask file is predict's mask, rounded to 8 bits.
    model = load_model(tiny_checkpoint, patch_order="current")
    expected = predict(model, Image.open(LEMUR).convert("RGB"), 64)[0]
    written = torch.from_numpy(np.asarray(Image.open(out / "lemur_mask.png")).astype(np.float32) / 255)
    assert (written - expected).abs().max() <= 1 / 255 + 1e-6
    assert written.shape == (440, 680)


@pytest.mark.slow
def test_a_registry_name_loads_the_local_file_with_the_variants_patch_order(
    tmp_path, tiny_checkpoint, capsys, monkeypatch
):
    import birefnet.weights.load
    from birefnet.inference.predict import predict

    models = tmp_path / "models"
    models.mkdir()
    local = models / "BiRefNet-COD.safetensors"  # a legacy-order variant
    shutil.copy(tiny_checkpoint, local)
    image = Image.open(LEMUR).convert("RGB").resize((96, 64))
    image.save(tmp_path / "small.png")
    expected = predict(birefnet.weights.load.load_model(local, patch_order="legacy"), image, 64)[0]

    loads = []
    real_load_model = birefnet.weights.load.load_model

    def recording_load_model(source, **kwargs):
        loads.append((pathlib.Path(source), kwargs["patch_order"]))
        return real_load_model(source, **kwargs)

    monkeypatch.setattr(birefnet.weights.load, "load_model", recording_load_model)
    code = main(
        ["cutout", str(tmp_path / "small.png"), "--model", "birefnet-cod", "--models-dir", str(models),
         "--out", str(tmp_path / "out"), "--resolution", "64", "--device", "cpu", "--no-download"]
    )  # fmt: skip
    assert code == 0
    assert loads == [(local, "legacy")]
    assert "not a known release" not in capsys.readouterr().err
    written = torch.from_numpy(
        np.asarray(Image.open(tmp_path / "out" / "small_mask.png")).astype(np.float32) / 255
    )
    assert (written - expected).abs().max() <= 1 / 255 + 1e-6
    assert main(
        ["cutout", str(tmp_path / "small.png"), "--model", "birefnet-cod", "--models-dir", str(models),
         "--out", str(tmp_path / "out2"), "--resolution", "64", "--device", "cpu", "--patch-order", "current"]
    ) == 0  # fmt: skip
    assert loads[-1] == (local, "current")


def test_user_errors_print_one_line_and_exit_2(tmp_path):
    result = run_cli(
        "cutout", str(tmp_path / "missing.png"), "--model", "BiRefNet", "--out", "o", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: Input {tmp_path / 'missing.png'} does not exist."]
    assert "Traceback" not in result.stderr


def test_missing_variant_without_download_says_where_to_put_it(tmp_path, capsys):
    models = tmp_path / "models"
    code = main(
        ["cutout", str(LEMUR), "--model", "BiRefNet_lite", "--out", str(tmp_path / "o"), "--models-dir", str(models),
         "--no-download", "--device", "cpu"]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(models / "BiRefNet_lite.safetensors") in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resolution", "huge"], "Cannot read resolution"),
        (["--resolution", "0"], "out of range"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--model", "BiRefNet_lightt"], "Did you mean"),
        (["--precision", "fp16"], "--precision 'fp16' on the CPU: fp16 on this CPU is emulated"),
    ],
)
def test_bad_settings_are_user_errors(tmp_path, tiny_checkpoint, capsys, monkeypatch, extra, message):
    # A CPU without fp16/bf16 matrix instructions, whatever this machine has.
    monkeypatch.setattr(
        "birefnet.inference.precision.cpu_runs_natively", lambda dtype: dtype == torch.float32
    )
    args = [
        "cutout",
        str(LEMUR),
        "--model",
        str(tiny_checkpoint),
        "--out",
        str(tmp_path / "o"),
        "--device",
        "cpu",
    ]
    code = main(args + extra + ["--models-dir", str(tmp_path / "models"), "--no-download"])
    assert code == 2
    assert message in capsys.readouterr().err


def test_output_name_clashes_and_overwrites_are_refused(tmp_path, tiny_checkpoint, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(LEMUR, folder / "a.png")
    Image.open(LEMUR).convert("RGB").save(folder / "a.jpg")
    base = ["--model", str(tiny_checkpoint), "--device", "cpu", "--resolution", "64"]
    assert main(["cutout", str(folder), "--out", str(tmp_path / "o"), *base]) == 2
    assert "would both be written" in capsys.readouterr().err
    assert main(["cutout", str(folder / "a.png"), "--out", str(folder), *base]) == 2
    assert "overwrite an input" in capsys.readouterr().err
    assert (folder / "a.png").read_bytes() == LEMUR.read_bytes()


def test_cuda_request_without_a_gpu_is_a_user_error(tmp_path, tiny_checkpoint, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code = main(
        ["cutout", str(LEMUR), "--model", str(tiny_checkpoint), "--out", str(tmp_path), "--device", "cuda"]
    )
    assert code == 2 and "no CUDA GPU" in capsys.readouterr().err


@pytest.mark.slow
def test_compile_flag_compiles_and_writes_the_same_mask(tmp_path, tiny_checkpoint, monkeypatch):
    import birefnet.inference.compile

    compiled = []
    original = birefnet.inference.compile.compile_model

    def light_compile(model):  # Dynamo capture without Inductor's C++ build: seconds instead of minutes
        compiled.append(model)
        return original(model, backend="aot_eager")

    monkeypatch.setattr(birefnet.inference.compile, "compile_model", light_compile)
    args = ["cutout", str(LEMUR), "--model", str(tiny_checkpoint), "--device", "cpu", "--resolution", "64"]
    assert main([*args, "--out", str(tmp_path / "eager")]) == 0 and not compiled
    assert main([*args, "--out", str(tmp_path / "compiled"), "--compile"]) == 0 and len(compiled) == 1
    eager_mask = np.asarray(Image.open(tmp_path / "eager" / "lemur_mask.png")).astype(int)
    compiled_mask = np.asarray(Image.open(tmp_path / "compiled" / "lemur_mask.png")).astype(int)
    assert np.abs(eager_mask - compiled_mask).max() <= 1
