"""Train a small BiRefNet (pvt_v2_b0, random init) on synthetic thin structures on CPU; print held-out IoU.

    .venv/bin/python benchmarks/train_synthetic_thin_structures.py --steps 300 --size 128

Writes the dataset and the run under --work (default: a temporary folder), trains with the DIS5K
objective and loop of training/ (full augmentations), then evaluates the held-out split: IoU of
the final output thresholded at 0.5, and the DIS metrics table. Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from birefnet import load_model
from training.data import split_samples
from training.evaluate import evaluate_model, format_table, predict_u8, read_grey
from training.synthetic import write_thin_structure_dataset
from training.train import TrainConfig, train


def held_out_iou(model, samples, size) -> float:
    """Dataset IoU (summed intersections / summed unions) of predictions > 0.5 vs GT > 128."""
    inter = union = 0
    model.eval()
    for sample in samples:
        gt = read_grey(sample.mask) > 128
        pred = predict_u8(model, Image.open(sample.image), size, gt.shape) > 127
        inter += np.logical_and(pred, gt).sum()
        union += np.logical_or(pred, gt).sum()
    return float(inter / max(union, 1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default=None)
    p.add_argument("--train-count", type=int, default=200)
    p.add_argument("--test-count", type=int, default=40)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--drop-path-rate",
        type=float,
        default=0.0,
        help="encoder stochastic depth (the recipe's pvt_v2: 0.1)",
    )
    p.add_argument("--no-augment", dest="augment", action="store_false", help="train without augmentations")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.work or tempfile.mkdtemp(prefix="birefnet_synth_"))
    write_thin_structure_dataset(work / "data" / "train", args.train_count, seed=1, size=args.size)
    write_thin_structure_dataset(work / "data" / "test", args.test_count, seed=2, size=args.size)
    steps_per_epoch = args.train_count // args.batch_size
    epochs = -(-args.steps // steps_per_epoch)
    config = TrainConfig(
        data_root=str(work / "data"),
        output_dir=str(work / "run"),
        train_split="train",
        preset="DIS5K",
        backbone="pvt_v2_b0",
        size=(args.size, args.size),
        batch_size=args.batch_size,
        epochs=epochs,
        last_epochs=0,
        lr=args.lr,
        drop_path_rate=args.drop_path_rate,
        max_steps=args.steps,
        save_every_epochs=epochs,
        resume=False,
        augment=args.augment,
        progress=False,
    )
    size = (args.size, args.size)
    test = split_samples(work / "data", "test")
    start = time.time()
    before = held_out_iou(load_model({k: v for k, v in _fresh_state().items()}), test, size)
    summary = train(config)
    elapsed = time.time() - start
    state = torch.load(summary["state"], map_location="cpu", weights_only=True)
    model = load_model(state["model"])
    iou = held_out_iou(model, test, size)
    metrics = evaluate_model(model, test, size, with_hce=True, progress=False)
    print(f"work dir: {work}")
    print(
        f"train images {args.train_count}, held-out {args.test_count}, size {args.size}, batch {args.batch_size}"
    )
    print(
        f"steps {summary['steps']} ({epochs} epochs), lr {args.lr}, augment {args.augment}, "
        f"final loss {summary['last_loss']:.3f}"
    )
    print(f"training wall time {elapsed:.0f} s on {torch.get_num_threads()} CPU threads")
    print(f"held-out IoU: before training {before:.3f}, after {iou:.3f}")
    print(format_table({"synthetic held-out": metrics}))


def _fresh_state() -> dict[str, torch.Tensor]:
    from birefnet.network.model import BiRefNet

    torch.manual_seed(0)
    return BiRefNet("pvt_v2_b0").state_dict()


if __name__ == "__main__":
    main()
