"""Swin's inference chunks (attention over groups of windows, the MLP over groups of tokens) give the same
block output as one chunk, whatever the chunk size: plain and shifted windows, padding, a batch of 2."""

from __future__ import annotations

import pytest
import torch

from birefnet.network.backbones import swin
from birefnet.network.backbones.swin import SwinBlock
from birefnet.network.backbones.swin_windows import window_layout


@pytest.mark.parametrize("shift", [0, 2])
@pytest.mark.parametrize("chunk_elements", [1, 700, 5000])
def test_a_block_in_small_chunks_equals_one_chunk(monkeypatch, shift, chunk_elements):
    torch.manual_seed(0)
    dim, h, w = 16, 10, 13  # 13 is not a multiple of the window: padded windows
    block = SwinBlock(dim, num_heads=2, window=4, shift=shift).eval()
    with torch.no_grad():
        block.attn.relative_position_bias_table.normal_()
    x = torch.randn(2, h * w, dim)
    layout = window_layout(h, w, 4, shift, x.device)
    with torch.inference_mode():
        monkeypatch.setattr(swin, "_ATTENTION_CHUNK_ELEMENTS", 1 << 30)
        whole = block(x.clone(), layout)
        monkeypatch.setattr(swin, "_ATTENTION_CHUNK_ELEMENTS", chunk_elements)
        chunked = block(x.clone(), layout)
    # Attention: 1 -> one window a chunk, 700 -> 2, 5000 -> 12 of the 16 per image; MLP: 1 .. 78 tokens a chunk.
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-5)
