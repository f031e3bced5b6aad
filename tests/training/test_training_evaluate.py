"""`python -m training.evaluate`: folder mode against the published pysodmetrics numbers, and model mode
(checkpoint + dataset) whose saved predictions give the same numbers in folder mode."""

import json

import pytest
import torch
from safetensors.torch import save_file
from testdata import FIXTURES as SHARED_FIXTURES

from birefnet import BiRefNet
from training.evaluate import main
from training.synthetic import write_thin_structure_dataset

FIXTURES = SHARED_FIXTURES / "pysodmetrics"


def test_folder_mode_prints_table_and_matches_published_numbers(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(
        ["--pred", str(FIXTURES / "preds"), "--gt", str(FIXTURES / "masks"), "--json", str(out), "--quiet"]
    )
    assert code == 0
    table = capsys.readouterr().out
    assert "| maxF | wF | MAE | S | meanE | HCE |" in table
    (row,) = json.loads(out.read_text()).values()
    published = json.loads((FIXTURES / "version_performance.json").read_text())["v1_4_3"]
    for key in ("maxFm", "meanFm", "adpFm", "wFmeasure", "Smeasure", "MAE", "maxEm", "meanEm", "adpEm"):
        assert row[key] == pytest.approx(published[key], rel=1e-12)
    assert row["HCE"] == pytest.approx((38 + 185 + 0) / 3)


@pytest.mark.slow
def test_model_mode_saves_predictions_that_evaluate_the_same(tmp_path, capsys):
    write_thin_structure_dataset(tmp_path / "data" / "val", 2, seed=9, size=64)
    torch.manual_seed(0)
    checkpoint = tmp_path / "model.safetensors"
    save_file(BiRefNet("pvt_v2_b0").state_dict(), str(checkpoint))
    model_json, folder_json = tmp_path / "model.json", tmp_path / "folder.json"
    common = ["--quiet", "--no-hce"]
    assert (
        main(
            [
                "--checkpoint",
                str(checkpoint),
                "--data-root",
                str(tmp_path / "data"),
                "--splits",
                "val",
                "--size",
                "64",
                "--device",
                "cpu",
                "--save-preds",
                str(tmp_path / "preds"),
                "--json",
                str(model_json),
                *common,
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "preds" / "val").iterdir()) == ["00000.png", "00001.png"]
    assert (
        main(
            [
                "--pred",
                str(tmp_path / "preds" / "val"),
                "--gt",
                str(tmp_path / "data" / "val" / "gt"),
                "--json",
                str(folder_json),
                *common,
            ]
        )
        == 0
    )
    (from_model,) = json.loads(model_json.read_text()).values()
    (from_folder,) = json.loads(folder_json.read_text()).values()
    assert from_model == from_folder


def test_bad_arguments_are_reported(tmp_path, capsys):
    assert main(["--pred", str(tmp_path / "missing"), "--gt", str(FIXTURES / "masks"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_model_mode_sizes_are_multiples_of_32(capsys):
    assert main(["--checkpoint", "missing.safetensors", "--data-root", "missing", "--size", "100x64"]) == 2
    assert "--size 100x64: width and height must be multiples of 32" in capsys.readouterr().err
