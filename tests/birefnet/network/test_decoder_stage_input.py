"""The decoder's stage inputs without autograd (one buffer, the lateral conv added in place) against the
layer-by-layer definition run with autograd."""

from __future__ import annotations

import pytest
import torch
from allocation_probe import FreshStorages
from random_parameters import randomise

from birefnet.network.decoder import Decoder

CHANNELS = (64, 32, 16, 8)  # deepest first, as the model passes them (already doubled for the pyramid)


def _decoder(seed: int) -> Decoder:
    """A small decoder with every parameter and BatchNorm statistic random."""
    decoder = Decoder(CHANNELS).eval()
    randomise(decoder, seed)
    return decoder


def _inputs(n: int, size: int = 64) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """An image ``[n, 3, size, size]`` and features x1..x4 at strides 4, 8, 16, 32."""
    gen = torch.Generator().manual_seed(n)
    x = torch.rand(n, 3, size, size, generator=gen)
    features = [
        torch.randn(n, c, size // s, size // s, generator=gen)
        for c, s in zip(CHANNELS[::-1], (4, 8, 16, 32), strict=True)
    ]
    return x, features


@pytest.mark.parametrize("backend", ["matmul", "onednn"])
@pytest.mark.parametrize("n", [1, 2])
def test_decoder_without_autograd_equals_the_layer_by_layer_path(n, backend, monkeypatch):
    monkeypatch.setenv("BIREFNET_POINTWISE_CONV_BACKEND", backend)
    decoder = _decoder(seed=n)
    x, features = _inputs(n)
    expected = decoder(x, list(features)).detach()  # autograd on: resize + lateral, then cat
    with torch.inference_mode():
        got = decoder(x, list(features))
        stage_input = decoder._stage_input(1, x, features[0], features[1][:, : CHANNELS[3]])
    with torch.no_grad():  # grad mode off but not inference mode: the same path
        torch.testing.assert_close(decoder(x, list(features)), got, atol=0, rtol=0)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    with torch.enable_grad():
        stage_expected = decoder._stage_input(1, x, features[0], features[1][:, : CHANNELS[3]]).detach()
    torch.testing.assert_close(stage_input, stage_expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("n", [1, 2])
def test_stage_input_without_autograd_makes_no_lateral_sized_tensor(n, monkeypatch):
    """Decoder block 1's input at stride 4 (8 lateral channels + 2 patch channels at 16 x 16; the patch
    branch's maps have 48 and 64 channels): without autograd no tensor of the lateral map's size is made, only
    the input itself; the layer-by-layer path makes three (the lateral conv, the enlarged previous stage,
    their sum) before the concatenation."""
    monkeypatch.setenv("BIREFNET_POINTWISE_CONV_BACKEND", "matmul")
    decoder = _decoder(seed=3)
    x, (x1, x2, _, _) = _inputs(n)
    previous = x2[:, : CHANNELS[3]]  # block 2's output: ch[3] channels at stride 8
    lateral_bytes = x1.numel() * x1.element_size()
    input_bytes = lateral_bytes // CHANNELS[3] * (CHANNELS[3] + CHANNELS[2] // 8)
    for grad, lateral_sized in ((False, 0), (True, 3)):
        probe = FreshStorages(label="input")
        with torch.set_grad_enabled(grad), probe:
            block_input = decoder._stage_input(1, x, x1, previous)
        assert block_input.shape == (n, CHANNELS[3] + CHANNELS[2] // 8, 16, 16)
        assert probe.sizes["input"].count(lateral_bytes) == lateral_sized, (grad, probe.sizes["input"])
        assert probe.sizes["input"].count(input_bytes) == 1, (grad, probe.sizes["input"])
