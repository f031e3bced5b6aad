"""Evaluate predictions with the DIS metrics; ``python -m training.evaluate --help``.

Two ways in:
* prediction and ground-truth folders (files pair by stem; predictions are resized to the GT size);
* a BiRefNet checkpoint and a dataset (DIS5K splits or any im/ + gt/ folder): the model predicts at
  ``--size`` (ImageNet normalisation, sigmoid, bilinear resize back to the GT size, stored as uint8
  like the reference's saved PNGs), optionally saving the predictions.
Metrics (``training.metrics`` / ``training.hce``): maxF, wF, MAE, S-measure, mean E, relaxed HCE
(the DIS paper's columns), then meanF, adaptive F, max E and adaptive E.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm import tqdm

from birefnet import BiRefNetError, load_model, parse_size

from .data import Sample, find_pairs, split_samples, to_tensor_normalised
from .metrics import MetricAccumulator

TABLE_COLUMNS = (
    "maxFm",
    "wFmeasure",
    "MAE",
    "Smeasure",
    "meanEm",
    "HCE",
    "meanFm",
    "adpFm",
    "maxEm",
    "adpEm",
)
COLUMN_TITLES = {
    "maxFm": "maxF",
    "wFmeasure": "wF",
    "MAE": "MAE",
    "Smeasure": "S",
    "meanEm": "meanE",
    "HCE": "HCE",
    "meanFm": "meanF",
    "adpFm": "adpF",
    "maxEm": "maxE",
    "adpEm": "adpE",
}


def read_grey(path: Path) -> np.ndarray:
    """uint8 [H,W] grey image (alpha / colour dropped the way PIL's 'L' conversion does)."""
    try:
        return np.asarray(Image.open(path).convert("L"))
    except OSError as exc:
        raise BiRefNetError(f"Cannot read image {path}: {exc}") from exc


def skeleton_for(mask_path: Path) -> np.ndarray | None:
    """The DIS ``ske/`` skeleton beside ``gt/`` (same stem) when it exists, as bool [H,W]."""
    ske = mask_path.parent.parent / "ske" / mask_path.name
    return read_grey(ske) > 128 if ske.is_file() else None


def evaluate_pairs(
    pairs: list[tuple[np.ndarray, Path]], with_hce: bool = True, progress: bool = True
) -> dict:
    """Metrics over (uint8 prediction [h,w], GT path) pairs; predictions are resized to the GT size."""
    acc = MetricAccumulator(with_hce=with_hce)
    for pred, gt_path in tqdm(pairs, desc="metrics", disable=not progress):
        gt = read_grey(gt_path)
        if pred.shape != gt.shape:
            pred = np.asarray(Image.fromarray(pred).resize(gt.shape[::-1], Image.Resampling.BILINEAR))
        acc.add(pred, gt, skeleton_for(gt_path) if with_hce else None)
    return acc.results()


def evaluate_folders(
    pred_dir: str | Path, gt_dir: str | Path, with_hce: bool = True, progress: bool = True
) -> dict:
    """Metrics of the predictions in ``pred_dir`` against the masks in ``gt_dir``."""
    try:
        samples = find_pairs(gt_dir, pred_dir)  # every ground truth needs a prediction
    except BiRefNetError as exc:
        raise BiRefNetError(f"Pairing predictions with ground truths failed: {exc}") from exc
    return evaluate_pairs([(read_grey(s.mask), s.image) for s in samples], with_hce, progress)


@torch.no_grad()
def predict_u8(
    model: nn.Module, image: Image.Image, size: tuple[int, int], out_hw: tuple[int, int]
) -> np.ndarray:
    """uint8 [H,W] prediction of one RGB image: model at ``size`` (w,h), resized to ``out_hw``."""
    device = next(model.parameters()).device
    x = to_tensor_normalised(image.convert("RGB").resize(size, Image.Resampling.BILINEAR))[None].to(device)
    logits = model(x)
    logits = logits[-1] if isinstance(logits, (list, tuple)) else logits
    prob = F.interpolate(logits.float().sigmoid(), size=out_hw, mode="bilinear", align_corners=True)
    return (prob[0, 0].clamp(0, 1) * 255).to(torch.uint8).cpu().numpy()


def evaluate_model(
    model: nn.Module,
    samples: list[Sample],
    size: tuple[int, int],
    with_hce: bool = True,
    save_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Predict every sample with ``model`` (switched to eval and back) and compute the metrics."""
    was_training = model.training
    model.eval()
    pairs = []
    try:
        for sample in tqdm(samples, desc="predict", disable=not progress):
            gt = read_grey(sample.mask)
            pred = predict_u8(model, Image.open(sample.image), size, gt.shape)
            if save_dir is not None:
                Path(save_dir).mkdir(parents=True, exist_ok=True)
                Image.fromarray(pred).save(Path(save_dir) / f"{sample.mask.stem}.png")
            pairs.append((pred, sample.mask))
    finally:
        model.train(was_training)
    return evaluate_pairs(pairs, with_hce, progress)


def format_table(rows: dict[str, dict]) -> str:
    """A markdown table, one row per dataset, in the DIS paper's column order (+ extra columns)."""
    columns = [c for c in TABLE_COLUMNS if any(c in r for r in rows.values())]
    lines = [
        "| dataset | " + " | ".join(COLUMN_TITLES[c] for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name, result in rows.items():
        cells = []
        for c in columns:
            value = result.get(c)
            cells.append("-" if value is None else (f"{value:.0f}" if c == "HCE" else f"{value:.3f}"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--pred", help="folder of predictions (uint8 greyscale PNG/JPG, GT file stems)")
    parser.add_argument("--gt", help="folder of ground-truth masks (with --pred)")
    parser.add_argument("--checkpoint", help="BiRefNet weights (.safetensors/.pth) to predict with")
    parser.add_argument("--data-root", help="dataset root, e.g. the DIS5K folder (with --checkpoint)")
    parser.add_argument("--splits", default="DIS-VD", help="comma-separated splits (folders with im/ + gt/)")
    parser.add_argument("--size", default="1024", help="model input size: 1024 or 1024x768 (w x h)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    parser.add_argument("--save-preds", help="write the predictions here, one folder per split")
    parser.add_argument("--no-hce", action="store_true", help="skip HCE (needs OpenCV and scikit-image)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    progress, with_hce = not args.quiet, not args.no_hce
    try:
        rows: dict[str, dict] = {}
        if args.pred and args.gt:
            rows[Path(args.gt).parent.name or "predictions"] = evaluate_folders(
                args.pred, args.gt, with_hce, progress
            )
        elif args.checkpoint and args.data_root:
            size = parse_size(args.size, what="--size", multiple_of=32)
            device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
            model = load_model(args.checkpoint, device=device)
            for split in args.splits.split(","):
                save = Path(args.save_preds) / split if args.save_preds else None
                rows[split] = evaluate_model(
                    model, split_samples(args.data_root, split), size, with_hce, save, progress
                )
        else:
            parser.error("give --pred and --gt, or --checkpoint and --data-root")
    except BiRefNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
