"""Decoder blocks: the fused inference path of the deformable ASPP against the layer-by-layer definition."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from random_parameters import randomise

from birefnet.network.blocks import ASPPDeformable, DeformableConv2d
from birefnet.network.ops.deform_conv import deform_conv2d


def _branch(x: torch.Tensor, branch) -> torch.Tensor:
    """Deformable conv -> BatchNorm (running statistics) -> ReLU, spelled out."""
    conv = branch.atrous_conv
    offset = F.conv2d(x, conv.offset_conv.weight, conv.offset_conv.bias, padding=conv.padding)
    modulator = 2 * torch.sigmoid(
        F.conv2d(x, conv.modulator_conv.weight, conv.modulator_conv.bias, padding=conv.padding)
    )
    y = deform_conv2d(
        x, offset, conv.regular_conv.weight, conv.regular_conv.bias, padding=conv.padding, mask=modulator
    )
    bn = branch.bn
    return F.relu(F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps))


def _aspp_by_definition(aspp: ASPPDeformable, x: torch.Tensor) -> torch.Tensor:
    """BiRefNet's ASPPDeformable in eval mode: concatenate five branches, 1x1 conv, BatchNorm, ReLU."""
    branches = [_branch(x, aspp.aspp1)] + [_branch(x, b) for b in aspp.aspp_deforms]
    pooled = aspp.global_avg_pool(x)  # pool, 1x1 conv, BN, ReLU: [N, 256, 1, 1]
    branches.append(pooled.expand(-1, -1, *x.shape[2:]))
    out = F.conv2d(torch.cat(branches, 1), aspp.conv1.weight)
    bn = aspp.bn1
    return F.relu(F.batch_norm(out, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps))


@pytest.mark.parametrize("n,h,w", [(1, 9, 13), (2, 20, 7), (1, 1, 1)])
def test_fused_inference_aspp_equals_the_layer_by_layer_definition(n, h, w):
    aspp = ASPPDeformable(16).eval()
    randomise(aspp, seed=h * w)
    x = torch.randn(n, 16, h, w, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = _aspp_by_definition(aspp, x)
    with torch.inference_mode():
        fused = aspp(x)
    unfused = aspp(x).detach()  # eval mode with autograd on: the layer-by-layer path of forward
    torch.testing.assert_close(fused, expected, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(unfused, expected, atol=2e-5, rtol=1e-4)


def test_fused_inference_aspp_chunks_positions_like_one_pass(monkeypatch):
    """Many projection steps and row chunks (tiny limits) give the same result as one step."""
    import birefnet.network.blocks as blocks
    import birefnet.network.ops.deform_conv as deform_conv

    aspp = ASPPDeformable(8).eval()
    randomise(aspp, seed=3)
    x = torch.randn(1, 8, 11, 6)
    calls = []
    fused_step = blocks.deform_conv2d_relu_project
    monkeypatch.setattr(blocks, "deform_conv2d_relu_project", lambda *a: calls.append(1) or fused_step(*a))
    with torch.inference_mode():
        whole = aspp(x)
        monkeypatch.setattr(deform_conv, "_PROJECT_POSITIONS", 5)
        monkeypatch.setattr(deform_conv, "_MAX_COLUMN_ELEMENTS", 8 * 49 * 6 * 2)  # two rows per chunk
        chunked = aspp(x)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)
    assert len(calls) == 8  # four deformable branches, twice: the fused path ran


def test_offsets_and_modulation_from_one_stacked_convolution():
    conv = DeformableConv2d(5, 4, 3)
    randomise(conv, seed=11)
    x = torch.randn(2, 5, 6, 7)
    offset, modulator = conv.offset_and_modulator(x)
    torch.testing.assert_close(offset, conv.offset_conv(x))
    torch.testing.assert_close(modulator, 2 * torch.sigmoid(conv.modulator_conv(x)))
