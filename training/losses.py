"""The training objective of BiRefNet.

Pixel losses compare sigmoid probabilities [N,1,H,W] in 0..1 with ground truth [N,1,H,W] in 0..1.
Every output of the network (the three multi-stage outputs and the final one) is resized to the
ground-truth size (bilinear, align_corners=True) and the weighted pixel losses are summed over
the outputs. The gradient loss adds BCE(sigmoid(upsampled gradient prediction), sigmoid(label))
per decoder stage with weight 1. Losses are computed in float32 even under autocast.
"""

from __future__ import annotations

from typing import NamedTuple

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


def gradient_target(images: Tensor) -> Tensor:
    """Gradient target of the reference: kornia Laplacian (kernel 5) of the channel mean.

    images: [N,3,H,W] ImageNet-normalised. Returns [N,1,H,W] (unbounded, signed).
    """
    return kornia.filters.laplacian(images.mean(dim=1, keepdim=True), kernel_size=5)


def bce_loss(prob: Tensor, gt: Tensor) -> Tensor:
    """Mean binary cross-entropy of probabilities ``prob`` against targets ``gt`` (both 0..1)."""
    return F.binary_cross_entropy(prob, gt)


def iou_loss(prob: Tensor, gt: Tensor) -> Tensor:
    """Soft IoU loss summed over the batch: sum_i (1 - sum(p*g) / (sum(p) + sum(g) - sum(p*g)))."""
    dims = tuple(range(1, prob.dim()))
    inter = (prob * gt).sum(dim=dims)
    union = prob.sum(dim=dims) + gt.sum(dim=dims) - inter
    return (1 - inter / union).sum()


def mae_loss(prob: Tensor, gt: Tensor) -> Tensor:
    """Mean absolute error."""
    return (prob - gt).abs().mean()


def mse_loss(prob: Tensor, gt: Tensor) -> Tensor:
    """Mean squared error (a loss of the reference recipe; no preset weights it by default)."""
    return ((prob - gt) ** 2).mean()


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> Tensor:
    """Normalised 2-D Gaussian window [size, size] float64 (outer product of the 1-D window)."""
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim_map(a: Tensor, b: Tensor) -> Tensor:
    """Per-pixel SSIM of [N,C,H,W] images in 0..1: 11x11 Gaussian window (sigma 1.5), zero padding.

    Returns [N,C,H,W]; local statistics use the window as weights with zero padding at the borders.
    """
    channels = a.shape[1]
    window = gaussian_window().to(a)[None, None].expand(channels, 1, SSIM_WINDOW, SSIM_WINDOW)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, window, padding=SSIM_WINDOW // 2, groups=channels)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_a**2 + mu_b**2 + SSIM_C1) * (var_a + var_b + SSIM_C2)
    return num / den


def ssim_loss(prob: Tensor, gt: Tensor) -> Tensor:
    """SSIM loss of the reference: 1 - (1 + mean SSIM) / 2, in 0..1."""
    return 1 - (1 + ssim_map(prob, gt).mean()) / 2


PIXEL_LOSSES = {"bce": bce_loss, "iou": iou_loss, "ssim": ssim_loss, "mae": mae_loss, "mse": mse_loss}


def pixel_loss(
    logits: list[Tensor], gt: Tensor, weights: dict[str, float]
) -> tuple[Tensor, dict[str, Tensor]]:
    """Weighted pixel losses summed over all outputs.

    logits: network outputs [N,1,h,w] (any sizes, before sigmoid); gt: [N,1,H,W] in 0..1.
    weights: loss name -> weight (names from ``PIXEL_LOSSES``; zero weights are skipped).
    Returns (total, per-loss weighted sums) as float32 scalars.
    """
    gt = gt.float().clamp(0, 1)
    parts = {name: gt.new_zeros(()) for name, w in weights.items() if w != 0}
    for out in logits:
        out = out.float()
        if out.shape[-2:] != gt.shape[-2:]:
            out = F.interpolate(out, size=gt.shape[-2:], mode="bilinear", align_corners=True)
        prob = out.sigmoid()
        for name in parts:
            parts[name] = parts[name] + weights[name] * PIXEL_LOSSES[name](prob, gt)
    total = sum(parts.values(), gt.new_zeros(()))
    return total, parts


def gradient_loss(gradient_preds: list[Tensor], gradient_labels: list[Tensor]) -> Tensor:
    """Sum over stages of BCE(sigmoid(upsampled prediction), sigmoid(label)).

    gradient_preds: stage logits [N,1,h,w]; gradient_labels: [N,1,H,W] (target * stage logits).
    """
    total = gradient_labels[0].new_zeros((), dtype=torch.float32)
    for pred, label in zip(gradient_preds, gradient_labels, strict=True):
        pred = pred.float()
        label = label.float()
        if pred.shape[-2:] != label.shape[-2:]:
            pred = F.interpolate(pred, size=label.shape[-2:], mode="bilinear", align_corners=True)
        total = total + F.binary_cross_entropy(pred.sigmoid(), label.sigmoid())
    return total


class LossTerms(NamedTuple):
    """Total loss and its parts (float32 scalars)."""

    total: Tensor
    pixel: Tensor
    gradient: Tensor
    classification: Tensor
    parts: dict[str, Tensor]


def birefnet_loss(
    output,
    gt: Tensor,
    weights: dict[str, float],
    class_logits: Tensor | None = None,
    class_labels: Tensor | None = None,
    class_weight: float = 5.0,
) -> LossTerms:
    """Full objective for one batch.

    output: ``birefnet.network.model.TrainOutput`` (logits, gradient_preds, gradient_labels).
    gt: [N,1,H,W] masks in 0..1. class_logits [N,K] / class_labels [N] (long, -1 = unknown) enable the
    auxiliary cross-entropy (weight ``class_weight``) when both are given.
    """
    pixel, parts = pixel_loss(list(output.logits), gt, weights)
    gradient = gradient_loss(list(output.gradient_preds), list(output.gradient_labels))
    classification = pixel.new_zeros(())
    if class_logits is not None and class_labels is not None and (class_labels >= 0).any():
        classification = class_weight * F.cross_entropy(class_logits.float(), class_labels, ignore_index=-1)
    total = pixel + gradient + classification
    return LossTerms(total, pixel, gradient, classification, parts)
