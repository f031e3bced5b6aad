"""Salient / dichotomous segmentation metrics (numpy), with the conventions of the DIS benchmarks.

Inputs per image: prediction and ground truth as uint8 grey images [H,W] of the same size.
Ground truth is binarised at > 128; the prediction becomes pred/255, then min-max normalised
when it is not constant (MATLAB ``mapminmax(im2double(...))``). Curves use 256 thresholds
t = 255..0 on ``floor(pred * 255)`` (a pixel is foreground when its level is >= t).

Dataset numbers: MAE, S-measure, weighted F, adaptive F/E are means over images; the F and E
curves are averaged over images first, then ``max``/``mean`` of the averaged curve give
maxF/meanF and maxE/meanE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS = np.spacing(1.0)
F_BETA2 = 0.3  # beta^2 of the (adaptive / mean / max) F-measure
WF_BETA2 = 1.0  # beta^2 of the weighted F-measure (Margolin et al.)


def normalise_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 pred/gt [H,W] -> (float64 pred in 0..1, bool gt)."""
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")
    gt_bool = gt > 128
    p = pred.astype(np.float64) / 255.0
    lo, hi = p.min(), p.max()
    if hi != lo:
        p = (p - lo) / (hi - lo)
    return p, gt_bool


def adaptive_threshold(pred: np.ndarray) -> float:
    """Twice the mean prediction, at most 1."""
    return min(2.0 * float(pred.mean()), 1.0)


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute error of normalised pred (0..1) and bool gt."""
    return float(np.abs(pred - gt).mean())


# ----------------------------------------------------------------------------- F-measure
def _f_score(precision, recall, beta2: float):
    num = (1 + beta2) * precision * recall
    den = beta2 * precision + recall
    return np.where(num == 0, 0.0, num / np.where(num == 0, 1.0, den))


def threshold_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground counts for the 256 thresholds t = 255, 254, ..., 0.

    Returns (tp, fp): tp[i] = #pixels with level >= 255 - i inside gt, fp[i] the same outside gt.
    """
    levels = (pred * 255).astype(np.uint8)
    in_gt = np.bincount(levels[gt], minlength=256)[::-1]
    out_gt = np.bincount(levels[~gt], minlength=256)[::-1]
    return np.cumsum(in_gt), np.cumsum(out_gt)


def f_measure_curve(pred: np.ndarray, gt: np.ndarray, beta2: float = F_BETA2) -> dict[str, np.ndarray]:
    """Precision, recall and F over the 256 thresholds (index 0 = threshold 255)."""
    tp, fp = threshold_counts(pred, gt)
    predicted = tp + fp
    precision = tp / np.where(predicted == 0, 1, predicted)
    recall = tp / max(int(gt.sum()), 1)
    return {"precision": precision, "recall": recall, "f": _f_score(precision, recall, beta2)}


def adaptive_f_measure(pred: np.ndarray, gt: np.ndarray, beta2: float = F_BETA2) -> float:
    """F-measure of pred >= adaptive threshold (0 when nothing of gt is found)."""
    binary = pred >= adaptive_threshold(pred)
    tp = np.count_nonzero(binary & gt)
    if tp == 0:
        return 0.0
    precision = tp / np.count_nonzero(binary)
    recall = tp / np.count_nonzero(gt)
    return float((1 + beta2) * precision * recall / (beta2 * precision + recall))


# ----------------------------------------------------------------------------- weighted F
def _matlab_gaussian(size: int = 7, sigma: float = 5.0) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: normalised, tiny values zeroed."""
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    k = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    k[k < np.finfo(k.dtype).eps * k.max()] = 0
    return k / k.sum()


def weighted_f_measure(pred: np.ndarray, gt: np.ndarray, beta2: float = WF_BETA2) -> float:
    """Weighted F-measure (Margolin et al. 2014); 0 for an empty ground truth."""
    from scipy import ndimage

    if not gt.any():
        return 0.0
    dist, (rows, cols) = ndimage.distance_transform_edt(~gt, return_indices=True)
    error = np.abs(pred - gt)
    # Background pixels take the error of their nearest foreground pixel (pixel dependency).
    dependent = error[rows, cols]
    smoothed = ndimage.convolve(dependent, _matlab_gaussian(), mode="constant", cval=0.0)
    min_error = np.where(gt & (smoothed < error), smoothed, error)
    # Pixel importance grows with the distance from the foreground.
    importance = np.where(gt, 1.0, 2.0 - np.exp(np.log(0.5) / 5.0 * dist))
    weighted = min_error * importance
    tp_w = gt.sum() - weighted[gt].sum()
    fp_w = weighted[~gt].sum()
    recall = 1.0 - weighted[gt].mean()
    precision = tp_w / (tp_w + fp_w + EPS)
    return float((1 + beta2) * recall * precision / (recall + beta2 * precision + EPS))


# ----------------------------------------------------------------------------- S-measure
def _object_score(values: np.ndarray) -> float:
    mean = values.mean()
    std = values.std(ddof=1) if values.size > 1 else 0.0
    return float(2 * mean / (mean**2 + 1 + std + EPS))


def _region_ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    n = pred.size
    x, y = pred.mean(), gt.mean()
    var_x = ((pred - x) ** 2).sum() / (n - 1 + EPS)
    var_y = ((gt - y) ** 2).sum() / (n - 1 + EPS)
    cov = ((pred - x) * (gt - y)).sum() / (n - 1 + EPS)
    a = 4 * x * y * cov
    b = (x**2 + y**2) * (var_x + var_y)
    if a != 0:
        return float(a / (b + EPS))
    return 1.0 if b == 0 else 0.0


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """Structure measure (Fan et al. 2017): alpha * object score + (1 - alpha) * region score."""
    fg_ratio = gt.mean()
    if fg_ratio == 0:
        return float(1 - pred.mean())
    if fg_ratio == 1:
        return float(pred.mean())
    obj = fg_ratio * _object_score(pred[gt]) + (1 - fg_ratio) * _object_score(1 - pred[~gt])
    h, w = gt.shape
    cy, cx = np.argwhere(gt).mean(axis=0).round()
    cy, cx = int(cy) + 1, int(cx) + 1  # MATLAB 1-based centroid: the top-left block includes it
    area = h * w
    quadrants = [
        ((slice(0, cy), slice(0, cx)), cy * cx / area),
        ((slice(0, cy), slice(cx, w)), cy * (w - cx) / area),
        ((slice(cy, h), slice(0, cx)), (h - cy) * cx / area),
    ]
    quadrants.append(((slice(cy, h), slice(cx, w)), 1 - sum(wt for _, wt in quadrants)))
    gt_f = gt.astype(np.float64)
    region = sum(wt * _region_ssim(pred[s], gt_f[s]) for s, wt in quadrants)
    return float(max(0.0, alpha * obj + (1 - alpha) * region))


# ----------------------------------------------------------------------------- E-measure
def _enhanced_sum(pred_fg, tp, gt_fg: int, total: int):
    """Sum of the enhanced alignment matrix for binarised predictions with ``pred_fg`` foreground
    pixels of which ``tp`` inside the ground truth (scalars or arrays)."""
    if gt_fg == 0:
        return total - pred_fg
    if gt_fg == total:
        return pred_fg
    fp = pred_fg - tp
    fn = gt_fg - tp
    tn = total - pred_fg - fn
    mean_pred = pred_fg / total
    mean_gt = gt_fg / total
    result = 0.0
    for count, p_val, g_val in ((tp, 1, 1), (fp, 1, 0), (fn, 0, 1), (tn, 0, 0)):
        dp, dg = p_val - mean_pred, g_val - mean_gt
        align = 2 * dp * dg / (dp**2 + dg**2 + EPS)
        result = result + (align + 1) ** 2 / 4 * count
    return result


def e_measure_curve(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """E-measure (Fan et al. 2018) for the 256 thresholds (index 0 = threshold 255)."""
    tp, fp = threshold_counts(pred, gt)
    total = gt.size
    return _enhanced_sum(tp + fp, tp, int(gt.sum()), total) / (total - 1 + EPS)


def adaptive_e_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """E-measure of pred >= adaptive threshold."""
    binary = pred >= adaptive_threshold(pred)
    total = gt.size
    enhanced = _enhanced_sum(
        int(np.count_nonzero(binary)), int(np.count_nonzero(binary & gt)), int(gt.sum()), total
    )
    return float(enhanced / (total - 1 + EPS))


# ----------------------------------------------------------------------------- dataset level
METRIC_NAMES = ("maxFm", "wFmeasure", "MAE", "Smeasure", "meanEm", "HCE", "maxEm", "meanFm", "adpEm", "adpFm")


@dataclass
class MetricAccumulator:
    """Collects per-image metrics and averages them like the DIS/SOD benchmarks.

    ``add(pred_u8, gt_u8)`` takes uint8 [H,W] arrays of equal size; ``results()`` returns a dict
    with maxFm, meanFm, adpFm, wFmeasure, MAE, Smeasure, maxEm, meanEm, adpEm and HCE (when enabled).
    """

    with_hce: bool = False
    per_image: dict[str, list[float]] = field(default_factory=dict)
    f_curves: list[np.ndarray] = field(default_factory=list)
    e_curves: list[np.ndarray] = field(default_factory=list)

    def _put(self, name: str, value: float) -> None:
        self.per_image.setdefault(name, []).append(value)

    def add(self, pred_u8: np.ndarray, gt_u8: np.ndarray, gt_skeleton: np.ndarray | None = None) -> None:
        pred, gt = normalise_pair(pred_u8, gt_u8)
        self._put("MAE", mae(pred, gt))
        self._put("Smeasure", s_measure(pred, gt))
        self._put("wFmeasure", weighted_f_measure(pred, gt))
        self._put("adpFm", adaptive_f_measure(pred, gt))
        self._put("adpEm", adaptive_e_measure(pred, gt))
        self.f_curves.append(f_measure_curve(pred, gt)["f"])
        self.e_curves.append(e_measure_curve(pred, gt))
        if self.with_hce:
            from training.hce import human_correction_effort

            self._put("HCE", float(human_correction_effort(pred_u8, gt_u8, gt_skeleton)))

    def __len__(self) -> int:
        return len(self.f_curves)

    def results(self) -> dict[str, float]:
        if not self.f_curves:
            raise ValueError("no images were added")
        out = {name: float(np.mean(values)) for name, values in self.per_image.items()}
        f_curve = np.mean(self.f_curves, axis=0)
        e_curve = np.mean(self.e_curves, axis=0)
        out.update(
            maxFm=float(f_curve.max()),
            meanFm=float(f_curve.mean()),
            maxEm=float(e_curve.max()),
            meanEm=float(e_curve.mean()),
        )
        return out
