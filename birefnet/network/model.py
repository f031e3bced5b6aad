"""BiRefNet: localization module (encoder, image pyramid, context fusion, squeeze) + reconstruction decoder."""

from __future__ import annotations

from typing import NamedTuple

import kornia
import torch
from torch import nn

from ..errors import BiRefNetError
from .backbones import BACKBONES, backbone_channels, build_backbone
from .blocks import BasicDecBlk
from .decoder import Decoder
from .ops import kernel_choice
from .ops.resize import resize
from .patches import PATCH_ORDERS


class TrainOutput(NamedTuple):
    """What ``BiRefNet.forward`` returns in ``train()`` mode.

    logits: ``[m4, m3, m2, final]`` multi-stage logits, coarse to fine; ``m_s`` is ``[N,1,h_s,w_s]`` at its
        stage's resolution (strides 32, 16, 8 for s = 4, 3, 2), ``final`` is ``[N,1,H,W]``.
    gradient_preds: gradient-map logits of stages 4, 3, 2, ``[N,1,h_s,w_s]``.
    gradient_labels: gradient labels of stages 4, 3, 2, ``[N,1,H,W]``: the Laplacian of the input's channel
        mean times the stage logits upsampled to the input size.
    class_logits: ``[N, num_classes]`` of the auxiliary classification head, None without one.
    """

    logits: list[torch.Tensor]
    gradient_preds: list[torch.Tensor]
    gradient_labels: list[torch.Tensor]
    class_logits: torch.Tensor | None = None


def gradient_target(x: torch.Tensor) -> torch.Tensor:
    """Laplacian (kernel 5) of the channel mean of the normalised input: ``[N,3,H,W]`` -> ``[N,1,H,W]``."""
    return kornia.filters.laplacian(x.mean(dim=1, keepdim=True), kernel_size=5)


class BiRefNet(nn.Module):
    """BiRefNet with the module names of the released checkpoints (``bb.``, ``squeeze_module.``, ``decoder.``).

    Input: ``[N, 3, H, W]`` ImageNet-normalised RGB with H and W multiples of 32.
    ``eval()``: returns logits ``[N, 1, H, W]`` (apply a sigmoid for a 0..1 mask).
    ``train()``: returns a :class:`TrainOutput`.
    ``drop_path_rate``: the encoder's stochastic depth (``bb.set_drop_path_rate``), active in ``train()`` mode
    only; 0 (off) for inference and loading, the reference trains Swin v1 with 0.2 and PVT v2 with 0.1.
    """

    def __init__(
        self,
        backbone: str = "swin_v1_l",
        patch_order: str = "current",
        num_classes: int = 0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; known: {', '.join(BACKBONES)}")
        if patch_order not in PATCH_ORDERS:
            raise ValueError(f"unknown patch order {patch_order!r}; use one of {PATCH_ORDERS}")
        self.backbone_name = backbone
        lateral = tuple(reversed(backbone_channels(backbone)))  # deepest first
        channels = tuple(2 * c for c in lateral)  # the half-resolution pyramid is concatenated
        context = sum(channels[1:])  # x1, x2, x3 fused into x4
        self.bb = build_backbone(backbone, drop_path_rate)
        self.squeeze_module = nn.Sequential(BasicDecBlk(channels[0] + context, channels[0]))
        self.decoder = Decoder(channels, patch_order)  # type: ignore[arg-type]
        self.channels = channels
        # Optional auxiliary classification head (training only; no released checkpoint has one).
        self.cls_head = self.class_head(num_classes) if num_classes > 0 else None
        # Set by the loader when the weights are a known release (see birefnet.registry).
        self.variant = None

    def class_head(self, num_classes: int) -> nn.Sequential:
        """A fresh auxiliary classification head: global average of x4 -> Linear -> ``num_classes`` logits."""
        return nn.Sequential(nn.Linear(self.channels[0], num_classes))

    @property
    def patch_order(self) -> str:
        """InRef patch channel order the weights expect: ``current`` or ``legacy``."""
        return self.decoder.patch_order

    @patch_order.setter
    def patch_order(self, order: str) -> None:
        if order not in PATCH_ORDERS:
            raise ValueError(f"unknown patch order {order!r}; use one of {PATCH_ORDERS}")
        self.decoder.patch_order = order

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder on the input and on its half-resolution copy, concatenated on channels.

        Returns ``[x1, x2, x3, x4]`` with ``2 * C_i`` channels at strides 4, 8, 16, 32.
        """
        h, w = x.shape[2:]
        full, half = self.bb.forward_images([x, resize(x, (h // 2, w // 2))])
        return [torch.cat((f, resize(g, f.shape[2:])), dim=1) for f, g in zip(full, half, strict=True)]

    @staticmethod
    def fuse_context(features: list[torch.Tensor]) -> torch.Tensor:
        """x4 with x1, x2, x3 resized to its size concatenated in front (the context fusion)."""
        x1, x2, x3, x4 = features
        size = x4.shape[2:]
        return torch.cat((resize(x1, size), resize(x2, size), resize(x3, size), x4), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | TrainOutput:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % 32 or x.shape[3] % 32:
            raise BiRefNetError(
                f"BiRefNet expects input [N, 3, H, W] with H and W multiples of 32, got {tuple(x.shape)}; "
                "resize the image first (birefnet.predict does this)."
            )
        if self.training or kernel_choice.is_compiling():
            return self._forward(x)
        with kernel_choice.model_pass():  # CPU kernel trials weigh whole passes
            return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor | TrainOutput:
        features = self.encode(x)
        class_logits = None
        if self.training and self.cls_head is not None:
            class_logits = self.cls_head(features[3].mean(dim=(2, 3)))
        features[3] = self.squeeze_module(self.fuse_context(features))
        if not self.training:
            return self.decoder(x, features)
        extras: dict[str, list[torch.Tensor]] = {"logits": [], "gradient_preds": [], "gradient_labels": []}
        final = self.decoder(x, features, gradient_target(x), extras)
        return TrainOutput(
            extras["logits"] + [final], extras["gradient_preds"], extras["gradient_labels"], class_logits
        )
