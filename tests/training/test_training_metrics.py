"""training.metrics / training.hce against pysodmetrics (test-only oracle), its published numbers and
hand-worked HCE cases."""

import json

import numpy as np
import pytest
from PIL import Image
from testdata import FIXTURES as SHARED_FIXTURES

from training.hce import human_correction_effort
from training.metrics import MetricAccumulator

psm = pytest.importorskip("py_sod_metrics")

FIXTURES = SHARED_FIXTURES / "pysodmetrics"
KEYS = ("Smeasure", "wFmeasure", "MAE", "adpEm", "meanEm", "maxEm", "adpFm", "meanFm", "maxFm")


def _fixture_pairs():
    for mask_path in sorted((FIXTURES / "masks").glob("*.png")):
        gt = np.asarray(Image.open(mask_path).convert("L"))
        pred = np.asarray(Image.open(FIXTURES / "preds" / mask_path.name).convert("L"))
        yield pred, gt


def _generated_pairs():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:60, 0:80]
    for i in range(6):
        cy, cx, r = rng.uniform(15, 45), rng.uniform(15, 65), rng.uniform(5, 20)
        gt = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8) * 255
        noise = rng.normal(0, 40 + 10 * i, gt.shape)
        pred = np.clip(gt * rng.uniform(0.5, 1.0) + noise + 30, 0, 255).astype(np.uint8)
        yield pred, gt
    flat = np.zeros((60, 80), np.uint8)
    yield rng.integers(0, 256, flat.shape).astype(np.uint8), flat  # empty ground truth
    yield rng.integers(0, 256, flat.shape).astype(np.uint8), flat + 255  # full ground truth
    yield np.full(flat.shape, 77, np.uint8), (xx > 40).astype(np.uint8) * 255  # constant prediction


def _oracle(pairs):
    fm, em, sm, wfm, mae = psm.Fmeasure(), psm.Emeasure(), psm.Smeasure(), psm.WeightedFmeasure(), psm.MAE()
    for pred, gt in pairs:
        for metric in (fm, em, sm, wfm, mae):
            metric.step(pred, gt)
    f, e = fm.get_results()["fm"], em.get_results()["em"]
    return {
        "Smeasure": sm.get_results()["sm"],
        "wFmeasure": wfm.get_results()["wfm"],
        "MAE": mae.get_results()["mae"],
        "adpEm": e["adp"],
        "meanEm": e["curve"].mean(),
        "maxEm": e["curve"].max(),
        "adpFm": f["adp"],
        "meanFm": f["curve"].mean(),
        "maxFm": f["curve"].max(),
    }


def _ours(pairs):
    acc = MetricAccumulator()
    for pred, gt in pairs:
        acc.add(pred, gt)
    return acc.results()


def test_fixture_pairs_give_the_published_pysodmetrics_numbers():
    published = json.loads((FIXTURES / "version_performance.json").read_text())
    results = _ours(list(_fixture_pairs()))
    for version in ("v1_4_3", "v1_3_0"):
        for key in KEYS:
            assert results[key] == pytest.approx(published[version][key], rel=1e-12, abs=1e-14), (
                version,
                key,
            )


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("source", [_fixture_pairs, _generated_pairs])
def test_metrics_equal_pysodmetrics(source):
    ours, oracle = _ours(list(source())), _oracle(list(source()))
    for key in KEYS:
        assert ours[key] == pytest.approx(oracle[key], rel=1e-12, abs=1e-14), key


@pytest.mark.parametrize("source", [_fixture_pairs, _generated_pairs])
def test_hce_equals_pysodmetrics_on_binary_predictions(source):
    # pysodmetrics min-max normalises then binarises at 0.5; on 0/255 predictions that equals DIS's > 128.
    oracle = psm.HumanCorrectionEffortMeasure()
    for pred, gt in source():
        binary = np.where(pred > 128, 255, 0).astype(np.uint8)
        if binary.min() == binary.max():
            continue  # a constant map would be left unnormalised by pysodmetrics
        oracle.step(binary, gt)
        assert human_correction_effort(binary, gt) == oracle.hces[-1]


def test_hce_hand_worked_cases():
    empty = np.zeros((40, 60), np.uint8)
    # An isolated false-positive square: one click removes the whole independent region.
    blob = empty.copy()
    blob[5:25, 5:25] = 255
    assert human_correction_effort(blob, empty) == 1
    # A missed one-pixel line: its skeleton must be drawn, two polygon points (the end points).
    line = empty.copy()
    line[30, 10:50] = 255
    assert human_correction_effort(empty, line) == 2
    assert human_correction_effort(blob, line) == 3
    assert human_correction_effort(line, line) == 0
    # A false positive thinner than the relaxation (gamma = 5) on the border of a correct object is forgiven.
    obj = empty.copy()
    obj[10:30, 10:30] = 255
    fringe = obj.copy()
    fringe[10:30, 30:32] = 255
    assert human_correction_effort(fringe, obj) == 0
    # DIS semantics: the raw prediction is binarised at > 128, no min-max normalisation.
    faint = empty.copy()
    faint[5:25, 5:25] = 100
    assert human_correction_effort(faint, empty) == 0


def test_accumulator_reports_hce_mean():
    acc = MetricAccumulator(with_hce=True)
    empty = np.zeros((40, 60), np.uint8)
    blob = empty.copy()
    blob[5:25, 5:25] = 255
    acc.add(blob, empty)
    acc.add(empty, empty)
    assert acc.results()["HCE"] == 0.5
