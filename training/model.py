"""The model a run trains: fresh, from a BiRefNet checkpoint, or with an ImageNet-initialised encoder."""

from __future__ import annotations

import sys

from birefnet import BiRefNet, BiRefNetError, load_model

from .config import TrainConfig
from .distributed import DistributedContext
from .presets import default_drop_path_rate


def build_model(config: TrainConfig, context: DistributedContext, num_classes: int = 0) -> BiRefNet:
    """A fresh model (seeded), from a BiRefNet checkpoint, or with an ImageNet encoder; with an auxiliary
    classification head of ``num_classes`` outputs when that is > 0, and the encoder's stochastic depth at
    ``config.drop_path_rate`` (None: the backbone's reference rate). On the context's device, in train mode."""
    rate = default_drop_path_rate(config.backbone) if config.drop_path_rate is None else config.drop_path_rate
    if config.init_checkpoint:
        model = load_model(config.init_checkpoint)
        if model.backbone_name != config.backbone:
            raise BiRefNetError(
                f"--init-checkpoint {config.init_checkpoint} is a {model.backbone_name} model but "
                f"--backbone is {config.backbone}; make them agree."
            )
        if num_classes and (model.cls_head is None or model.cls_head[0].out_features != num_classes):
            model.cls_head = model.class_head(num_classes)
        model.bb.set_drop_path_rate(rate)
    else:
        model = BiRefNet(config.backbone, num_classes=num_classes, drop_path_rate=rate)
        if config.imagenet_init:
            from .timm_init import imagenet_backbone_state, load_timm_weights

            left = load_timm_weights(model, imagenet_backbone_state(config.backbone))
            if context.is_main and left:
                print(f"encoder keys without ImageNet weights (kept at init): {len(left)}", file=sys.stderr)
    return model.to(context.device).train()
