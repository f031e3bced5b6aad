"""Swin encodes several images of different sizes together (their tokens concatenated, windows per image):
each image's feature pyramid must equal encoding it alone."""

from __future__ import annotations

import pytest
import torch

from birefnet.network.backbones.swin import SwinConfig, SwinTransformer

# Windows of 4 and odd map sizes: every stage has padded and shifted windows, and patch merging pads odd maps
# (56 x 40 -> tokens 14 x 10, 7 x 5, 4 x 3, 2 x 2; the half-size 28 x 20 -> 7 x 5, 4 x 3, 2 x 2, 1 x 1).
TINY = SwinConfig(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), window_size=4)
SIZES = [(56, 40), (28, 20)]


def _encoder() -> SwinTransformer:
    torch.manual_seed(0)
    encoder = SwinTransformer(TINY)
    with torch.no_grad():
        for layer in encoder.layers:
            for block in layer.blocks:
                block.attn.relative_position_bias_table.normal_()
    return encoder


def test_images_encoded_together_equal_each_alone():
    encoder = _encoder()
    images = [torch.randn(2, 3, h, w) for h, w in SIZES]
    with torch.inference_mode():
        together = encoder.forward_images(images)
        alone = [encoder(x) for x in images]
    for got_pyramid, expected_pyramid in zip(together, alone, strict=True):
        assert [f.shape for f in got_pyramid] == [f.shape for f in expected_pyramid]
        for got, expected in zip(got_pyramid, expected_pyramid, strict=True):
            assert got.is_contiguous()
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("train", [False, True])
def test_gradients_of_images_encoded_together_equal_each_alone(train):
    encoder = _encoder().train(train)
    images = [torch.randn(1, 3, h, w) for h, w in SIZES]
    targets = [[torch.randn_like(f) for f in pyramid] for pyramid in encoder.forward_images(images)]
    grads = []
    for pyramids in (lambda: encoder.forward_images(images), lambda: [encoder(x) for x in images]):
        encoder.zero_grad()
        features = [f for pyramid in pyramids() for f in pyramid]
        loss = sum((f * t).sum() for f, t in zip(features, sum(targets, []), strict=True))
        loss.backward()
        grads.append([p.grad.clone() for p in encoder.parameters()])
    for got, expected in zip(*grads, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
