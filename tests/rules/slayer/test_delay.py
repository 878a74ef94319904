"""Axonal delay: integer shift, SLAYER's delay gradient (oracle A8.7), clamping, chunking."""

import pytest
import torch

from spikegrad.errors import InputError, ShapeError
from spikegrad.functional.delay import axonal_delay, delay_bins, shift
from spikegrad.rules.slayer.layers import AxonalDelay
from spikegrad.rules.slayer.srm import SRMParameters


def test_gradient_oracle():
    eps = SRMParameters(tau_sr=10.0, ts=1.0).srm_kernel.tensor()
    x = eps.view(-1, 1, 1).clone()
    delay = torch.zeros(1, requires_grad=True)
    upstream = torch.zeros_like(x)
    upstream[5] = 1.0
    axonal_delay(x, delay, 1.0).backward(upstream)
    assert delay.grad.item() == pytest.approx(-(eps[5] - eps[4]).item())
    assert delay.grad.item() == pytest.approx(-0.095513, abs=1e-6)


def test_forward_is_truncated_shift_with_zero_fill():
    x = torch.arange(1.0, 11.0).view(10, 1, 1).repeat(1, 2, 3)
    delay = torch.tensor([0.0, 0.9, 2.5])  # ms, Ts = 0.5 ms -> 0, 1, 5 bins
    y = axonal_delay(x, delay, 0.5)
    assert torch.equal(y[:, 0, 0], x[:, 0, 0])
    assert y[:, 1, 1].tolist() == [0.0] + list(range(1, 10))
    assert y[:, 0, 2].tolist() == [0.0] * 5 + [1.0, 2.0, 3.0, 4.0, 5.0]


def test_bins_truncate_toward_zero():
    assert delay_bins(torch.tensor([1.99, -1.99, 0.3]), 1.0).tolist() == [1, -1, 0]


def test_shift_and_back_restores_the_inside():
    x = torch.randn(40, 2, 6)
    delay = torch.tensor([0.0, 1.0, 2.0, 3.5, 7.0, 39.0])
    back = shift(axonal_delay(x, delay, 1.0), -delay_bins(delay, 1.0))
    kept = torch.arange(40).view(-1, 1) < 40 - delay.long().view(1, -1)
    torch.testing.assert_close(back[:, 0][kept], x[:, 0][kept])
    assert torch.all(back[:, 0][~kept] == 0)


def test_gradcheck_input_float64():
    delay = torch.tensor([[1.0], [3.0], [0.0]], dtype=torch.float64)  # per channel, [C, 1]
    x = torch.randn(12, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: axonal_delay(v, delay, 1.0), (x,))


def test_delay_gradient_is_the_right_derivative_in_bins():
    # Where the forward is smooth -- a linearly interpolated fractional shift -- its right derivative at
    # whole bins equals the op's delay gradient (delay measured in bins, i.e. ms / Ts).
    ts = 0.5
    x = torch.randn(30, 2, 4, dtype=torch.float64)
    delay = torch.tensor([0.0, 1.0, 2.5, 4.0], dtype=torch.float64)  # ms: 0, 2, 5, 8 bins
    upstream = torch.randn(30, 2, 4, dtype=torch.float64)

    def interpolated(bins):
        whole, frac = bins.floor(), bins - bins.floor()
        return (1 - frac) * axonal_delay(x, whole * ts, ts) + frac * axonal_delay(x, (whole + 1) * ts, ts)

    h = 1e-6
    bins = delay / ts
    numeric = ((interpolated(bins + h) - interpolated(bins)) * upstream).sum((0, 1)) / h
    d = delay.clone().requires_grad_()
    axonal_delay(x, d, ts).backward(upstream)
    torch.testing.assert_close(d.grad, numeric, rtol=1e-5, atol=1e-6)


def test_per_channel_gradient_sums_positions():
    x = torch.randn(20, 3, 2, 4, 4)
    per_channel = torch.tensor([1.0, 2.0]).view(2, 1, 1).requires_grad_()
    per_neuron = per_channel.detach().expand(2, 4, 4).clone().requires_grad_()
    upstream = torch.randn(20, 3, 2, 4, 4)
    axonal_delay(x, per_channel, 1.0).backward(upstream)
    axonal_delay(x, per_neuron, 1.0).backward(upstream)
    torch.testing.assert_close(per_channel.grad, per_neuron.grad.sum((1, 2), keepdim=True))


def test_bad_delay_shape_raises():
    with pytest.raises(ShapeError, match="delay"):
        axonal_delay(torch.zeros(5, 2, 3), torch.zeros(4), 1.0)


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_negative_or_non_finite_delays_are_refused(bad):
    with pytest.raises(InputError, match="delay: every delay must be a finite number >= 0 ms"):
        axonal_delay(torch.zeros(5, 2, 3), torch.tensor([0.0, bad, 1.0]), 1.0)


def test_module_clamps_into_range_and_stays_causal():
    module = AxonalDelay((4,), ts=1.0, max_delay=3.0)
    with torch.no_grad():
        module.delay.copy_(torch.tensor([-2.0, 0.5, 2.7, 9.0]))
    x = torch.zeros(10, 1, 4)
    x[0] = 1.0
    y, _ = module(x)
    assert module.delay.tolist() == pytest.approx([0.0, 0.5, 2.7, 3.0])
    assert y[:, 0].nonzero()[:, 0].tolist() == [0, 0, 2, 3]  # first-spike bins of neurons 0..3


def test_module_init_and_chunking():
    torch.manual_seed(0)
    module = AxonalDelay((3, 1, 1), ts=1.0, init_max=6.0)
    assert torch.all((module.delay >= 0) & (module.delay <= 6.0))
    x = torch.randn(25, 2, 3, 2, 2)
    whole, _ = module(x)
    first, state = module(x[:4])
    second, _ = module(x[4:], state)
    torch.testing.assert_close(torch.cat([first, second]), whole)
