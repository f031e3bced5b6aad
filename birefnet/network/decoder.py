"""BiRefNet reconstruction module: decoder with bilateral reference (InRef patches, OutRef gradient gates)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import BasicDecBlk, BasicLatBlk, SimpleConvs
from .ops import kernel_choice
from .ops.composed_conv import two_convs_3x3
from .ops.pointwise import pointwise_conv2d_add_
from .ops.resize import resize, resize_into
from .patches import image_to_patches


class GradientGate(nn.Module):
    """Conv3x3 (-> 16) -> BN -> ReLU, as ``gdt_convs_{s}``; the gate and the prediction are 1x1 heads."""

    def __init__(self, in_channels: int, inter_channels: int = 16) -> None:
        super().__init__()
        self.add_module("0", nn.Conv2d(in_channels, inter_channels, 3, padding=1))
        self.add_module("1", nn.BatchNorm2d(inter_channels))
        self.add_module("2", nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


def _head(in_channels: int) -> nn.Sequential:
    """1x1 conv to one channel, wrapped so its key is ``<name>.0.weight``."""
    return nn.Sequential(nn.Conv2d(in_channels, 1, 1))


class Decoder(nn.Module):
    """Decodes encoder features ``x1..x4`` (channels ``ch[3], ch[2], ch[1], ch[0]``) to logits ``[N,1,H,W]``.

    ``channels`` are the encoder channels deepest first, already doubled for the image pyramid.
    """

    def __init__(self, channels: tuple[int, int, int, int], patch_order: str = "current") -> None:
        super().__init__()
        self.patch_order = patch_order
        ch = channels
        self.ipt_blk5 = SimpleConvs(3 * 32 * 32, ch[0] // 8)
        self.ipt_blk4 = SimpleConvs(3 * 16 * 16, ch[0] // 8)
        self.ipt_blk3 = SimpleConvs(3 * 8 * 8, ch[1] // 8)
        self.ipt_blk2 = SimpleConvs(3 * 4 * 4, ch[2] // 8)
        self.ipt_blk1 = SimpleConvs(3, ch[3] // 8)

        self.decoder_block4 = BasicDecBlk(ch[0] + ch[0] // 8, ch[1])
        self.decoder_block3 = BasicDecBlk(ch[1] + ch[0] // 8, ch[2])
        self.decoder_block2 = BasicDecBlk(ch[2] + ch[1] // 8, ch[3])
        self.decoder_block1 = BasicDecBlk(ch[3] + ch[2] // 8, ch[3] // 2)
        self.conv_out1 = _head(ch[3] // 2 + ch[3] // 8)

        self.lateral_block4 = BasicLatBlk(ch[1], ch[1])
        self.lateral_block3 = BasicLatBlk(ch[2], ch[2])
        self.lateral_block2 = BasicLatBlk(ch[3], ch[3])

        self.conv_ms_spvn_4 = nn.Conv2d(ch[1], 1, 1)
        self.conv_ms_spvn_3 = nn.Conv2d(ch[2], 1, 1)
        self.conv_ms_spvn_2 = nn.Conv2d(ch[3], 1, 1)

        self.gdt_convs_4 = GradientGate(ch[1])
        self.gdt_convs_3 = GradientGate(ch[2])
        self.gdt_convs_2 = GradientGate(ch[3])
        self.gdt_convs_pred_4 = _head(16)
        self.gdt_convs_pred_3 = _head(16)
        self.gdt_convs_pred_2 = _head(16)
        self.gdt_convs_attn_4 = _head(16)
        self.gdt_convs_attn_3 = _head(16)
        self.gdt_convs_attn_2 = _head(16)

    def _patches(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        """The image as a grid of patches matching a feature map of spatial ``size``."""
        grid_h, grid_w = x.shape[2] // size[0], x.shape[3] // size[1]
        return resize(image_to_patches(x, grid_h, grid_w, self.patch_order), size)

    def _stage_input(
        self, stage: int, x: torch.Tensor, skip: torch.Tensor, previous: torch.Tensor | None
    ) -> torch.Tensor:
        """The input of decoder block ``stage`` (4 to 1): ``cat((top_down, ipt_blk{stage+1}(patches of x)), 1)``.

        top_down is ``skip`` (x4) for stage 4, else ``resize(previous, skip's size) + lateral_block{stage+1}(skip)``.
        Without autograd (outside ``torch.compile``) it is built in one buffer: the previous stage is enlarged
        straight into it and the lateral 1x1 conv added in place, its bias added before the enlarging
        (bilinear weights sum to 1), so no full-size lateral map, sum or concatenation is made.
        """
        patches = getattr(self, f"ipt_blk{stage + 1}")(self._patches(x, skip.shape[2:]))
        if previous is None:
            return torch.cat((skip, patches), 1)
        lateral_block = getattr(self, f"lateral_block{stage + 1}")
        lateral = lateral_block.conv
        dtypes = {skip.dtype, previous.dtype, patches.dtype, lateral.weight.dtype}
        if torch.is_grad_enabled() or kernel_choice.is_compiling() or len(dtypes) > 1:
            return torch.cat((resize(previous, skip.shape[2:]) + lateral_block(skip), patches), 1)
        c = lateral.out_channels
        out = skip.new_empty((skip.shape[0], c + patches.shape[1], *skip.shape[2:]))
        top_down = resize_into(previous + lateral.bias.view(1, c, 1, 1), out[:, :c])
        pointwise_conv2d_add_(top_down, skip, lateral.weight)
        out[:, c:] = patches
        return out

    def _refine(
        self,
        stage: int,
        block_input: torch.Tensor,
        gradient_target: torch.Tensor | None,
        extras: dict[str, list[torch.Tensor]] | None,
    ) -> torch.Tensor:
        """Decoder block ``stage`` (4, 3 or 2) on its input, then the OutRef gradient gate."""
        p = getattr(self, f"decoder_block{stage}")(block_input)
        gate_features = getattr(self, f"gdt_convs_{stage}")(p)
        if extras is not None:
            stage_logits = getattr(self, f"conv_ms_spvn_{stage}")(p)
            extras["logits"].append(stage_logits)
            if gradient_target is not None:
                upsampled = resize(stage_logits, gradient_target.shape[2:])
                extras["gradient_labels"].append(gradient_target * upsampled)
            extras["gradient_preds"].append(getattr(self, f"gdt_convs_pred_{stage}")(gate_features))
        return p * torch.sigmoid(getattr(self, f"gdt_convs_attn_{stage}")(gate_features))

    def forward(
        self,
        x: torch.Tensor,
        features: list[torch.Tensor],
        gradient_target: torch.Tensor | None = None,
        extras: dict[str, list[torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """x: the network input ``[N,3,H,W]``; features: ``[x1, x2, x3, x4]`` (x4 already squeezed).

        When ``extras`` is a dict of lists, the stage logits, gradient predictions and gradient labels
        (``gradient_target`` times the upsampled stage logits) are appended to it for training.
        """
        x1, x2, x3, x4 = features
        p4 = self._refine(4, self._stage_input(4, x, x4, None), gradient_target, extras)
        p3 = self._refine(3, self._stage_input(3, x, x3, p4), gradient_target, extras)
        p2 = self._refine(2, self._stage_input(2, x, x2, p3), gradient_target, extras)
        p1 = self.decoder_block1(self._stage_input(1, x, x1, p2))
        return self.output_head(p1, x)

    def output_head(self, p1: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``conv_out1(cat(resize(p1, (H, W)), ipt_blk1(x)))`` without building the full-resolution concatenation.

        conv_out1 is a 1x1 conv, so it splits into one part on p1 and one on ipt_blk1(x). The p1 part commutes
        with the bilinear resize (both are linear, the resize weights sum to 1) and runs at p1's resolution on a
        single channel. ipt_blk1 is two linear 3x3 convs, so the 1x1 part folds into its second conv, and the
        pair runs as one 5x5 convolution from the image to one channel (:mod:`.ops.composed_conv`). Same
        function as the reference; no 64-channel full-resolution map.
        """
        head = self.conv_out1[0]
        c1 = p1.shape[1]
        w_p1, w_ipt = head.weight[:, :c1], head.weight[:, c1:]
        low = resize(F.conv2d(p1, w_p1), x.shape[2:])  # [N, 1, H, W]
        conv1, conv_out = self.ipt_blk1.conv1, self.ipt_blk1.conv_out
        folded_w = torch.einsum("oc,cikl->oikl", w_ipt.flatten(1), conv_out.weight)  # [1, 64, 3, 3]
        folded_b = w_ipt.flatten(1) @ conv_out.bias + head.bias
        return low + two_convs_3x3(x, conv1.weight, conv1.bias, folded_w, folded_b)
