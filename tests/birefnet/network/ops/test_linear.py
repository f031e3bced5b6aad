"""The oneDNN-backed linear layer equals torch.nn.functional.linear, with autograd."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from birefnet.network.ops.linear import Linear, linear


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 9, 4)])
def test_equals_functional_linear(shape):
    gen = torch.Generator().manual_seed(len(shape))
    x = torch.randn(*shape, 6, generator=gen)
    weight, bias = torch.randn(11, 6, generator=gen), torch.randn(11, generator=gen)
    torch.testing.assert_close(linear(x, weight, bias), F.linear(x, weight, bias), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(linear(x, weight), F.linear(x, weight), atol=1e-5, rtol=1e-5)


def test_gradients_equal_functional_linear():
    torch.manual_seed(0)
    layer = Linear(6, 4)
    x = torch.randn(5, 6, requires_grad=True)
    layer(x).square().sum().backward()
    ours = (x.grad.clone(), layer.weight.grad.clone(), layer.bias.grad.clone())
    x.grad = None
    layer.zero_grad()
    F.linear(x, layer.weight, layer.bias).square().sum().backward()
    for got, expected in zip(ours, (x.grad, layer.weight.grad, layer.bias.grad), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_keeps_nn_linear_parameter_names():
    assert list(Linear(3, 2).state_dict()) == ["weight", "bias"]
