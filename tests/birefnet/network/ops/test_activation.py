"""The in-place GELU equals torch's exact GELU, overwrites its input only without autograd, and passes the same
gradient as ``F.gelu`` with autograd."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from birefnet.network.ops.activation import GELU


def test_without_autograd_the_input_is_overwritten_with_its_gelu():
    x = torch.linspace(-6, 6, 1001).view(7, 143)
    expected = F.gelu(x.double()).float()
    with torch.inference_mode():
        kept = x.clone()
        out = GELU()(kept)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)
    assert out.data_ptr() == kept.data_ptr()  # no new buffer
    torch.testing.assert_close(kept, expected, atol=1e-6, rtol=1e-6)


def test_a_non_contiguous_view_is_computed_in_place():
    base = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    expected = F.gelu(base.t())
    with torch.no_grad():
        out = GELU()(base.t())
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(base.t(), expected)


def test_with_autograd_the_input_is_kept_and_the_gradient_is_gelus():
    x = torch.randn(50, generator=torch.Generator().manual_seed(1), requires_grad=True)
    before = x.detach().clone()
    out = GELU()(x)
    out.square().sum().backward()
    assert torch.equal(x.detach(), before)
    x2 = before.clone().requires_grad_()
    F.gelu(x2).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
