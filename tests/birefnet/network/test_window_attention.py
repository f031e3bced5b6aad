"""Swin window attention against a plain reference written here: zero-pad the map to whole windows, roll it
by the shift, cut it into windows, attend over every slot (padding included) with the relative position bias
and the shifted-window mask, put the windows back, roll back, crop. Our attention gathers windows by index
and, without autograd, skips the queries of padding slots; neither may change the outputs or gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from birefnet.network.backbones.swin import WindowAttention
from birefnet.network.backbones.swin_windows import joint_window_layout, shifted_window_mask, window_layout


def reference_attention(attn: WindowAttention, x: torch.Tensor, h: int, w: int, shift: int) -> torch.Tensor:
    """``[N, h*w, C]`` -> ``[N, h*w, C]`` the textbook way (every padding slot is a query too)."""
    n, _, c = x.shape
    window, heads = attn.window, attn.num_heads
    tokens, head_dim = window * window, c // heads
    hp, wp = h + (-h) % window, w + (-w) % window
    grid = F.pad(x.view(n, h, w, c), (0, 0, 0, wp - w, 0, hp - h))
    grid = torch.roll(grid, shifts=(-shift, -shift), dims=(1, 2))
    windows = grid.view(n, hp // window, window, wp // window, window, c).permute(0, 1, 3, 2, 4, 5)
    windows = windows.reshape(-1, tokens, c)  # [N*nW, T, C], image-major
    q, k, v = F.linear(windows, attn.qkv.weight, attn.qkv.bias).view(-1, tokens, 3, heads, head_dim).unbind(2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [N*nW, heads, T, d]
    table = attn.relative_position_bias_table
    bias = table[attn.relative_position_index.view(-1)].view(tokens, tokens, heads).permute(2, 0, 1)
    scores = q @ k.transpose(-1, -2) * head_dim**-0.5 + bias
    if shift:
        scores = scores + shifted_window_mask(hp, wp, window, shift, x.device).repeat(n, 1, 1).unsqueeze(1)
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(-1, tokens, c)
    out = F.linear(out, attn.proj.weight, attn.proj.bias)
    out = out.view(n, hp // window, wp // window, window, window, c).permute(0, 1, 3, 2, 4, 5)
    out = torch.roll(out.reshape(n, hp, wp, c), shifts=(shift, shift), dims=(1, 2))
    return out[:, :h, :w].reshape(n, h * w, c)


def _attention(seed: int) -> WindowAttention:
    torch.manual_seed(seed)
    attn = WindowAttention(16, window=4, num_heads=2)
    with torch.no_grad():
        attn.relative_position_bias_table.normal_()
    return attn


# 10 x 13: padded rows and columns (windows of every padding kind); 7 x 7: a lone corner pattern per window
# row and column; 8 x 8: no padding at all.
CASES = [(10, 13, 0), (10, 13, 2), (7, 7, 2), (7, 7, 0), (8, 8, 2)]


@pytest.mark.parametrize(("h", "w", "shift"), CASES)
def test_window_attention_equals_the_padded_reference(h, w, shift):
    attn = _attention(h * w + shift)
    x = torch.randn(2, h * w, 16)
    layout = window_layout(h, w, 4, shift, x.device)
    with torch.inference_mode():
        got = attn(x, layout)
        expected = reference_attention(attn, x, h, w, shift)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("h", "w", "shift"), CASES[:3])
def test_window_attention_gradients_equal_the_padded_reference(h, w, shift):
    attn = _attention(h * w + shift)
    x = torch.randn(2, h * w, 16)
    target = torch.randn(2, h * w, 16)
    grads = []
    for forward in (
        lambda t: attn(t, window_layout(h, w, 4, shift, t.device)),
        lambda t: reference_attention(attn, t, h, w, shift),
    ):
        attn.zero_grad()
        inputs = x.clone().requires_grad_()
        (forward(inputs) * target).sum().backward()
        grads.append([inputs.grad, *(p.grad.clone() for p in attn.parameters())])
    for got, expected in zip(*grads, strict=True):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_padded_windows_attend_from_their_real_slots_only():
    """10 x 13 with windows of 4, shifted by 2: a 12 x 16 padded grid of 3 x 4 windows, plain and masked, in
    runs of one padding pattern; each run's query slots are exactly its windows' real slots. Rolled by 2, the
    padding rows 10-11 sit in window row 2 (2 of its 4 rows real) and the padding columns 13-15 straddle window
    columns 2 and 3 (3 and 2 of their 4 columns real)."""
    h, w, window, shift = 10, 13, 4, 2
    layout = window_layout(h, w, window, shift, torch.device("cpu"))
    slots = layout.gather.view(-1, window * window) < h * w  # [nW, T] real slots, layout order
    assert [run.start for run in layout.runs[1:]] == [run.stop for run in layout.runs[:-1]]
    assert layout.runs[0].start == 0 and layout.runs[-1].stop == slots.shape[0] == 12
    for run in layout.runs:
        real = slots[run.start : run.stop]
        assert (real == real[0]).all()
        if run.queries is None:
            assert real.all()
        else:
            assert torch.equal(run.queries, real[0].nonzero().squeeze(1)) and not real.all()
    grid = slots.view(-1, window, window)
    real_rows_cols = sorted(zip(grid.any(2).sum(1).tolist(), grid.any(1).sum(1).tolist(), strict=True))
    assert real_rows_cols == sorted((rows, cols) for rows in (4, 4, 2) for cols in (4, 4, 3, 2))


def test_only_inference_skips_the_queries_of_padding_slots(monkeypatch):
    """Without autograd the padded windows of a 10 x 13 map attend from their 12, 8, 6 or 4 real slots; with
    autograd (training) every window attends from all 16 slots, as in the reference."""
    attn = _attention(0)
    x = torch.randn(1, 10 * 13, 16)
    layout = window_layout(10, 13, 4, 2, x.device)
    query_counts = []
    sdpa = F.scaled_dot_product_attention

    def recording(q, *args, **kwargs):
        query_counts.append(q.shape[2])
        return sdpa(q, *args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", recording)
    with torch.inference_mode():
        attn(x, layout)
    assert set(query_counts) == {16, 12, 8, 6, 4}
    query_counts.clear()
    attn(x, layout)
    assert set(query_counts) == {16}


@pytest.mark.parametrize("shift", [0, 2])
@pytest.mark.parametrize("grad", [False, True])
def test_maps_attended_together_equal_each_map_alone(shift, grad):
    """Two maps' tokens concatenated (10 x 13 then 7 x 7) in one joint layout: each map's outputs (and the
    input gradients) equal the reference on that map alone; no window mixes the two maps."""
    attn = _attention(shift)
    sizes = [(10, 13), (7, 7)]
    parts = [torch.randn(2, h * w, 16) for h, w in sizes]

    def each_alone(inputs):
        return torch.cat(
            [reference_attention(attn, t, h, w, shift) for t, (h, w) in zip(inputs, sizes, strict=True)], 1
        )

    x = torch.cat(parts, dim=1).requires_grad_(grad)
    layout = joint_window_layout(sizes, 4, shift, x.device)
    assert layout.gather.max() == 10 * 13 + 7 * 7  # one zero padding token after both maps
    with torch.set_grad_enabled(grad):
        got = attn(x, layout)
        expected = each_alone(parts)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    if grad:
        target = torch.randn_like(got)
        (got_grad,) = torch.autograd.grad((got * target).sum(), x)
        inputs = [t.clone().requires_grad_() for t in parts]
        expected_grad = torch.cat(torch.autograd.grad((each_alone(inputs) * target).sum(), inputs), dim=1)
        torch.testing.assert_close(got_grad, expected_grad, atol=1e-4, rtol=1e-4)
