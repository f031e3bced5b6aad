"""Relaxed human correction effort (HCE, Qin et al. 2022, DIS benchmark), gamma = 5.

HCE estimates how many mouse clicks a person needs to fix a binary prediction: the control points
of polygons (Ramer-Douglas-Peucker, epsilon 2) along the parts of error boundaries that touch
correct regions, plus one click per independent error region that touches nothing. Errors thinner
than the relaxation (``relax`` = gamma = 5 erosions/dilations with a 3x3 cross) are forgiven except
where they cut the ground-truth skeleton.

DIS semantics: prediction and ground truth are uint8 [H,W]; both are binarised at > 128 without any
normalisation. The skeleton is ``skimage.morphology.skeletonize(gt > 128)`` unless given.
Needs OpenCV (contour tracing, RDP) and scikit-image (skeleton, labelling), imported lazily.
"""

from __future__ import annotations

import numpy as np

from birefnet import BiRefNetError

RELAX = 5
RDP_EPSILON = 2.0


def _imports():
    try:
        import cv2
        from skimage import measure, morphology
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BiRefNetError(
            f"HCE needs OpenCV and scikit-image ({exc}); install them with "
            "`pip install opencv-python-headless scikit-image`, or evaluate without HCE."
        ) from exc
    return cv2, measure, morphology


def _cross() -> np.ndarray:
    """3x3 cross (a disk of radius 1)."""
    return np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=np.uint8)


def _boundary_segments(contours, region: np.ndarray, touches: np.ndarray, cv2, measure):
    """Split contours of ``region`` into runs of points next to ``touches``; count untouched regions.

    A contour point is kept when the 3x3-cross dilation of ``touches`` covers it and it was not kept
    before (points shared by several contours count once). Consecutive kept points form a run; when
    a contour yields several runs and its last run ends next to where its first run starts, the first
    run (reversed) is appended to the last. Returns (runs as [K,1,2] int arrays of (x, y), number of
    connected components of ``region`` none of whose contour points was kept).
    """
    near = cv2.dilate(touches.astype(np.uint8), _cross()) > 0
    labels = measure.label(region)
    needs_no_edit = np.ones(labels.max() + 1, dtype=bool)
    needs_no_edit[0] = False
    used = np.zeros(region.shape, dtype=bool)
    runs: list[np.ndarray] = []
    for contour in contours:
        contour_runs: list[list[tuple[int, int]]] = []
        current: list[tuple[int, int]] = []
        for x, y in contour[:, 0, :]:
            if not near[y, x] or used[y, x]:
                if current:
                    contour_runs.append(current)
                    current = []
                continue
            current.append((int(x), int(y)))
            used[y, x] = True
            needs_no_edit[labels[y, x]] = False
        if current:
            contour_runs.append(current)
        if len(contour_runs) > 1:
            fx, fy = contour_runs[0][0]
            lx, ly = contour_runs[-1][-1]
            if max(abs(fx - lx), abs(fy - ly)) == 1:  # 8-neighbours
                contour_runs[-1].extend(contour_runs[0][::-1])
                contour_runs.pop(0)
        runs.extend(np.array(run, dtype=np.int32)[:, None, :] for run in contour_runs)
    return runs, int(needs_no_edit.sum())


def _control_points(runs: list[np.ndarray], cv2) -> int:
    return sum(len(cv2.approxPolyDP(run, RDP_EPSILON, False)) for run in runs)


def human_correction_effort(
    pred_u8: np.ndarray, gt_u8: np.ndarray, gt_skeleton: np.ndarray | None = None, relax: int = RELAX
) -> int:
    """Relaxed HCE of one uint8 prediction [H,W] against its uint8 ground truth [H,W] (lower is better)."""
    cv2, measure, morphology = _imports()
    gt = gt_u8 > 128
    pred = pred_u8 > 128
    skeleton = morphology.skeletonize(gt) if gt_skeleton is None else gt_skeleton.astype(bool)
    tp = gt & pred
    fp = pred & ~gt
    fn = gt & ~pred
    kernel = _cross()
    core = cv2.erode((gt | pred).astype(np.uint8), kernel, iterations=relax) > 0

    # False positives thicker than the relaxation, regrown inside the false-positive area.
    fp_kept = fp & core
    for _ in range(relax):
        fp_kept = (cv2.dilate(fp_kept.astype(np.uint8), kernel) > 0) & ~gt
    fp_kept &= fp

    # False negatives likewise, plus every missed skeleton pixel (thin structures must be drawn).
    fn_kept = fn & core
    for _ in range(relax):
        fn_kept = (cv2.dilate(fn_kept.astype(np.uint8), kernel) > 0) & ~pred
    fn_kept = (fn_kept & fn) | (skeleton & ~tp)

    mode, method = cv2.RETR_TREE, cv2.CHAIN_APPROX_NONE
    fp_contours, _ = cv2.findContours(fp_kept.astype(np.uint8), mode, method)
    fp_runs, fp_regions = _boundary_segments(fp_contours, fp_kept, tp | fn_kept, cv2, measure)
    fn_contours, _ = cv2.findContours(fn_kept.astype(np.uint8), mode, method)
    fn_runs, fn_regions = _boundary_segments(fn_contours, fn_kept, ~(tp | fp_kept | fn_kept), cv2, measure)
    return _control_points(fp_runs, cv2) + fp_regions + _control_points(fn_runs, cv2) + fn_regions
