"""Event-driven fully connected synapses against the dense product, forward and backward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikegrad.errors import ShapeError
from spikegrad.functional import event_linear as event_module
from spikegrad.functional.event_linear import event_linear


def spikes(shape, density, signed=False, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(shape, generator=gen) < density).to(dtype)
    if signed:
        x = x * torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0).to(dtype)
    return x


def grads(op, x, weight, bias, grad_out):
    inputs = [t for t in (x, weight, bias) if t is not None and t.requires_grad]
    out = op(x, weight, bias)
    return out, torch.autograd.grad(out, inputs, grad_out)


@pytest.mark.parametrize("signed", [False, True], ids=["0/1", "+-1"])
@pytest.mark.parametrize("with_bias", [False, True], ids=["no bias", "bias"])
@pytest.mark.parametrize("input_grad", [False, True], ids=["first layer", "hidden layer"])
def test_matches_the_dense_product_forward_and_backward(signed, with_bias, input_grad):
    gen = torch.Generator().manual_seed(1)
    x = spikes((13, 7, 45), 0.08, signed).requires_grad_(input_grad)
    weight = torch.randn(11, 45, generator=gen).requires_grad_()
    bias = torch.randn(11, generator=gen).requires_grad_() if with_bias else None
    grad_out = torch.randn(13, 7, 11, generator=gen)
    out, event_grads = grads(event_linear, x, weight, bias, grad_out)
    ref, dense_grads = grads(F.linear, x, weight, bias, grad_out)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert len(event_grads) == len(dense_grads) == 1 + int(with_bias) + int(input_grad)
    for got, want in zip(event_grads, dense_grads):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_gradcheck_in_float64():
    gen = torch.Generator().manual_seed(2)
    x = spikes((4, 3, 9), 0.2, signed=True, dtype=torch.float64).requires_grad_()
    weight = torch.randn(5, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(event_linear, (x, weight, bias))


@pytest.mark.parametrize("block_rows", [1, 3, 8, 1000])
def test_the_blocked_weight_gradient_is_the_unblocked_one(monkeypatch, block_rows):
    gen = torch.Generator().manual_seed(3)
    x = spikes((10, 5, 30), 0.1)
    x[4] = 0  # whole blocks without events
    weight = torch.randn(6, 30, generator=gen, requires_grad=True)
    grad_out = torch.randn(10, 5, 6, generator=gen)
    monkeypatch.setattr(event_module, "GATHER_BLOCK_BYTES", block_rows * 6 * 4)
    (got,) = torch.autograd.grad(event_linear(x, weight), weight, grad_out)
    want = torch.einsum("tbo,tbi->oi", grad_out, x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_an_input_without_events_gives_the_bias_and_zero_weight_gradient():
    weight = torch.randn(4, 6, requires_grad=True)
    bias = torch.randn(4, requires_grad=True)
    out = event_linear(torch.zeros(3, 2, 6), weight, bias)
    torch.testing.assert_close(out, bias.detach().expand(3, 2, 4))
    out.sum().backward()
    assert torch.equal(weight.grad, torch.zeros(4, 6))
    torch.testing.assert_close(bias.grad, torch.full((4,), 6.0))


def test_saves_the_active_coordinates_not_the_input():
    x = spikes((50, 8, 64), 0.05).requires_grad_()
    weight = torch.randn(32, 64, requires_grad=True)
    saved = []

    def pack(t):
        saved.append((t.dtype, t.numel()))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        event_linear(x, weight)
    floats = [n for dtype, n in saved if dtype.is_floating_point]
    assert floats == [weight.numel()]  # only the weight, for the input gradient
    assert sum(n * 4 for dtype, n in saved if dtype == torch.int32) < x.numel()  # < 1 byte per input element


def test_refuses_mismatched_shapes_and_dtypes():
    with pytest.raises(ShapeError, match="event_linear input"):
        event_linear(torch.zeros(2, 3, 5), torch.zeros(4, 6))
    with pytest.raises(TypeError, match="dtype"):
        event_linear(torch.zeros(2, 3, 6, dtype=torch.float64), torch.zeros(4, 6))
