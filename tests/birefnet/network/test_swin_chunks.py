"""Swin's inference chunks: without autograd a block runs every per-token step in chunks of rows, in place,
attention over groups of windows, with q/k/v and the attention output in buffers that the encoder pass shares.
Whatever the chunk size, outputs must equal the block's autograd path (the one train parity checks: whole
tensors, every slot a query): plain and shifted windows, padding, two maps, a batch of 2; and no step may
allocate a token-sized tensor."""

from __future__ import annotations

import pytest
import torch
from allocation_probe import FreshStorages

from birefnet.network.backbones import swin
from birefnet.network.backbones.swin import ScratchBuffers, SwinBlock, SwinConfig, SwinTransformer
from birefnet.network.backbones.swin_windows import joint_window_layout

DIM = 16


def _block(seed: int, shift: int) -> SwinBlock:
    torch.manual_seed(seed)
    block = SwinBlock(DIM, num_heads=2, window=4, shift=shift).eval()
    with torch.no_grad():
        block.attn.relative_position_bias_table.normal_()
        for norm in (block.norm1, block.norm2):
            norm.weight.normal_()
            norm.bias.normal_()
    return block


# (map sizes, images, chunk bound in elements): 10 x 13 pads rows and columns; two maps and two images put
# chunk borders across maps and images. 1: one window and one row a chunk; 96: q/k/v in chunks of 2 rows, the
# MLP in chunks of 1 row; 700 and 5000: 2 and 12 windows a chunk; 1 << 22: q/k/v in one GEMM (no buffer).
CASES = [
    (((10, 13),), 2, 1),
    (((10, 13),), 1, 96),
    (((10, 13),), 2, 700),
    (((10, 13),), 2, 5000),
    (((10, 13), (5, 7)), 2, 96),
    (((10, 13), (5, 7)), 2, 1000),
    (((8, 8),), 2, 1 << 22),
    (((10, 13), (5, 7)), 2, 1 << 22),
]


@pytest.mark.parametrize("shift", [0, 2])
@pytest.mark.parametrize(("sizes", "images", "chunk"), CASES)
def test_block_in_place_equals_its_autograd_path(monkeypatch, sizes, images, chunk, shift):
    monkeypatch.setattr(swin, "_CHUNK_ELEMENTS", chunk)
    block = _block(len(sizes) + images + shift, shift)
    layout = joint_window_layout(sizes, 4, shift, torch.device("cpu"))
    x = torch.randn(images, sum(h * w for h, w in sizes), DIM)
    with torch.enable_grad():
        expected = block(x.clone().requires_grad_(), layout).detach()
    scratch = ScratchBuffers()
    with torch.inference_mode():
        tokens = x.clone()
        got = block(tokens, layout, scratch)
        again = block(x.clone(), layout, scratch)  # buffers reused by the next block
    assert got.data_ptr() == tokens.data_ptr()  # updated in place
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(again, expected, atol=1e-5, rtol=1e-5)


def test_scratch_buffers_reuse_memory_until_a_larger_or_other_dtype_request():
    scratch = ScratchBuffers()
    like = torch.zeros(1)
    first = scratch.take("qkv", (2, 10, 6), like)
    smaller = scratch.take("qkv", (3, 4), like)
    other_name = scratch.take("attention", (2, 10, 6), like)
    assert first.shape == (2, 10, 6) and first.is_contiguous() and smaller.shape == (3, 4)
    assert smaller.data_ptr() == first.data_ptr()
    assert other_name.data_ptr() != first.data_ptr()
    larger = scratch.take("qkv", (2, 10, 7), like)
    assert larger.data_ptr() != first.data_ptr() and larger.numel() == 140
    half = scratch.take("qkv", (2, 10, 7), like.bfloat16())
    assert half.dtype == torch.bfloat16 and half.data_ptr() != larger.data_ptr()


def test_encoder_blocks_allocate_nothing_token_sized_but_two_shared_buffers(monkeypatch):
    """With chunks bounded at 512 floats, a tiny Swin on a 64 x 48 image and its half-size copy makes, inside
    the blocks of stage 1 (16 x 12 + 8 x 6 = 240 tokens of 16 channels), exactly two tensors of the stage's
    token size or more: the q/k/v and attention-output buffers, which stage 2 (60 tokens of 32 channels) and
    the rest reuse. Before, every block made seven: norm1, padding, q/k/v, attention output, proj, norm2, MLP
    output. (Deeper stages have fewer tokens than one padded window has slots.)"""
    monkeypatch.setattr(swin, "_CHUNK_ELEMENTS", 512)
    torch.manual_seed(0)
    encoder = SwinTransformer(SwinConfig(16, (2, 2, 2, 2), (1, 2, 2, 4), 4)).eval()
    probe = FreshStorages()
    for i, stage in enumerate(encoder.layers[:2]):
        for block in stage.blocks:
            block.register_forward_pre_hook(lambda *_, i=i: setattr(probe, "label", i))
            block.register_forward_hook(lambda *_: setattr(probe, "label", None))
    images = [torch.randn(1, 3, 64, 48), torch.randn(1, 3, 32, 24)]
    with torch.inference_mode():
        expected = [encoder(x) for x in images]
        with probe:
            got = encoder.forward_images(images)
    token_bytes = {0: 240 * 16 * 4, 1: 60 * 32 * 4}
    big = {stage: sorted(s for s in probe.sizes[stage] if s >= token_bytes[stage]) for stage in (0, 1)}
    assert big == {0: [240 * 16 * 4, (240 + 1) * 48 * 4], 1: []}  # attention output, q/k/v (+ padding token)
    for got_pyramid, expected_pyramid in zip(got, expected, strict=True):
        for g, e in zip(got_pyramid, expected_pyramid, strict=True):
            torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-5)
